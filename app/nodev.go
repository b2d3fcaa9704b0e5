//go:build nodev

package app

import (
	"context"
	"errors"

	"github.com/rs/zerolog"
)

// errNoDev explains a production build asked for a local part.
var errNoDev = errors.New("this worker was built with -tags nodev (no embedded Temporal, no emulator): configure Temporal (TEMPORAL_ADDRESS, or a profile through TEMPORAL_PROFILE / temporal.toml) and set SALESFORCE_CLIENT_ID")

// devParts is empty in a production build.
type devParts struct{}

func (d *devParts) startTemporal(context.Context, Config, zerolog.Logger) error { return errNoDev }
func (d *devParts) temporalAddress() string                                     { return "" }
func (d *devParts) uiURL() string                                               { return "" }
func (d *devParts) startEmulator(Config, zerolog.Logger) (string, error)        { return "", errNoDev }
func (d *devParts) stop(zerolog.Logger)                                         {}

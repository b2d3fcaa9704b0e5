//go:build !nodev

package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/prospect-sync/prospect-sync/devserver"
	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// devParts are the local stand-ins a worker runs when nothing real is configured. Building
// with -tags nodev leaves them (and the Temporal server and SQLite code) out of the binary.
type devParts struct {
	server       *devserver.Server
	emulator     *emulator.Emulator
	emulatorHTTP *http.Server
}

func (d *devParts) startTemporal(ctx context.Context, cfg Config, log zerolog.Logger) error {
	opts := devserver.Options{
		DataDir: cfg.DataDir, Host: cfg.Host, FrontendPort: cfg.TemporalPort, UIPort: cfg.UIPort,
		Namespace: workflows.Namespace, SearchAttributes: workflows.SearchAttributes(), Logger: log,
		TaskQueuePartitions: cfg.TaskQueuePartitions,
	}
	if cfg.Encryption.Codec != nil {
		// The UI shows payloads decoded by the worker's codec server.
		opts.CodecEndpoint = cfg.Encryption.CodecEndpoint
	}
	srv, err := devserver.Start(ctx, opts)
	if err != nil {
		return fmt.Errorf("embedded Temporal: %w", err)
	}
	d.server = srv
	return nil
}

func (d *devParts) temporalAddress() string { return d.server.FrontendAddress() }
func (d *devParts) uiURL() string           { return d.server.UIURL() }

func (d *devParts) startEmulator(cfg Config, log zerolog.Logger) (string, error) {
	emu, err := emulator.New(emulator.Options{DSN: filepath.Join(cfg.DataDir, "emulator.db"), Seed: true})
	if err != nil {
		return "", fmt.Errorf("emulator: %w", err)
	}
	d.emulator = emu
	l, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.EmulatorPort)))
	if err != nil {
		return "", fmt.Errorf("emulator port: %w", err)
	}
	d.emulatorHTTP = &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := d.emulatorHTTP.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("emulator stopped")
		}
	}()
	return "http://" + l.Addr().String(), nil
}

func (d *devParts) stop(log zerolog.Logger) {
	if d.server != nil {
		if err := d.server.Stop(); err != nil {
			log.Warn().Err(err).Msg("stopping embedded Temporal")
		}
	}
	if d.emulatorHTTP != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = d.emulatorHTTP.Shutdown(ctx)
		cancel()
	}
	if d.emulator != nil {
		_ = d.emulator.Close()
	}
}

// Emulator is the local emulator, nil when the worker talks to real Salesforce.
func (a *App) Emulator() *emulator.Emulator { return a.dev.emulator }

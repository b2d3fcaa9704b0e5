package workflows

import (
	"context"
	"fmt"
	"time"

	"github.com/prospect-sync/prospect-sync/prospect"
)

// LoadSettingsActivity is the registered name of the local activity that hands the worker's
// settings to a workflow run: settings come from the worker's environment, which workflow code
// must not read directly, and recording them keeps replays deterministic.
const LoadSettingsActivity = "LoadSettings"

// SyncSettings is what a sync runs by: the rules' settings and the Temporal knobs, which are no
// business of the rules. Its JSON is the one LoadSettingsActivity recorded when prospect.Settings
// carried the knobs too (the embedded fields are flattened), so recorded histories decode as
// they ran.
type SyncSettings struct {
	prospect.Settings
	// ActivityTimeout bounds one activity attempt; an attempt lost with a crashed worker is
	// retried after it.
	ActivityTimeout time.Duration `json:"activityTimeout"`
	// MaxHistoryEvents continues a run as new past this history length, on top of the
	// server's own suggestion.
	MaxHistoryEvents int `json:"maxHistoryEvents"`
}

// Default knobs.
const (
	DefaultActivityTimeout  = 30 * time.Second
	DefaultMaxHistoryEvents = 2000
)

// DefaultSyncSettings are the documented defaults.
func DefaultSyncSettings() SyncSettings {
	return SyncSettings{Settings: prospect.DefaultSettings(), ActivityTimeout: DefaultActivityTimeout, MaxHistoryEvents: DefaultMaxHistoryEvents}
}

// Validate reports the first setting that cannot work.
func (s SyncSettings) Validate() error {
	if err := s.Settings.Validate(); err != nil {
		return err
	}
	if s.ActivityTimeout < time.Second {
		return fmt.Errorf("activity timeout %v: want at least 1s", s.ActivityTimeout)
	}
	if s.MaxHistoryEvents < 100 {
		return fmt.Errorf("max history events %d: want at least 100", s.MaxHistoryEvents)
	}
	return nil
}

// SettingsLoader returns the function the worker registers as LoadSettingsActivity.
func SettingsLoader(s SyncSettings) func(context.Context) (SyncSettings, error) {
	return func(context.Context) (SyncSettings, error) { return s, nil }
}

package workflows

import (
	"context"

	"github.com/prospect-sync/prospect-sync/prospect"
)

// LoadSettingsActivity is the registered name of the local activity that hands the worker's
// settings to a workflow run: settings come from the worker's environment, which workflow code
// must not read directly, and recording them keeps replays deterministic.
const LoadSettingsActivity = "LoadSettings"

// SettingsLoader returns the function the worker registers as LoadSettingsActivity.
func SettingsLoader(s prospect.Settings) func(context.Context) (prospect.Settings, error) {
	return func(context.Context) (prospect.Settings, error) { return s, nil }
}

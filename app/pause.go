package app

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// DefaultPausePoll is the default of PROSPECT_SYNC_PAUSE_POLL: a pause holds every write within
// about a second, for one query a second per worker (the server's, no API call).
const DefaultPausePoll = time.Second

// pauseWatcher keeps the sync's pause state (the control workflow's) in this worker's memory, so
// that a write checks it at no cost. Until its first successful read it holds every write: a
// worker that cannot tell whether the sync is paused writes nothing, loses nothing, and says so.
type pauseWatcher struct {
	c     client.Client
	every time.Duration
	log   zerolog.Logger

	mu    sync.Mutex
	known bool
	state workflows.ControlState
}

// read asks the control workflow once.
func (w *pauseWatcher) read(ctx context.Context) error {
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := workflows.Control(qctx, w.c)
	if err != nil {
		return err
	}
	w.mu.Lock()
	changed := !w.known || st.Paused != w.state.Paused
	w.known, w.state = true, st
	w.mu.Unlock()
	if changed && st.Paused {
		w.log.Warn().Str("pause", st.String()).Msg("the sync is paused: every write to Salesforce and Account Engagement is held")
	} else if changed {
		w.log.Info().Msg("the sync runs: writes go")
	}
	return nil
}

// run reads the state at once and then every w.every until ctx ends; a failed read keeps the
// last state (none at first: writes stay held).
func (w *pauseWatcher) run(ctx context.Context) {
	if err := w.read(ctx); err != nil && ctx.Err() == nil {
		w.log.Warn().Err(err).Msg("could not read the pause state yet: writes are held until it can be read")
	}
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := w.read(ctx); err != nil && ctx.Err() == nil {
				w.log.Debug().Err(err).Msg("read the pause state; keeping the last one")
			}
		}
	}
}

// Paused is the activities' PausedFunc.
func (w *pauseWatcher) Paused() *activities.Pause {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case !w.known:
		return &activities.Pause{Since: time.Now().UTC(), By: "this worker", Reason: "the pause state could not be read from Temporal yet"}
	case w.state.Paused:
		return &activities.Pause{Since: w.state.Since, By: w.state.By, Reason: w.state.Reason}
	}
	return nil
}

// IsPaused is the prospect_sync_paused gauge's reading.
func (w *pauseWatcher) IsPaused() bool { return w.Paused() != nil }

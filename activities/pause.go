package activities

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/prospect-sync/prospect-sync/internal/budget"
)

// ErrTypePaused: an operator paused the sync; no write goes to either service until they
// resume (not retried by the activity: the sync waits at the step and tries it again). The
// details are the Pause.
const ErrTypePaused = "Paused"

// Pause is the pause in force, as the sync's control workflow holds it.
type Pause struct {
	Since  time.Time
	By     string
	Reason string
}

func (p Pause) String() string {
	return fmt.Sprintf("Paused since %s by %s: %s", p.Since.UTC().Format(time.RFC3339), p.By, p.Reason)
}

// PausedFunc reports the pause in force, nil while the sync runs. The worker wires it to its
// watcher of the control workflow; it answers from memory, so checking costs nothing.
type PausedFunc func() *Pause

// admitWrite lets a write to an API go, or holds it: the sync is paused, or the API's daily
// usage passed its reserve. Reads are not held by a pause: the syncs and the feeds keep their
// picture fresh at no write cost. The sync's own write activities answer a pause with a Held
// result instead (a pause is no failure, and a failure would be logged as one every try).
func (a *Activities) admitWrite(g *budget.Gate) error {
	if err := a.paused(); err != nil {
		return err
	}
	return admit(g)
}

// held is the pause in force, nil while the sync runs.
func (a *Activities) held() *Pause {
	if a.Paused == nil {
		return nil
	}
	return a.Paused()
}

// heldBy is the pause that refused a shared write (writeBatch checks it as the call leaves).
func heldBy(err error) *Pause {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypePaused {
		return nil
	}
	var p Pause
	if appErr.Details(&p) != nil {
		return nil
	}
	return &p
}

// paused is the error that holds a write while the sync is paused.
func (a *Activities) paused() error {
	if a.Paused == nil {
		return nil
	}
	p := a.Paused()
	if p == nil {
		return nil
	}
	return temporal.NewNonRetryableApplicationError(p.String(), ErrTypePaused, nil, *p)
}

package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"
)

// The sync's control: one long-lived workflow holding whether the whole sync is paused. The
// pause lives in Temporal, not in a worker's memory, so it survives restarts of every worker
// and of the server and holds for every worker of the task queue: each worker reads it
// (QueryControl) before its first activity and then every PROSPECT_SYNC_PAUSE_POLL.
const (
	// SyncControlWorkflow is the control workflow's type.
	SyncControlWorkflow = "SyncControl"
	// SyncControlWorkflowID is the one control workflow's id.
	SyncControlWorkflowID = "prospect-sync-control"
	// SignalPause pauses every write to Salesforce and Account Engagement (payload PauseRequest).
	SignalPause = "pause"
	// SignalResume lets the held work go (payload PauseRequest: who resumed, and why).
	SignalResume = "resume"
	// QueryControl returns the ControlState.
	QueryControl = "control-state"
)

// PauseRequest is who pauses or resumes, and why.
type PauseRequest struct {
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// ControlState is whether the sync is paused, since when, by whom and why.
type ControlState struct {
	Paused bool      `json:"paused"`
	Since  time.Time `json:"since,omitzero"`
	By     string    `json:"by,omitempty"`
	Reason string    `json:"reason,omitempty"`
	// Log is the latest pauses and resumes, newest last.
	Log []ControlEntry `json:"log,omitempty"`
}

// ControlEntry is one pause or resume.
type ControlEntry struct {
	Time   time.Time `json:"time"`
	Paused bool      `json:"paused"`
	By     string    `json:"by,omitempty"`
	Reason string    `json:"reason,omitempty"`
}

// String says it as the UI and the logs do: "Paused since … by …: reason".
func (s ControlState) String() string {
	if !s.Paused {
		return "running"
	}
	return fmt.Sprintf("Paused since %s by %s: %s", s.Since.UTC().Format(time.RFC3339), orDash(s.By), orDash(s.Reason))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// maxControlLog bounds ControlState.Log; maxControlSignals is how many pauses and resumes a run
// takes before it continues as new (a handful a year, in practice).
const (
	maxControlLog     = 20
	maxControlSignals = 500
)

// SyncControl holds the pause. It never ends: each change is a signal, the state a query.
func SyncControl(ctx workflow.Context, state ControlState) error {
	if err := workflow.SetQueryHandler(ctx, QueryControl, func() (ControlState, error) { return state, nil }); err != nil {
		return err
	}
	pause := workflow.GetSignalChannel(ctx, SignalPause)
	resume := workflow.GetSignalChannel(ctx, SignalResume)
	apply := func(paused bool, req PauseRequest) {
		now := workflow.Now(ctx)
		if paused && !state.Paused || !paused && state.Paused {
			state.Since = now
		}
		state.Paused, state.By, state.Reason = paused, req.By, req.Reason
		if !paused {
			state.Since = time.Time{}
		}
		state.Log = append(state.Log, ControlEntry{Time: now, Paused: paused, By: req.By, Reason: req.Reason})
		if len(state.Log) > maxControlLog {
			state.Log = state.Log[len(state.Log)-maxControlLog:]
		}
		workflow.GetLogger(ctx).Info("sync control", "state", state.String())
		workflow.SetCurrentDetails(ctx, "**"+state.String()+"**")
	}
	workflow.SetCurrentDetails(ctx, "**"+state.String()+"**")
	for n := 0; n < maxControlSignals || pause.Len()+resume.Len() > 0; n++ {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(pause, func(c workflow.ReceiveChannel, _ bool) {
			var req PauseRequest
			c.Receive(ctx, &req)
			apply(true, req)
		})
		sel.AddReceive(resume, func(c workflow.ReceiveChannel, _ bool) {
			var req PauseRequest
			c.Receive(ctx, &req)
			apply(false, req)
		})
		sel.Select(ctx)
	}
	return workflow.NewContinueAsNewError(ctx, SyncControlWorkflow, state)
}

// controlOptions starts the control workflow on the sync's task queue.
func controlOptions() client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: SyncControlWorkflowID, TaskQueue: TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING}
}

// Pause pauses the whole sync (starting the control workflow if need be).
func Pause(ctx context.Context, c client.Client, req PauseRequest) error {
	_, err := c.SignalWithStartWorkflow(ctx, SyncControlWorkflowID, SignalPause, req, controlOptions(), SyncControlWorkflow, ControlState{})
	return err
}

// Resume lets the sync write again.
func Resume(ctx context.Context, c client.Client, req PauseRequest) error {
	_, err := c.SignalWithStartWorkflow(ctx, SyncControlWorkflowID, SignalResume, req, controlOptions(), SyncControlWorkflow, ControlState{})
	return err
}

// StartPaused makes a new deployment start paused, as Account Engagement's connector is
// provisioned (PROSPECT_SYNC_START_PAUSED): it starts the control workflow paused only when
// none runs, so a later resume is never undone by a worker restarting. It reports whether it
// started one.
func StartPaused(ctx context.Context, c client.Client, req PauseRequest) (bool, error) {
	opts := controlOptions()
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	opts.WorkflowExecutionErrorWhenAlreadyStarted = true
	_, err := c.ExecuteWorkflow(ctx, opts, SyncControlWorkflow, ControlState{Paused: true, Since: time.Now().UTC(), By: req.By, Reason: req.Reason,
		Log: []ControlEntry{{Time: time.Now().UTC(), Paused: true, By: req.By, Reason: req.Reason}}})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return false, nil
	}
	return err == nil, err
}

// Control reads whether the sync is paused; a deployment that never paused has no control
// workflow and is running.
func Control(ctx context.Context, c client.Client) (ControlState, error) {
	v, err := c.QueryWorkflow(ctx, SyncControlWorkflowID, "", QueryControl)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return ControlState{}, nil
	}
	if err != nil {
		return ControlState{}, err
	}
	var s ControlState
	return s, v.Get(&s)
}

package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/prospect-sync/prospect-sync/prospect"
)

// Version change ids (workflow.GetVersion): each names a change running workflows must survive.
const (
	changeDrainStartSignals = "drain-start-signals"
	changeSkipUnchanged     = "skip-unchanged-on-signal"
	// changeLinkInState: the link lives in the sync's state, not in Account Engagement's
	// read-only CRM id fields; runs from before replay with the legacy link.
	changeLinkInState = "link-in-sync-state"
	// changeSyncBase: the link keeps the base (what was last synced, both sides), so the sync
	// tells which side changed: a person's email edit in Salesforce is followed, merges are
	// followed to the survivor, restores relink. Runs from before decide as they did.
	changeSyncBase = "sync-base"
	// changeSkipSeenHandoff: a hand-off of the version the sync already saw costs no read.
	changeSkipSeenHandoff = "skip-seen-handoff"
)

// maxHistoryEntries bounds the decision history kept in the sync-state query.
const maxHistoryEntries = 20

// trigger is why the workflow evaluates the prospect again.
type trigger int

const (
	triggerStart trigger = iota
	triggerSignal
	triggerRecheck
	triggerIdle
)

// syncer is one run's state; all of it is deterministic workflow state.
type syncer struct {
	id       int64
	settings SyncSettings
	carry    Carry
	ended    bool
	// attrs mirrors the search attributes last upserted, to upsert only changes.
	attrs map[string]string
	// createdAt, when set, is written to CrmCreatedAt with the next search attribute upsert.
	createdAt time.Time
	// request is what people asked for in the signals the next evaluation answers; received
	// counts those signals.
	request  ChangeRequest
	received int
	// baseOn: this run keeps the base (changeSyncBase).
	baseOn bool
	// legacy: this run replays one from before changeLinkInState (legacy.go).
	legacy bool
}

// receive adds a signal's request to those the next evaluation answers.
func (s *syncer) receive(req ChangeRequest) {
	if s.received == 0 {
		s.request = req
	} else {
		s.request = s.request.Merge(req)
	}
	s.received++
}

// ProspectSync keeps one Account Engagement prospect and its Salesforce record in step under
// rules R1–R6, waiting as long as it takes for the prospect to become syncable.
func ProspectSync(ctx workflow.Context, in ProspectSyncInput) (ProspectSyncResult, error) {
	s := &syncer{id: in.ProspectID, attrs: map[string]string{}}
	if in.Carry != nil {
		s.carry = *in.Carry
	} else {
		s.carry.Status = SyncStatus{State: prospect.StateEvaluating, ProspectID: in.ProspectID}
		s.carry.LastChange = workflow.Now(ctx)
	}
	s.attrs[AttrSyncState.GetName()] = string(s.carry.Status.State)
	if err := workflow.SetQueryHandler(ctx, QuerySyncState, func() (SyncStatus, error) {
		st := s.carry.Status
		link := s.carry.Link
		st.Base, st.Link = link.Base, &link
		return st, nil
	}); err != nil {
		return ProspectSyncResult{}, err
	}
	changed := workflow.GetSignalChannel(ctx, SignalProspectChanged)
	useRule := workflow.GetSignalChannel(ctx, SignalUseActiveAssignmentRule)

	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	if err := workflow.ExecuteLocalActivity(lctx, LoadSettingsActivity).Get(ctx, &s.settings); err != nil {
		return ProspectSyncResult{}, fmt.Errorf("load settings: %w", err)
	}

	legacyLink := workflow.GetVersion(ctx, changeLinkInState, workflow.DefaultVersion, 1) == workflow.DefaultVersion
	s.legacy = legacyLink
	if !legacyLink && s.carry.Link == (prospect.Link{}) {
		// A run continued from a legacy one: its status named the record.
		st := s.carry.Status
		s.carry.Link = prospect.Link{Type: st.CRMRecordType, ID: st.CRMRecordID, OwnerID: st.OwnerID, Deleted: st.State == prospect.StateCRMDeleted}
	}
	s.baseOn = !legacyLink && workflow.GetVersion(ctx, changeSyncBase, workflow.DefaultVersion, 1) >= 1

	why := triggerStart
	if in.Carry != nil {
		why = s.wait(ctx, changed, useRule)
	} else if workflow.GetVersion(ctx, changeDrainStartSignals, workflow.DefaultVersion, 1) >= 1 {
		// The signal a SignalWithStart delivered is what this first evaluation answers;
		// histories from before this change evaluated twice and must replay as they ran.
		s.drain(changed, useRule)
	}
	for {
		if why == triggerIdle {
			if !s.remembers() {
				return ProspectSyncResult{Status: s.carry.Status}, nil
			}
			// The sync keeps a link (or a deleted record's flag) that only it holds: it goes
			// quiet instead of completing: no more re-checks, only signals wake it.
			why = s.wait(ctx, changed, useRule)
			continue
		}
		if err := s.evaluate(ctx, why); err != nil {
			return ProspectSyncResult{}, err
		}
		if s.ended {
			return ProspectSyncResult{Status: s.carry.Status}, nil
		}
		info := workflow.GetInfo(ctx)
		if (info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > s.settings.MaxHistoryEvents) &&
			changed.Len() == 0 && useRule.Len() == 0 {
			// No signal is pending, so none is lost; one arriving now fails this task and
			// is delivered to a replay of it, never dropped.
			carry := s.carry
			return ProspectSyncResult{}, workflow.NewContinueAsNewError(ctx, ProspectSyncWorkflow, ProspectSyncInput{ProspectID: s.id, Carry: &carry})
		}
		why = s.wait(ctx, changed, useRule)
	}
}

// remembers reports whether the sync holds something no other place does: the link to its
// record or the flag of a deleted one (Account Engagement's CRM id fields are read-only). Such a
// sync never completes on idling out, or a later start would forget it; it goes quiet.
// Legacy runs kept the link in Account Engagement and completed.
func (s *syncer) remembers() bool {
	return !s.legacy && s.carry.Link != (prospect.Link{})
}

// wait blocks until a signal, a recheck or the idle timeout, and coalesces pending signals.
func (s *syncer) wait(ctx workflow.Context, changed, useRule workflow.ReceiveChannel) trigger {
	now := workflow.Now(ctx)
	recheck := s.settings.WaitRecheckInterval
	idleAt := time.Time{}
	switch s.carry.Status.State {
	case prospect.StateSynced:
		recheck = s.settings.RecheckInterval
		fallthrough
	case prospect.StateDoNotSync, prospect.StateCRMDeleted:
		if s.settings.IdleTimeout > 0 {
			idleAt = s.carry.LastChange.Add(s.settings.IdleTimeout)
		}
	}
	if s.carry.Status.State == prospect.StateDoNotSync || s.carry.Status.State == prospect.StateCRMDeleted {
		recheck = 0 // only an explicit change in Account Engagement can alter these
	}
	d, why := recheck, triggerRecheck
	if !idleAt.IsZero() && !now.Before(idleAt) && s.remembers() {
		d = 0 // quiet: idle, and keeping what only this sync knows
	} else if !idleAt.IsZero() && (d <= 0 || idleAt.Sub(now) < d) {
		d, why = max(idleAt.Sub(now), time.Millisecond), triggerIdle
	}
	summary := timerSummary(why)
	if retry := s.carry.RetryAt; !retry.IsZero() && (d <= 0 || retry.Sub(now) < d) {
		d, why, summary = max(retry.Sub(now), time.Millisecond), triggerRecheck, "API budget"
	}

	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(changed, func(c workflow.ReceiveChannel, _ bool) {
		var req ChangeRequest
		c.Receive(ctx, &req)
		s.receive(req)
		why = triggerSignal
	})
	sel.AddReceive(useRule, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		s.carry.UseAssignmentRule, s.carry.RuleRequested = true, true
		why = triggerSignal
	})
	if d > 0 {
		timer := workflow.NewTimerWithOptions(timerCtx, d, workflow.TimerOptions{Summary: summary})
		sel.AddFuture(timer, func(workflow.Future) {})
	}
	sel.Select(ctx)
	if s.drain(changed, useRule) {
		why = triggerSignal
	}
	return why
}

// drain consumes pending signals (one evaluation answers them all) and reports whether any came.
func (s *syncer) drain(changed, useRule workflow.ReceiveChannel) bool {
	any := false
	for {
		var req ChangeRequest
		if !changed.ReceiveAsync(&req) {
			break
		}
		s.receive(req)
		any = true
	}
	for useRule.ReceiveAsync(nil) {
		s.carry.UseAssignmentRule, s.carry.RuleRequested = true, true
		any = true
	}
	return any
}

func timerSummary(t trigger) string {
	if t == triggerIdle {
		return "idle timeout"
	}
	return "recheck"
}

func (s *syncer) activityCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: s.settings.ActivityTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			// Outages are retried without limit: a prospect is never dropped.
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
			// Which failures are final is decided where they are made (activities.classify).
		},
	})
}

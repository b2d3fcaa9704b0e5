package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/prospect-sync/prospect-sync/activities"
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

// ProspectSyncInput starts, or continues as new, one prospect's sync.
type ProspectSyncInput struct {
	ProspectID int64
	// Carried across continue-as-new; empty on a fresh start.
	Carry *Carry `json:",omitempty"`
}

// Carry is the state a run hands to the next one on continue-as-new.
type Carry struct {
	Status            SyncStatus
	UseAssignmentRule bool
	// SeenVersion is the prospect version last evaluated (or last written by us), so a
	// recheck or a signal for an unchanged prospect costs no Salesforce call. It covers every
	// field, not only updatedAt: Account Engagement's updatedAt has one-second precision.
	SeenVersion string
	// SeenUpdatedAt is the updatedAt of SeenVersion: a hand-off from the change feed is used
	// only when newer. Zero for runs from before hand-offs, which then read for themselves.
	SeenUpdatedAt time.Time `json:",omitzero"`
	// LastChange is when the sync last changed something; idle time counts from it.
	LastChange time.Time
	// RuleRequested is set by a use-active-assignment-rule signal until an evaluation answers it.
	RuleRequested bool `json:",omitempty"`
	// Link is the Salesforce record the prospect syncs with: the sync's own record of it.
	Link prospect.Link `json:",omitzero"`
	// RetryAt, when set, is when an evaluation held back for API budget runs again.
	RetryAt time.Time `json:",omitzero"`
	// Prospect is the prospect as last seen, for requests from the Salesforce change feed.
	Prospect *prospect.Prospect `json:",omitempty"`
}

// ProspectSyncResult is the final status of a completed run.
type ProspectSyncResult struct {
	Status SyncStatus
}

// SyncStatus is the sync-state query's answer.
type SyncStatus struct {
	State          prospect.SyncState  `json:"state"`
	ProspectID     int64               `json:"prospectId"`
	CRMRecordType  string              `json:"crmRecordType"`
	CRMRecordID    string              `json:"crmRecordId"`
	OwnerID        string              `json:"ownerId"`
	AssignedUserID int64               `json:"assignedUserId"`
	LastError      *prospect.SyncError `json:"lastError"`
	WaitingFor     string              `json:"waitingFor,omitempty"`
	History        []HistoryEntry      `json:"history"`
	// Base is what the sync last synced, both sides (the query's answer only: the run keeps it
	// in its link).
	Base *prospect.Base `json:"base,omitempty"`
	// Link is the sync's own record of its link (the query's answer only), for `starter plan`
	// to decide exactly as the sync would.
	Link *prospect.Link `json:"link,omitempty"`
	// Paused is set while an operator's pause holds the sync at a write: "Paused since … by …:
	// reason".
	Paused string `json:"paused,omitempty"`
}

// HistoryEntry is one decision taken, for people reading the query.
type HistoryEntry struct {
	Time   time.Time          `json:"time"`
	State  prospect.SyncState `json:"state"`
	Action prospect.Action    `json:"action"`
	Reason string             `json:"reason"`
	// Fields are the decisions about mapped fields whose values differed: both values, the
	// winner and why.
	Fields []prospect.FieldNote `json:"fields,omitempty"`
}

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
	settings prospect.Settings
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
	s.settings.LegacyLinkFields = legacyLink
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
	return !s.settings.LegacyLinkFields && s.carry.Link != (prospect.Link{})
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

// maxLookups bounds the Salesforce lookups of one evaluation. A lookup is repeated only when a
// write finds its record converted or deleted under it (a race with a person in Salesforce);
// one retry settles that race, and a third would mean the records keep changing, which the
// next change or re-check handles better than a loop.
const maxLookups = 2

// evaluation is one pass over the prospect: what was read, and what Decide needs next.
type evaluation struct {
	p        prospect.Prospect
	settings prospect.Settings
	matches  *prospect.Matches
	lookups  int
	// handoff is what the change feed handed over with the signal, if the sync used it.
	handoff *activities.Handoff
	// before is the prospect as the sync saw it before this evaluation: the base of a link
	// recorded before bases were kept.
	before *prospect.Prospect
	// restoreCheck: the sync stopped because its record was deleted and was asked to look
	// again (a re-sync, or the Salesforce change feed): the record may have been restored.
	restoreCheck bool
}

// evaluate reads the prospect, decides, and carries out the decision: Decide names a step,
// the step runs and says whether to decide again (after a lookup, or a record that changed
// under a write).
func (s *syncer) evaluate(ctx workflow.Context, why trigger) error {
	s.carry.RetryAt = time.Time{}
	ev, err := s.read(ctx, why)
	if err != nil || ev == nil {
		return s.failed(ctx, err)
	}
	if ev.restoreCheck && ev.matches == nil {
		// A person asked, or Salesforce reported a change to the deleted record: look it up,
		// to relink if it was restored from the recycle bin.
		if _, err := s.lookup(ctx, ev); err != nil {
			return s.failed(ctx, err)
		}
	}
	for {
		d := prospect.Decide(ev.p, ev.matches, ev.settings)
		var again bool
		switch d.Action {
		case prospect.ActionLookup:
			if ev.lookups == maxLookups {
				s.record(ctx, prospect.ErrorDecision(prospect.SyncError{Code: prospect.CodeLookupUnstable,
					Message: "Salesforce records kept changing during the sync; will retry on the next change or re-check"}))
				s.carry.SeenVersion = "" // not the prospect's fault: the next re-check tries again
				return nil
			}
			again, err = s.lookup(ctx, ev)
		case prospect.ActionLink:
			again, err = s.link(ctx, ev, d)
		case prospect.ActionCreateLead:
			err = s.createLead(ctx, ev, d)
		case prospect.ActionMarkDeleted:
			err = s.markDeleted(ctx, ev, d)
		case prospect.ActionStop:
			s.stop(ctx, d)
		default: // wait, none, error, end
			s.record(ctx, d)
		}
		if err != nil || !again {
			return s.failed(ctx, err)
		}
	}
}

// read fetches the prospect and starts an evaluation; nil when there is nothing to decide (the
// prospect is unknown, or unchanged since the last evaluation).
func (s *syncer) read(ctx workflow.Context, why trigger) (*evaluation, error) {
	req := s.request
	s.request, s.received = ChangeRequest{}, 0
	if why == triggerSignal && s.seenAlready(req) && workflow.GetVersion(ctx, changeSkipSeenHandoff, workflow.DefaultVersion, 1) >= 1 {
		// The change feed handed over the very version this sync already synced (the feed
		// reads a little back in time, and a starter's request may have come first): nothing
		// to read, nothing to decide.
		return nil, nil
	}
	var fetched activities.FetchProspectResult
	switch {
	case s.usable(req.Handoff):
		// The change feed's page read it: no Account Engagement call.
		fetched = activities.FetchProspectResult{Found: true, Prospect: req.Prospect}
	case req.CRM && req.Handoff == nil && s.carry.Prospect != nil:
		// A change on the Salesforce side: the prospect as last seen, Salesforce looked up anew.
		fetched = activities.FetchProspectResult{Found: true, Prospect: *s.carry.Prospect}
	default:
		req.Handoff = nil
		var a *activities.Activities
		if err := workflow.ExecuteActivity(s.activityCtx(ctx), a.FetchProspect, activities.FetchProspectInput{ProspectID: s.id}).Get(ctx, &fetched); err != nil {
			return nil, err
		}
	}
	if !fetched.Found {
		s.record(ctx, prospect.NotFound(s.id))
		return nil, nil
	}
	p := fetched.Prospect
	s.carry.Status.AssignedUserID = p.AssignedUserID
	if req.AllowRecreate && s.carry.Link.Deleted {
		if s.carry.Link.Archived {
			// Archived with its deleted record: back from the recycle bin first, or the
			// evaluation would take it for a prospect deleted in Account Engagement.
			if err := s.archive(ctx, p, true); err != nil {
				return nil, err
			}
			p.Deleted = false
		}
		s.carry.Link = prospect.Link{}
		st := &s.carry.Status
		st.CRMRecordType, st.CRMRecordID, st.OwnerID = "", "", ""
	}
	if s.settings.LegacyLinkFields {
		p.Link = prospect.LinkFromEngagement(p)
	} else {
		p.Link = s.carry.Link
	}
	unchanged := p.Version() == s.carry.SeenVersion && !req.Resync && !req.AllowRecreate
	if why == triggerRecheck && s.carry.Status.State != prospect.StateSynced && unchanged {
		s.upsertAttrs(ctx) // the assigned user may be all that changed
		return nil, nil    // nothing changed: no Salesforce call, no new decision
	}
	ruleRequested := s.carry.RuleRequested
	s.carry.RuleRequested = false
	if why == triggerSignal && unchanged && !ruleRequested &&
		workflow.GetVersion(ctx, changeSkipUnchanged, workflow.DefaultVersion, 1) >= 1 {
		// The change feed also reports our own write-backs; the prospect is as we left it.
		return nil, nil
	}
	before := s.carry.Prospect
	s.seen(p)
	ev := &evaluation{p: p, settings: s.settings, handoff: req.Handoff, before: before,
		restoreCheck: s.baseOn && req.Resync && p.Link.Restorable()}
	ev.settings.UseActiveAssignmentRules = ev.settings.UseActiveAssignmentRules || s.carry.UseAssignmentRule
	return ev, nil
}

// seenAlready reports a request that asks for nothing but the hand-off of a version the sync
// has seen: the same fingerprint, so the same second's updatedAt is no reason to read again.
func (s *syncer) seenAlready(req ChangeRequest) bool {
	h := req.Handoff
	return h != nil && h.Prospect.ID == s.id && !req.Resync && !req.AllowRecreate && !req.CRM && !s.carry.RuleRequested &&
		s.carry.SeenVersion != "" && h.Prospect.Version() == s.carry.SeenVersion
}

// usable reports whether a hand-off is this prospect's and newer than what the sync has seen.
// A version within the same second as the one seen is read again: updatedAt has one-second
// precision, so the hand-off might be the older of the two.
func (s *syncer) usable(h *activities.Handoff) bool {
	if h == nil || h.Prospect.ID != s.id {
		return false
	}
	if s.carry.SeenUpdatedAt.IsZero() {
		return s.carry.SeenVersion == ""
	}
	return h.Prospect.UpdatedAt.After(s.carry.SeenUpdatedAt)
}

// seen remembers p as the version evaluated (or written by us).
func (s *syncer) seen(p prospect.Prospect) {
	s.carry.SeenVersion, s.carry.SeenUpdatedAt = p.Version(), p.UpdatedAt
	p.Link = prospect.Link{} // the sync's own, kept in Carry.Link
	s.carry.Prospect = &p
}

// handoffMaxAge is how old the change feed's matches may be for a sync to act on them (a
// create on matches this old could miss a record made meanwhile); older ones are looked up again.
const handoffMaxAge = 2 * time.Minute

// handedMatches are the hand-off's matches, with the linked record among them, when they can
// stand for a lookup: fresh, and holding the sync's linked record if it has one.
func (s *syncer) handedMatches(ctx workflow.Context, ev *evaluation) (*prospect.Matches, bool) {
	h := ev.handoff
	if h == nil || h.Matches == nil || ev.lookups > 0 || workflow.Now(ctx).Sub(h.At) > handoffMaxAge {
		return nil, false
	}
	m := *h.Matches
	if link := ev.p.Link; link.ID != "" {
		recs := m.Leads
		if link.Type == prospect.TypeContact {
			recs = m.Contacts
		}
		i := slices.IndexFunc(recs, func(r prospect.Record) bool { return r.ID == link.ID })
		if i < 0 {
			return nil, false // not found by email: the record itself must be looked up
		}
		m.Linked = &recs[i]
	}
	return &m, true
}

// lookup reads the Leads and Contacts with the prospect's email (and its linked record).
func (s *syncer) lookup(ctx workflow.Context, ev *evaluation) (again bool, _ error) {
	if m, ok := s.handedMatches(ctx, ev); ok {
		ev.matches = m
		ev.lookups++
		s.takeBase(ev)
		return true, nil
	}
	var a *activities.Activities
	var found activities.FindMatchesResult
	in := activities.FindMatchesInput{
		Email: ev.p.Email, LinkedType: ev.p.Link.Type, LinkedID: ev.p.Link.ID,
		LeadFields:    prospect.MappedFields(ev.settings, prospect.TypeLead),
		ContactFields: prospect.MappedFields(ev.settings, prospect.TypeContact),
		RecentFields:  activities.RecentFieldsOf(ev.settings),
	}
	if s.baseOn {
		in.ProspectID = s.id
	}
	err := workflow.ExecuteActivity(s.activityCtx(ctx), a.FindMatches, in).Get(ctx, &found)
	if err != nil {
		return false, err
	}
	ev.matches = &found.Matches
	ev.lookups++
	s.takeBase(ev)
	return true, nil
}

// takeBase gives a link recorded before bases were kept the base it would have had: the
// prospect as the sync last saw it, which was in step with the record then (its email on both
// sides), and the record's fields as first read. Without that, a person's edit on either side
// would look like no change.
func (s *syncer) takeBase(ev *evaluation) {
	if !s.baseOn || ev.p.Link.ID == "" || ev.p.Link.Base != nil || ev.matches == nil || ev.matches.Linked == nil {
		return
	}
	b := prospect.BaseOfRead(ev.p, *ev.matches.Linked, ev.settings)
	if prev := ev.before; prev != nil {
		read := prospect.BaseOfRead(*prev, *ev.matches.Linked, ev.settings)
		b.Email, b.RecordEmail, b.Engagement = read.Email, read.Email, read.Engagement
	}
	ev.p.Link.Base = b
}

// link keeps the prospect and an existing record in step (R2); a record converted or deleted
// under the write sends the evaluation back to a fresh lookup. When the decision changes the
// prospect's email (an edit in Salesforce followed, a merge), Account Engagement is written
// first: if it refuses the email because another prospect has it, nothing else was written.
func (s *syncer) link(ctx workflow.Context, ev *evaluation, d prospect.Decision) (again bool, _ error) {
	var a *activities.Activities
	if d.Unarchive {
		// The record was restored: the prospect comes back from the recycle bin first.
		if err := s.archive(ctx, ev.p, true); err != nil {
			return false, err
		}
		s.carry.Link.Archived = false
	}
	_, emailFirst := d.ProspectUpdates["email"]
	assigned := ev.p.AssignedUserID
	if emailFirst {
		var err error
		if assigned, err = s.writeBack(ctx, ev.p, d.ProspectUpdates, d.AssignOwner); err != nil {
			if taken, ok := emailTaken(err); ok {
				return false, s.emailTaken(ctx, ev, d, taken)
			}
			return false, err
		}
	}
	if d.RecordUpdates != nil {
		err := s.hold(ctx, func() (*activities.Pause, error) {
			var res activities.UpdateRecordResult
			err := workflow.ExecuteActivity(s.activityCtx(ctx), a.UpdateRecord, activities.UpdateRecordInput{
				Type: d.Record.Type, ID: d.Record.ID, Fields: d.RecordUpdates}).Get(ctx, &res)
			return res.Held, err
		})
		if isType(err, activities.ErrTypeConvertedLead, activities.ErrTypeRecordGone) {
			ev.matches = nil
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
	if !emailFirst {
		var err error
		if assigned, err = s.writeBack(ctx, ev.p, d.ProspectUpdates, d.AssignOwner); err != nil {
			return false, err
		}
	}
	s.linked(ctx, d, *d.Record, assigned, prospect.BaseAfter(ev.p, *d.Record, d.RecordUpdates, d.ProspectUpdates, ev.settings))
	return false, nil
}

// archive sends the prospect to Account Engagement's recycle bin, or brings it back (back).
func (s *syncer) archive(ctx workflow.Context, p prospect.Prospect, back bool) error {
	var a *activities.Activities
	act := a.ArchiveProspect
	if back {
		act = a.UnarchiveProspect
	}
	return s.hold(ctx, func() (*activities.Pause, error) {
		var res activities.ArchiveResult
		err := workflow.ExecuteActivity(s.activityCtx(ctx), act, activities.ArchiveInput{ProspectID: p.ID, Email: p.Email}).Get(ctx, &res)
		return res.Held, err
	})
}

// emailTaken reports Account Engagement's refusal of an email another prospect has.
func emailTaken(err error) (activities.EmailTaken, bool) {
	var appErr *temporal.ApplicationError
	var taken activities.EmailTaken
	if !isType(err, activities.ErrTypeEmailTaken) || !errors.As(err, &appErr) {
		return taken, false
	}
	_ = appErr.Details(&taken)
	return taken, true
}

// emailTaken stops syncing with a record whose new email another prospect has, as the connector
// flags the old prospect so it is not recreated, and signals the other prospect's sync so that
// it matches the record.
func (s *syncer) emailTaken(ctx workflow.Context, ev *evaluation, d prospect.Decision, taken activities.EmailTaken) error {
	other := "another prospect"
	if taken.ProspectID != 0 {
		other = fmt.Sprintf("prospect %d", taken.ProspectID)
	}
	s.stop(ctx, prospect.Decision{Action: prospect.ActionStop, State: prospect.StateCRMDeleted, Flag: prospect.FlagEmailTaken,
		Reason: fmt.Sprintf("%s %s now has email %s, which %s has in Account Engagement: stopped syncing with it (%s syncs with it instead); never recreated until a person allows it",
			d.Record.Type, d.Record.ID, d.ProspectUpdates["email"], other, other),
		WaitingFor: "an explicit allow-recreate request"})
	if taken.ProspectID == 0 {
		return nil
	}
	var a *activities.Activities
	return workflow.ExecuteActivity(s.activityCtx(ctx), a.SignalProspects, activities.SignalProspectsInput{
		ProspectIDs: []int64{taken.ProspectID}, Signal: SignalProspectChanged, Arg: &ChangeRequest{Resync: true}}).Get(ctx, nil)
}

// stop stops syncing with the linked record: the sync matches or creates none until a person
// allows it. The record is no longer this prospect's, so its id leaves the status and the
// CrmRecordId search attribute (the Salesforce change feed no longer signals this sync for it).
func (s *syncer) stop(ctx workflow.Context, d prospect.Decision) {
	s.carry.Link = prospect.Link{Deleted: true, Flag: d.Flag}
	st := &s.carry.Status
	st.CRMRecordType, st.CRMRecordID, st.OwnerID = "", "", ""
	s.record(ctx, d)
}

// createLead creates the prospect's Lead (R4, or R5 through the active assignment rule) and
// writes the link back.
func (s *syncer) createLead(ctx workflow.Context, ev *evaluation, d prospect.Decision) error {
	var a *activities.Activities
	var created activities.CreateLeadResult
	err := s.hold(ctx, func() (*activities.Pause, error) {
		created = activities.CreateLeadResult{}
		err := workflow.ExecuteActivity(s.activityCtx(ctx), a.CreateLead, activities.CreateLeadInput{
			ProspectID: ev.p.ID, Email: ev.p.Email, Fields: d.Lead.Fields, OwnerID: d.Lead.OwnerID, UseAssignmentRule: d.Lead.UseAssignmentRule,
			ReadFields: prospect.MappedFields(ev.settings, prospect.TypeLead),
		}).Get(ctx, &created)
		return created.Held, err
	})
	if err != nil {
		return err
	}
	_, wb, owner := prospect.LinkUpdates(ev.p, created.Record, ev.settings)
	assigned, err := s.writeBack(ctx, ev.p, wb, owner)
	if err != nil {
		return err
	}
	if created.Existing {
		d.Reason += " (found the Lead an earlier attempt created)"
	}
	s.createdAt = workflow.Now(ctx)
	s.linked(ctx, d, created.Record, assigned, prospect.BaseAfter(ev.p, created.Record, nil, wb, ev.settings))
	return nil
}

// markDeleted flags the prospect whose record was deleted in Salesforce.
func (s *syncer) markDeleted(ctx workflow.Context, ev *evaluation, d prospect.Decision) error {
	if _, err := s.writeBack(ctx, ev.p, d.ProspectUpdates, ""); err != nil {
		return err
	}
	s.carry.Link.Deleted = true
	if s.baseOn {
		s.carry.Link.Flag = prospect.FlagDeleted
		if d.Archive {
			if err := s.archive(ctx, ev.p, false); err != nil {
				return err
			}
			s.carry.Link.Archived = true
		}
	}
	s.record(ctx, d)
	return nil
}

// writeBack writes to Account Engagement when there is anything to write.
func (s *syncer) writeBack(ctx workflow.Context, p prospect.Prospect, fields map[string]string, owner string) (int64, error) {
	if fields == nil && owner == "" {
		return p.AssignedUserID, nil
	}
	var a *activities.Activities
	var res activities.WriteBackResult
	err := s.hold(ctx, func() (*activities.Pause, error) {
		res = activities.WriteBackResult{}
		err := workflow.ExecuteActivity(s.activityCtx(ctx), a.WriteBack, activities.WriteBackInput{
			ProspectID: p.ID, Fields: fields, AssignOwnerID: owner, CurrentAssignedUserID: p.AssignedUserID}).Get(ctx, &res)
		return res.Held, err
	})
	if err == nil && res.Prospect.ID != 0 && res.Prospect.Version() == expectAfterWrite(p, fields, res.Prospect).Version() {
		// Our own write is no change to react to. Anything else that changed between our read
		// and our write (a user's edit) keeps the old version, so its signal is not skipped.
		after := res.Prospect
		switch {
		case after.AssignedUserID == p.AssignedUserID:
			after.AssignedUserSalesforceID = p.AssignedUserSalesforceID
		case owner != "":
			after.AssignedUserSalesforceID = owner // assigned to the owner's user
		}
		s.seen(after)
		if after.AssignedUserID != 0 && after.AssignedUserSalesforceID == "" {
			s.carry.Prospect = nil // its user's Salesforce id unknown here: read it next time
		}
	}
	return res.AssignedUserID, err
}

// expectAfterWrite is p as our write-back should have left it: the fields we wrote, the
// assigned user and version Account Engagement reports, everything else as we read it.
func expectAfterWrite(p prospect.Prospect, fields map[string]string, after prospect.Prospect) prospect.Prospect {
	p.UpdatedAt, p.AssignedUserID = after.UpdatedAt, after.AssignedUserID
	for k, v := range fields { // assignments to distinct fields: order does not matter
		p.Set(k, v)
	}
	return p
}

// pauseRecheck is how often a sync held by an operator's pause tries its write again. Each try
// is one activity attempt that asks nothing of either API (the worker checks the pause from
// memory first); syncs held at different moments wake at different moments after a resume,
// so the held work goes at the budget governor's pace rather than all at once.
const pauseRecheck = 10 * time.Second

// hold runs a write step; while an operator's pause holds it, the sync waits at that step with
// its state unchanged, says so in its details and query, and tries the step again.
func (s *syncer) hold(ctx workflow.Context, step func() (*activities.Pause, error)) error {
	for {
		held, err := step()
		var appErr *temporal.ApplicationError
		if held == nil && isType(err, activities.ErrTypePaused) && errors.As(err, &appErr) {
			held = &activities.Pause{}
			_ = appErr.Details(held)
		}
		if held == nil {
			if s.carry.Status.Paused != "" {
				s.carry.Status.Paused = ""
				workflow.SetCurrentDetails(ctx, s.details())
			}
			return err
		}
		p := *held
		if s.carry.Status.Paused == "" {
			workflow.GetLogger(ctx).Info("write held by a pause", "pause", p.String())
		}
		s.carry.Status.Paused = p.String()
		workflow.SetCurrentDetails(ctx, s.details())
		if err := workflow.NewTimerWithOptions(ctx, pauseRecheck, workflow.TimerOptions{Summary: "paused"}).Get(ctx, nil); err != nil {
			return err
		}
	}
}

// isType reports an activity failure of one of the application error types.
func isType(err error, types ...string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && slices.Contains(types, appErr.Type())
}

// failed makes a failed activity visible instead of failing the workflow: a data error
// becomes a prospect.SyncError that waits for the prospect to change; a prospect gone from Account
// Engagement ends the sync; anything else unexpected is shown as SYNC_FAILED and waits too, so
// no prospect is ever dropped. Only cancellation passes through; nil passes as nil.
func (s *syncer) failed(ctx workflow.Context, err error) error {
	var canceled *temporal.CanceledError
	if err == nil || errors.As(err, &canceled) || ctx.Err() != nil {
		return err
	}
	var appErr *temporal.ApplicationError
	switch {
	case isType(err, activities.ErrTypeProspectGone):
		s.record(ctx, prospect.Deleted(s.id))
	case isType(err, activities.ErrTypeBudgetWait) && errors.As(err, &appErr):
		// Not a failure: the org's daily calls are nearly spent. Show it with the figures, keep
		// the state, and evaluate again after the wait.
		var w activities.BudgetWait
		_ = appErr.Details(&w)
		if w.RetryIn <= 0 {
			w.RetryIn = time.Minute
		}
		workflow.GetLogger(ctx).Info("waiting for API budget", "reason", w.Reason)
		s.carry.Status.WaitingFor = w.Reason
		s.carry.RetryAt = workflow.Now(ctx).Add(w.RetryIn)
		s.carry.SeenVersion = "" // evaluate again, changed or not
		workflow.SetCurrentDetails(ctx, s.details())
	case isType(err, activities.ErrTypeDataError) && errors.As(err, &appErr):
		se := prospect.SyncError{Code: prospect.CodeDataError, Message: appErr.Message()}
		if appErr.HasDetails() {
			_ = appErr.Details(&se) // a prospect.SyncError by construction; the message above if not
		}
		s.record(ctx, prospect.ErrorDecision(se))
	default:
		workflow.GetLogger(ctx).Error("unexpected activity failure", "error", err)
		s.record(ctx, prospect.ErrorDecision(prospect.SyncError{Code: prospect.CodeSyncFailed, Message: err.Error()}))
		s.carry.SeenVersion = "" // not the prospect's fault: the next re-check tries again
	}
	return nil
}

// linked records a successful sync with rec, and what was synced as the base of the next
// decision.
func (s *syncer) linked(ctx workflow.Context, d prospect.Decision, rec prospect.Record, assignedUserID int64, base *prospect.Base) {
	st := &s.carry.Status
	st.CRMRecordType, st.CRMRecordID, st.OwnerID, st.AssignedUserID = rec.Type, rec.ID, rec.OwnerID, assignedUserID
	s.carry.Link = prospect.Link{Type: rec.Type, ID: rec.ID, OwnerID: rec.OwnerID}
	if s.baseOn {
		s.carry.Link.Base = base
	}
	s.record(ctx, d)
}

// record makes a decision visible: query state, history, search attributes, UI details.
func (s *syncer) record(ctx workflow.Context, d prospect.Decision) {
	if d.Action == prospect.ActionEnd {
		s.ended = true
	}
	st := &s.carry.Status
	countDecision(ctx, st.State, d)
	now := workflow.Now(ctx)
	// Idle time counts from the last real change, not from rechecks that found nothing to do.
	if st.State != d.State || d.Action == prospect.ActionCreateLead || d.RecordUpdates != nil || d.ProspectUpdates != nil {
		s.carry.LastChange = now
	}
	st.State, st.LastError, st.WaitingFor = d.State, d.Error, d.WaitingFor
	if d.State == prospect.StateSynced {
		st.LastError = nil
	}
	last := len(st.History) - 1
	if last >= 0 && st.History[last].Action == d.Action && st.History[last].Reason == d.Reason {
		st.History[last].Time, st.History[last].Fields = now, d.Fields // the same decision again: refresh, don't flood
	} else {
		st.History = append(st.History, HistoryEntry{Time: now, State: d.State, Action: d.Action, Reason: d.Reason, Fields: d.Fields})
		if len(st.History) > maxHistoryEntries {
			st.History = st.History[len(st.History)-maxHistoryEntries:]
		}
	}
	s.upsertAttrs(ctx)
	workflow.SetCurrentDetails(ctx, s.details())
}

// upsertAttrs writes the search attributes that changed since the last upsert.
func (s *syncer) upsertAttrs(ctx workflow.Context) {
	st := s.carry.Status
	assigned := ""
	if st.AssignedUserID != 0 {
		assigned = strconv.FormatInt(st.AssignedUserID, 10)
	}
	code := ""
	if st.LastError != nil {
		code = st.LastError.Code
	}
	var updates []temporal.SearchAttributeUpdate
	for _, kv := range []struct {
		key   temporal.SearchAttributeKeyKeyword
		value string
	}{
		{AttrSyncState, string(st.State)},
		{AttrProspectID, strconv.FormatInt(s.id, 10)},
		{AttrCRMRecordID, st.CRMRecordID},
		{AttrAssignedUserID, assigned},
		{AttrSyncErrorCode, code},
	} {
		name := kv.key.GetName()
		if old, ok := s.attrs[name]; ok && old == kv.value {
			continue
		}
		s.attrs[name] = kv.value
		if kv.value == "" {
			updates = append(updates, kv.key.ValueUnset())
		} else {
			updates = append(updates, kv.key.ValueSet(kv.value))
		}
	}
	if len(updates) > 0 && !s.createdAt.IsZero() {
		// In the same upsert as the new CrmRecordId: one command, as before the attribute existed.
		updates = append(updates, AttrCRMCreatedAt.ValueSet(s.createdAt))
		s.createdAt = time.Time{}
	}
	if len(updates) > 0 {
		// Upsert fails only on invalid keys, which are constants here.
		_ = workflow.UpsertTypedSearchAttributes(ctx, updates...)
	}
}

// details is the Markdown the Temporal UI shows as the workflow's current details.
func (s *syncer) details() string {
	st := s.carry.Status
	out := fmt.Sprintf("**%s**", st.State)
	if st.Paused != "" {
		out += "\n\n" + st.Paused + " (held before its next write)"
	}
	if st.CRMRecordID != "" {
		out += fmt.Sprintf(" · %s `%s` owned by `%s`", st.CRMRecordType, st.CRMRecordID, st.OwnerID)
	}
	if st.WaitingFor != "" {
		out += "\n\nWaiting for " + st.WaitingFor
	}
	if st.LastError != nil {
		out += fmt.Sprintf("\n\nLast error `%s`: %s", st.LastError.Code, st.LastError.Message)
	}
	if n := len(st.History); n > 0 {
		last := st.History[n-1]
		out += "\n\n" + last.Reason
		for _, f := range last.Fields {
			out += "\n- " + f.String()
		}
	}
	return out
}

package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/prospect"
)

// The steps of one evaluation: read, look up, link, create, flag, write back, each an activity
// (or a wait at a write an operator's pause holds), and what a failed one becomes.

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
		if s.legacy {
			d = legacyDecision(ev.p, d)
		}
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
	if s.legacy {
		p.Link = legacyLink(p)
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
	ev := &evaluation{p: p, settings: s.settings.Settings, handoff: req.Handoff, before: before,
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
	if s.legacy {
		wb = legacyFields(ev.p, created.Record, wb)
	}
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

package workflows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/prospect"
)

// world is a fake Account Engagement + Salesforce behind mocked activities, so workflow tests
// exercise the orchestration with time skipping.
type world struct {
	mu       sync.Mutex
	p        prospect.Prospect
	found    bool
	leads    []prospect.Record
	contacts []prospect.Record
	calls    map[string]int
	// createErr fails the next CreateLead with this error.
	createErr error
	// writeBackErr fails the next WriteBack with this error.
	writeBackErr error
	// fetchTime is when (test time) each FetchProspect started.
	fetchTime []time.Time
	nextID    int
	// onFetch runs when a FetchProspect starts.
	onFetch func()
	// fetchDelay is how long (test time) each FetchProspect takes.
	fetchDelay time.Duration
}

func newWorld(p prospect.Prospect) *world {
	return &world{p: p, found: true, calls: map[string]int{}}
}

func (w *world) count(name string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[name]
}

func (w *world) update(f func(p *prospect.Prospect)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(&w.p)
	w.p.UpdatedAt = w.p.UpdatedAt.Add(time.Second)
}

type suite struct {
	testsuite.WorkflowTestSuite
}

func newEnv(t *testing.T, w *world, rules prospect.Settings) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	s := DefaultSyncSettings()
	s.Settings = rules
	return newEnvWith(t, w, s)
}

// newEnvWith is newEnv with the Temporal knobs too.
func newEnvWith(t *testing.T, w *world, s SyncSettings) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var ts suite
	ts.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(ProspectSync, workflow.RegisterOptions{Name: ProspectSyncWorkflow})
	env.RegisterActivityWithOptions(SettingsLoader(s), activity.RegisterOptions{Name: LoadSettingsActivity})
	var a *activities.Activities
	env.RegisterActivity(a)
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "FetchProspect" {
			w.mu.Lock()
			w.fetchTime = append(w.fetchTime, env.Now())
			hook := w.onFetch
			w.mu.Unlock()
			if hook != nil {
				hook()
			}
		}
	})
	env.OnActivity(a.FetchProspect, mock.Anything, mock.Anything).After(w.fetchDelay).Return(
		func(ctx context.Context, in activities.FetchProspectInput) (activities.FetchProspectResult, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.calls["FetchProspect"]++
			return activities.FetchProspectResult{Found: w.found, Prospect: w.p}, nil
		})
	env.OnActivity(a.FindMatches, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FindMatchesInput) (activities.FindMatchesResult, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.calls["FindMatches"]++
			var m prospect.Matches
			email := prospect.NormalizeEmail(in.Email)
			for _, l := range w.leads {
				if prospect.NormalizeEmail(l.Email) == email {
					m.Leads = append(m.Leads, l)
				}
				if l.ID == in.LinkedID {
					m.Linked = new(l)
				}
			}
			for _, c := range w.contacts {
				if prospect.NormalizeEmail(c.Email) == email {
					m.Contacts = append(m.Contacts, c)
				}
				if c.ID == in.LinkedID {
					m.Linked = new(c)
				}
			}
			m.LinkedGone = in.LinkedID != "" && m.Linked == nil
			return activities.FindMatchesResult{Matches: m}, nil
		})
	env.OnActivity(a.CreateLead, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CreateLeadInput) (activities.CreateLeadResult, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.calls["CreateLead"]++
			if err := w.createErr; err != nil {
				w.createErr = nil
				return activities.CreateLeadResult{}, err
			}
			w.nextID++
			owner := in.OwnerID
			if in.UseAssignmentRule {
				owner = queue
			} else if owner == "" {
				owner = "005000000000000INT"
			}
			rec := prospect.Record{Type: prospect.TypeLead, ID: fmt.Sprintf("00Q%015d", w.nextID), Email: in.Email, OwnerID: owner, Fields: in.Fields}
			w.leads = append(w.leads, rec)
			return activities.CreateLeadResult{Record: rec}, nil
		})
	env.OnActivity(a.UpdateRecord, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.UpdateRecordInput) (activities.UpdateRecordResult, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.calls["UpdateRecord"]++
			return activities.UpdateRecordResult{}, nil
		})
	env.OnActivity(a.WriteBack, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.WriteBackInput) (activities.WriteBackResult, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.calls["WriteBack"]++
			if err := w.writeBackErr; err != nil {
				w.writeBackErr = nil
				return activities.WriteBackResult{}, err
			}
			for k, v := range in.Fields {
				w.p.Set(k, v)
			}
			if in.AssignOwnerID == alice {
				w.p.AssignedUserID, w.p.AssignedUserSalesforceID = 7, alice
			}
			w.p.UpdatedAt = w.p.UpdatedAt.Add(time.Second)
			return activities.WriteBackResult{AssignedUserID: w.p.AssignedUserID}, nil
		})
	env.OnActivity(a.ArchiveProspect, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ArchiveInput) (activities.ArchiveResult, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.calls["ArchiveProspect"]++
			w.p.Deleted = true
			w.p.UpdatedAt = w.p.UpdatedAt.Add(time.Second)
			return activities.ArchiveResult{}, nil
		})
	env.OnActivity(a.UnarchiveProspect, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ArchiveInput) (activities.ArchiveResult, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.calls["UnarchiveProspect"]++
			w.p.Deleted = false
			w.p.UpdatedAt = w.p.UpdatedAt.Add(time.Second)
			return activities.ArchiveResult{Prospect: w.p}, nil
		})
	return env
}

func syncStatus(t *testing.T, env *testsuite.TestWorkflowEnvironment) SyncStatus {
	t.Helper()
	v, err := env.QueryWorkflow(QuerySyncState)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	var st SyncStatus
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// result is how the run ended. A sync that went quiet (idle, keeping its link) never ends: the
// test environment, with nothing left to happen, skips to the run's timeout, and the result is
// the sync's state then.
func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) ProspectSyncResult {
	t.Helper()
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); temporal.IsTimeoutError(err) {
		return ProspectSyncResult{Status: syncStatus(t, env)}
	} else if err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	var r ProspectSyncResult
	if err := env.GetWorkflowResult(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// A Synced sync goes quiet when it idles out: it keeps running (its link lives nowhere else)
// with no timer at all, until the test environment's years-long run timeout. By default it
// re-checks nothing meanwhile (the Salesforce change feed reports changes); with
// SYNC_RECHECK_INTERVAL set it re-checks both sides daily until then.
func TestCreateLeadThenQuietWhenIdle(t *testing.T) {
	for _, tc := range []struct {
		name     string
		recheck  time.Duration
		rechecks int
	}{
		{"default: no re-checks", 0, 0},
		// Days 1..7: the idle timeout is due at day 7, no earlier than the 7th re-check.
		{"daily re-checks", 24 * time.Hour, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(newProspect(assignedTo(bob)))
			s := prospect.DefaultSettings()
			s.RecheckInterval = tc.recheck
			env := newEnv(t, w, s)
			env.ExecuteWorkflow(ProspectSyncWorkflow, ProspectSyncInput{ProspectID: 1001})
			r := result(t, env)
			if !temporal.IsTimeoutError(env.GetWorkflowError()) {
				t.Errorf("run ended with %v, want it still waiting (quiet) when the test's time ran out", env.GetWorkflowError())
			}
			if r.Status.State != prospect.StateSynced || r.Status.CRMRecordType != prospect.TypeLead || r.Status.OwnerID != bob {
				t.Fatalf("status = %+v, want Synced to a Lead owned by Bob", r.Status)
			}
			if got := w.count("CreateLead"); got != 1 {
				t.Errorf("CreateLead calls = %d, want 1", got)
			}
			// The link stays in the sync's state (Account Engagement's CRM ids are read-only), and
			// the Lead's owner is the assigned user already: nothing to write back.
			if got := w.count("WriteBack"); got != 0 {
				t.Errorf("WriteBack calls = %d, want 0", got)
			}
			// One lookup before the create and one per re-check, each reading the prospect and
			// looking at Salesforce again; none after, however long the sync stays quiet.
			if got := w.count("FindMatches"); got != 1+tc.rechecks {
				t.Errorf("FindMatches calls = %d, want %d: the lookup before the create and %d re-checks", got, 1+tc.rechecks, tc.rechecks)
			}
			if got := w.count("FetchProspect"); got != 1+tc.rechecks {
				t.Errorf("FetchProspect calls = %d, want %d: the first read and %d re-checks", got, 1+tc.rechecks, tc.rechecks)
			}
		})
	}
}

func TestMonthLongWaitEndedBySignal(t *testing.T) {
	w := newWorld(newProspect())
	s := prospect.DefaultSettings()
	env := newEnv(t, w, s)
	var waiting SyncStatus
	var waitingLookups, waitingReads int
	env.RegisterDelayedCallback(func() {
		waiting = syncStatus(t, env)
		waitingLookups, waitingReads = w.count("FindMatches"), w.count("FetchProspect")
		w.update(func(p *prospect.Prospect) { p.AssignedUserID, p.AssignedUserSalesforceID = 7, alice })
		env.SignalWorkflow(SignalProspectChanged, nil)
	}, 45*24*time.Hour)
	env.ExecuteWorkflow(ProspectSyncWorkflow, ProspectSyncInput{ProspectID: 1001})
	if waiting.State != prospect.StateWaitingForAssignment || waiting.WaitingFor == "" {
		t.Fatalf("after 45 days status = %+v, want WaitingForAssignment", waiting)
	}
	r := result(t, env)
	if r.Status.State != prospect.StateSynced || r.Status.OwnerID != alice {
		t.Fatalf("status = %+v, want Synced owned by Alice", r.Status)
	}
	if got := w.count("CreateLead"); got != 1 {
		t.Errorf("CreateLead calls = %d, want 1", got)
	}
	// While waiting, weekly rechecks read Account Engagement only: the first read and the
	// rechecks of days 7, 14, ..., 42, and no Salesforce lookup.
	if waitingLookups != 0 || waitingReads != 1+6 {
		t.Errorf("during 45 days of waiting: %d FindMatches, %d FetchProspect calls, want 0 and 7: waiting should not query Salesforce", waitingLookups, waitingReads)
	}
	// After the signal: one lookup before the create, and no re-checks of the Synced prospect.
	if got := w.count("FindMatches"); got != 1 {
		t.Errorf("FindMatches calls = %d, want 1: none while waiting, 1 after the signal, no re-checks once Synced", got)
	}
}

func TestDataErrorFixedByLaterChange(t *testing.T) {
	w := newWorld(newProspect(assignedTo(bob)))
	w.createErr = temporal.NewNonRetryableApplicationError("bad", activities.ErrTypeDataError, errors.New("bad"),
		prospect.SyncError{Code: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: "Phone must have 10 digits"})
	env := newEnv(t, w, prospect.DefaultSettings())
	var failed SyncStatus
	env.RegisterDelayedCallback(func() {
		failed = syncStatus(t, env)
		w.update(func(p *prospect.Prospect) { p.Phone = "5551234567" })
		env.SignalWorkflow(SignalProspectChanged, nil)
	}, 3*time.Hour)
	env.ExecuteWorkflow(ProspectSyncWorkflow, ProspectSyncInput{ProspectID: 1001})
	if failed.State != prospect.StateSyncError || failed.LastError == nil || failed.LastError.Code != "FIELD_CUSTOM_VALIDATION_EXCEPTION" {
		t.Fatalf("status after the error = %+v, want prospect.SyncError FIELD_CUSTOM_VALIDATION_EXCEPTION", failed)
	}
	r := result(t, env)
	if r.Status.State != prospect.StateSynced || r.Status.LastError != nil {
		t.Fatalf("status = %+v, want Synced without error", r.Status)
	}
	if got := w.count("CreateLead"); got != 2 {
		t.Errorf("CreateLead calls = %d, want 2 (failed, then fixed)", got)
	}
}

func TestActiveAssignmentRuleSignalToQueue(t *testing.T) {
	w := newWorld(newProspect())
	env := newEnv(t, w, prospect.DefaultSettings())
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalUseActiveAssignmentRule, nil) }, time.Hour)
	env.ExecuteWorkflow(ProspectSyncWorkflow, ProspectSyncInput{ProspectID: 1001})
	r := result(t, env)
	if r.Status.State != prospect.StateSynced || r.Status.OwnerID != queue || r.Status.AssignedUserID != 0 {
		t.Fatalf("status = %+v, want Synced to a queue-owned Lead, prospect unassigned", r.Status)
	}
}

func TestUnknownProspectEnds(t *testing.T) {
	w := newWorld(newProspect())
	w.found = false
	env := newEnv(t, w, prospect.DefaultSettings())
	env.ExecuteWorkflow(ProspectSyncWorkflow, ProspectSyncInput{ProspectID: 999})
	r := result(t, env)
	if r.Status.State != prospect.StateSyncError || r.Status.LastError == nil || r.Status.LastError.Code != prospect.CodeProspectNotFound {
		t.Fatalf("status = %+v, want prospect.SyncError PROSPECT_NOT_FOUND", r.Status)
	}
	if got := w.count("FetchProspect"); got != 1 {
		t.Errorf("FetchProspect calls = %d, want 1 (no hot loop)", got)
	}
}

// A linked record deleted in Salesforce flags the prospect, and nothing recreates it: not the
// sync idling out (it goes quiet, keeping the flag only it holds), not a change in AE.
func TestLinkedRecordDeletedIsNeverRecreated(t *testing.T) {
	w := newWorld(newProspect(assignedTo(alice)))
	s := prospect.DefaultSettings()
	s.RecheckInterval = 0
	env := newEnv(t, w, s)
	env.RegisterDelayedCallback(func() {
		w.mu.Lock()
		w.leads = nil // deleted in Salesforce
		w.mu.Unlock()
		env.SignalWorkflow(SignalProspectChanged, ChangeRequest{Resync: true})
	}, time.Hour)
	var deleted SyncStatus
	env.RegisterDelayedCallback(func() {
		deleted = syncStatus(t, env)
		w.update(func(p *prospect.Prospect) { p.Phone = "555" }) // a change in AE does not clear the flag
		env.SignalWorkflow(SignalProspectChanged, nil)
	}, 30*24*time.Hour) // long after the idle timeout
	env.ExecuteWorkflow(ProspectSyncWorkflow, ProspectSyncInput{ProspectID: 1001})
	r := result(t, env)
	if !temporal.IsTimeoutError(env.GetWorkflowError()) {
		t.Fatalf("a sync holding a deleted record's flag ended (%v): a later start would recreate the record", env.GetWorkflowError())
	}
	if deleted.State != prospect.StateCRMDeleted || deleted.CRMRecordID == "" || r.Status.State != prospect.StateCRMDeleted {
		t.Fatalf("status = %+v, then %+v: want CrmDeleted naming the deleted Lead", deleted, r.Status)
	}
	// The lookup before the create and the re-sync's; none after the flag.
	if w.count("FindMatches") != 2 || w.count("CreateLead") != 1 || w.count("WriteBack") != 0 {
		t.Fatalf("calls = %v: want 2 lookups, 1 create, nothing written to AE", w.calls)
	}
}

// With SYNC_SALESFORCE_DELETES=archive a deleted record sends its prospect to Account
// Engagement's recycle bin, where the sync keeps it (it does not end, as for a prospect deleted
// in Account Engagement); the record's restore brings the prospect back and relinks.
func TestArchiveOnDeleteUnarchiveOnRestore(t *testing.T) {
	w := newWorld(newProspect(assignedTo(alice)))
	s := prospect.DefaultSettings()
	s.RecheckInterval, s.SalesforceDeletes = 0, prospect.DeletesArchive
	env := newEnv(t, w, s)
	var lead []prospect.Record
	var archived, stillArchived SyncStatus
	env.RegisterDelayedCallback(func() {
		w.mu.Lock()
		lead, w.leads = w.leads, nil // deleted in Salesforce
		w.mu.Unlock()
		env.SignalWorkflow(SignalProspectChanged, ChangeRequest{Resync: true, CRM: true})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		archived = syncStatus(t, env)
		env.SignalWorkflow(SignalProspectChanged, nil) // the change feed reports the archive
	}, 2*time.Hour)
	env.RegisterDelayedCallback(func() {
		stillArchived = syncStatus(t, env)
		w.mu.Lock()
		w.leads = lead // restored from the recycle bin
		w.mu.Unlock()
		env.SignalWorkflow(SignalProspectChanged, ChangeRequest{Resync: true, CRM: true})
	}, 3*time.Hour)
	env.ExecuteWorkflow(ProspectSyncWorkflow, ProspectSyncInput{ProspectID: 1001})
	r := result(t, env)
	if archived.State != prospect.StateCRMDeleted || archived.Link == nil || !archived.Link.Archived || stillArchived.State != prospect.StateCRMDeleted {
		t.Fatalf("after the delete %+v, after the archive's feed signal %+v: want CrmDeleted, archived", archived, stillArchived)
	}
	if r.Status.State != prospect.StateSynced || r.Status.CRMRecordID != lead[0].ID {
		t.Fatalf("after the restore %+v: want Synced with %s", r.Status, lead[0].ID)
	}
	if w.count("ArchiveProspect") != 1 || w.count("UnarchiveProspect") != 1 || w.count("CreateLead") != 1 || w.p.Deleted {
		t.Fatalf("calls %v, prospect deleted %v: want one archive, one unarchive, no second Lead", w.calls, w.p.Deleted)
	}
}

// A person allows the record to be recreated: the flag clears and the prospect syncs again.
func TestAllowRecreateClearsCrmDeleted(t *testing.T) {
	w := newWorld(newProspect(assignedTo(alice)))
	s := prospect.DefaultSettings()
	s.RecheckInterval = 0
	env := newEnv(t, w, s)
	var first, before SyncStatus
	env.RegisterDelayedCallback(func() {
		first = syncStatus(t, env)
		w.mu.Lock()
		w.leads = nil
		w.mu.Unlock()
		env.SignalWorkflow(SignalProspectChanged, ChangeRequest{Resync: true})
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		before = syncStatus(t, env)
		env.SignalWorkflow(SignalProspectChanged, ChangeRequest{AllowRecreate: true})
	}, 2*time.Hour)
	env.ExecuteWorkflow(ProspectSyncWorkflow, ProspectSyncInput{ProspectID: 1001})
	r := result(t, env)
	if before.State != prospect.StateCRMDeleted || w.count("FindMatches") != 3 || w.count("CreateLead") != 2 {
		t.Fatalf("before %+v, calls %v: want CrmDeleted, then a lookup and a second create", before, w.calls)
	}
	if r.Status.State != prospect.StateSynced || r.Status.CRMRecordID == first.CRMRecordID || r.Status.CRMRecordID == "" {
		t.Fatalf("status = %+v, want Synced to a new Lead (not %s)", r.Status, first.CRMRecordID)
	}
}

// An explicit re-sync re-reads Salesforce although Account Engagement reports no change; a
// signal without a request (the change feed's) for an unchanged prospect costs nothing.
func TestResyncReadsSalesforceAgain(t *testing.T) {
	w := newWorld(newProspect(assignedTo(bob)))
	s := prospect.DefaultSettings()
	s.RecheckInterval = 0
	env := newEnv(t, w, s)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalProspectChanged, nil) }, time.Hour)
	env.RegisterDelayedCallback(func() {
		w.mu.Lock()
		w.leads = nil // the Lead was deleted in Salesforce
		w.mu.Unlock()
		env.SignalWorkflow(SignalProspectChanged, ChangeRequest{Resync: true})
	}, 2*time.Hour)
	env.ExecuteWorkflow(ProspectSyncWorkflow, ProspectSyncInput{ProspectID: 1001})
	r := result(t, env)
	if r.Status.State != prospect.StateCRMDeleted {
		t.Fatalf("status = %+v, want CrmDeleted after the re-sync", r.Status)
	}
	// The lookup before the create, none for the plain signal, one for the re-sync.
	if got := w.count("FindMatches"); got != 2 {
		t.Errorf("FindMatches = %d, want 2", got)
	}
}

// With re-checks on (SYNC_RECHECK_INTERVAL), an owner changed in Salesforce flows back at the
// next one; by default the Salesforce change feed signals the sync instead (crm_feed_test.go).
func TestOwnerChangedInSalesforceFlowsBack(t *testing.T) {
	w := newWorld(newProspect(assignedTo(bob)))
	s := prospect.DefaultSettings()
	s.RecheckInterval = 24 * time.Hour
	env := newEnv(t, w, s)
	env.RegisterDelayedCallback(func() {
		w.mu.Lock()
		w.leads[0].OwnerID = alice
		w.mu.Unlock()
	}, 12*time.Hour)
	env.ExecuteWorkflow(ProspectSyncWorkflow, ProspectSyncInput{ProspectID: 1001})
	r := result(t, env)
	if r.Status.OwnerID != alice || w.p.AssignedUserSalesforceID != alice {
		t.Fatalf("status = %+v, prospect = %+v: want Alice as owner and assigned user", r.Status, w.p)
	}
}

func TestContinueAsNewWaitsForPendingSignals(t *testing.T) {
	w := newWorld(newProspect())
	s := prospect.DefaultSettings()
	s.WaitRecheckInterval = time.Hour
	w.fetchDelay = time.Minute // a signal arrives in the middle of every hourly fetch
	env := newEnv(t, w, s)
	// The test environment keeps no history length; have the "server" suggest continue-as-new.
	env.RegisterDelayedCallback(func() { env.SetContinueAsNewSuggested(true) }, 4*time.Hour+30*time.Minute)
	var lastSignal time.Time
	start := env.Now()
	w.onFetch = func() {
		if env.Now().Sub(start) < 24*time.Hour {
			env.RegisterDelayedCallback(func() {
				lastSignal = env.Now()
				env.SignalWorkflow(SignalProspectChanged, nil)
			}, 30*time.Second)
		}
	}
	env.ExecuteWorkflow(ProspectSyncWorkflow, ProspectSyncInput{ProspectID: 1001})
	var can *workflow.ContinueAsNewError
	if !errors.As(env.GetWorkflowError(), &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", env.GetWorkflowError())
	}
	var next ProspectSyncInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Carry == nil || next.Carry.Status.State != prospect.StateWaitingForAssignment || next.ProspectID != 1001 {
		t.Fatalf("carried input = %+v, want the waiting state", next)
	}
	w.mu.Lock()
	lastFetch := w.fetchTime[len(w.fetchTime)-1]
	w.mu.Unlock()
	if lastSignal.IsZero() || lastFetch.Before(lastSignal) {
		t.Fatalf("continued as new at %v with the signal of %v unhandled (last fetch %v)", env.Now(), lastSignal, lastFetch)
	}
}

// TestYearOfWaitingStaysBounded time-skips a year of a prospect waiting for assignment with a
// daily re-check. The test environment keeps no history, so the test counts the events each
// step adds (the same numbers the server records) and reports them as the history length; the
// workflow must continue as new before its history passes MaxHistoryEvents, never query
// Salesforce while waiting, and carry its state from run to run.
func TestYearOfWaitingStaysBounded(t *testing.T) {
	w := newWorld(newProspect())
	s := DefaultSyncSettings()
	s.WaitRecheckInterval = 24 * time.Hour
	s.MaxHistoryEvents = 500
	const year = 365 * 24 * time.Hour
	in := ProspectSyncInput{ProspectID: 1001}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	runs, maxLen := 0, 0
	for now.Sub(start) < year {
		runs++
		env := newEnvWith(t, w, s)
		env.SetStartTime(now)
		// WorkflowExecutionStarted, WorkflowTaskScheduled/Started/Completed.
		length := 4
		add := func(n int) {
			length += n
			maxLen = max(maxLen, length)
			env.SetCurrentHistoryLength(length)
		}
		// Scheduled, Started, Completed + the workflow task that handles it (3).
		env.SetOnActivityCompletedListener(func(*activity.Info, converter.EncodedValue, error) { add(6) })
		// MarkerRecorded for the settings.
		env.SetOnLocalActivityCompletedListener(func(*activity.Info, converter.EncodedValue, error) { add(1) })
		// TimerStarted, TimerFired + the workflow task (3).
		env.SetOnTimerFiredListener(func(string) { add(5) })
		env.ExecuteWorkflow(ProspectSyncWorkflow, in)
		var can *workflow.ContinueAsNewError
		if !errors.As(env.GetWorkflowError(), &can) {
			t.Fatalf("run %d ended with %v, want continue-as-new", runs, env.GetWorkflowError())
		}
		in = ProspectSyncInput{}
		if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &in); err != nil {
			t.Fatal(err)
		}
		if in.Carry == nil || in.Carry.Status.State != prospect.StateWaitingForAssignment {
			t.Fatalf("run %d carried %+v, want the waiting state", runs, in.Carry)
		}
		now = env.Now()
	}
	// A run continues as new at the first check past MaxHistoryEvents (500). Every run starts
	// with 5 events (started, first workflow task, settings marker) and each daily recheck adds
	// 11 (timer 5, read 6). The first run also reads at once (6): 11 + 11k passes 500 at 506,
	// its 46th read (day 45). A carried run waits first: 5 + 11k passes 500 at 511, its 46th
	// read, 46 days after it started.
	if maxLen != 511 {
		t.Errorf("a run reached %d events, want 511: continued as new at the first recheck past %d", maxLen, s.MaxHistoryEvents)
	}
	// Runs end at days 45, 91, ..., 367: the 8th is the first to end at or after a year.
	if runs != 8 {
		t.Errorf("%d runs in a year, want 8", runs)
	}
	if got := w.count("FindMatches"); got != 0 {
		t.Errorf("%d Salesforce lookups while waiting, want 0", got)
	}
	// One read a day, days 0 to 367.
	if got := w.count("FetchProspect"); got != 368 {
		t.Errorf("%d Account Engagement reads in a year of daily re-checks, want 368 (days 0..367)", got)
	}
}

func TestProspectDeletedDuringSyncEnds(t *testing.T) {
	// A matching Lead owned by Alice: the owner flows back, and that write finds the prospect gone.
	w := newWorld(newProspect(assignedTo(bob)))
	w.leads = []prospect.Record{{Type: prospect.TypeLead, ID: leadA, Email: w.p.Email, OwnerID: alice, Fields: map[string]string{}}}
	w.writeBackErr = temporal.NewNonRetryableApplicationError("gone", activities.ErrTypeProspectGone, errors.New("404"))
	env := newEnv(t, w, prospect.DefaultSettings())
	env.ExecuteWorkflow(ProspectSyncWorkflow, ProspectSyncInput{ProspectID: 1001})
	r := result(t, env)
	if r.Status.State != prospect.StateSyncError || r.Status.LastError == nil || r.Status.LastError.Code != prospect.CodeProspectDeleted {
		t.Fatalf("status = %+v, want the sync ended with PROSPECT_DELETED", r.Status)
	}
}

func TestUnexpectedFailureIsShownNotFatal(t *testing.T) {
	w := newWorld(newProspect(assignedTo(bob)))
	w.createErr = temporal.NewNonRetryableApplicationError("boom", "SomethingNew", errors.New("boom"))
	env := newEnv(t, w, prospect.DefaultSettings())
	var failed SyncStatus
	env.RegisterDelayedCallback(func() {
		failed = syncStatus(t, env)
		w.update(func(p *prospect.Prospect) { p.Phone = "1" })
		env.SignalWorkflow(SignalProspectChanged, nil)
	}, time.Hour)
	env.ExecuteWorkflow(ProspectSyncWorkflow, ProspectSyncInput{ProspectID: 1001})
	if failed.State != prospect.StateSyncError || failed.LastError == nil || failed.LastError.Code != prospect.CodeSyncFailed {
		t.Fatalf("status after the failure = %+v, want prospect.SyncError SYNC_FAILED", failed)
	}
	if r := result(t, env); r.Status.State != prospect.StateSynced {
		t.Fatalf("status = %+v, want Synced after the next change", r.Status)
	}
}

package workflows

import (
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/prospect"
)

// A sync handed a newer snapshot and fresh matches by the change feed acts on them: no read of
// its own in Account Engagement, no lookup in Salesforce. A snapshot no newer than what it has
// seen, or matches too old to create on, are read again.
func TestHandoffSavesReadsAndLookups(t *testing.T) {
	for _, tc := range []struct {
		name           string
		age            time.Duration // of the hand-off when the sync gets it
		newer          bool          // the snapshot is newer than the version the sync saw
		reads, lookups int           // after the hand-off
	}{
		{"fresh and newer", 0, true, 0, 0},
		{"matches too old", handoffMaxAge + time.Minute, true, 0, 1},
		{"snapshot not newer: read and look up again", 0, false, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(newProspect(assignedTo(bob)))
			lead := prospect.Record{Type: prospect.TypeLead, ID: "00Q000000000000777", Email: "ann@example.com", OwnerID: bob,
				Fields: map[string]string{"FirstName": "Ann", "LastName": "Lee", "Company": "Acme"}}
			w.leads = append(w.leads, lead)
			env := newEnv(t, w, prospect.DefaultSettings())
			var reads, lookups int
			env.RegisterDelayedCallback(func() {
				reads, lookups = w.count("FetchProspect"), w.count("FindMatches")
				snap := newProspect(assignedTo(bob))
				snap.LastName = "Lee-Smith"
				if tc.newer {
					snap.UpdatedAt = t0.Add(time.Hour)
				} else {
					// The same second as the version seen: might be the older of the two.
					w.update(func(p *prospect.Prospect) { p.LastName = "Lee-Smith" })
					snap.UpdatedAt = t0
				}
				linked := lead
				env.SignalWorkflow(SignalProspectChanged, ChangeRequest{Handoff: &activities.Handoff{Prospect: snap, At: env.Now().Add(-tc.age),
					Matches: &prospect.Matches{Leads: []prospect.Record{linked}}}})
			}, time.Hour)
			env.ExecuteWorkflow(ProspectSyncWorkflow, ProspectSyncInput{ProspectID: 1001})
			r := result(t, env)
			if reads != 1 || lookups != 1 {
				t.Fatalf("before the hand-off: %d reads, %d lookups, want 1 and 1", reads, lookups)
			}
			if got := w.count("FetchProspect") - reads; got != tc.reads {
				t.Errorf("reads after the hand-off = %d, want %d", got, tc.reads)
			}
			if got := w.count("FindMatches") - lookups; got != tc.lookups {
				t.Errorf("lookups after the hand-off = %d, want %d", got, tc.lookups)
			}
			if got := w.count("UpdateRecord"); got != 1 || r.Status.CRMRecordID != lead.ID {
				t.Errorf("UpdateRecord calls = %d, status %+v: want the new last name written to the linked Lead once", got, r.Status)
			}
		})
	}
}

// Pending requests merge to what they ask together, keeping the newest hand-off.
func TestChangeRequestMergeKeepsNewestHandoff(t *testing.T) {
	older := &activities.Handoff{Prospect: prospect.Prospect{ID: 1, UpdatedAt: t0}}
	newer := &activities.Handoff{Prospect: prospect.Prospect{ID: 1, UpdatedAt: t0.Add(time.Second)}}
	got := ChangeRequest{Handoff: newer}.Merge(ChangeRequest{Resync: true, Handoff: older})
	if got.Handoff != newer || !got.Resync {
		t.Fatalf("merge = %+v, want the newer hand-off and Resync", got)
	}
	if got := (ChangeRequest{}).Merge(ChangeRequest{Handoff: older}); got.Handoff != older {
		t.Fatalf("merge = %+v, want the only hand-off", got)
	}
	// Pending with a person's request (or a plain change signal), a feed's re-sync reads too.
	if got := (ChangeRequest{Resync: true, CRM: true}).Merge(ChangeRequest{Resync: true}); got.CRM {
		t.Fatalf("merge = %+v, want CRM only when every request is", got)
	}
}

// A sync held back for API budget shows the wait with its figures, keeps its state and tries
// again after the wait: the create happens once, a minute later.
func TestBudgetWaitShowsAndRetries(t *testing.T) {
	w := newWorld(newProspect(assignedTo(bob)))
	reason := "Salesforce API budget: 90000 of 100000 daily calls used, 10% kept for the org's other integrations; trying again in 1m0s"
	w.createErr = temporal.NewNonRetryableApplicationError("waiting for "+reason, activities.ErrTypeBudgetWait, nil,
		activities.BudgetWait{Reason: reason, RetryIn: time.Minute})
	env := newEnv(t, w, prospect.DefaultSettings())
	var during SyncStatus
	var creates int
	env.RegisterDelayedCallback(func() {
		during = syncStatus(t, env)
		creates = w.count("CreateLead")
	}, 30*time.Second)
	env.ExecuteWorkflow(ProspectSyncWorkflow, ProspectSyncInput{ProspectID: 1001})
	r := result(t, env)
	if during.WaitingFor != reason || during.State != prospect.StateEvaluating || during.LastError != nil || creates != 1 {
		t.Fatalf("while waiting: %+v after %d creates, want Evaluating, waiting for the budget with the figures, no error", during, creates)
	}
	if r.Status.State != prospect.StateSynced || r.Status.WaitingFor != "" || w.count("CreateLead") != 2 {
		t.Fatalf("after the wait: %+v after %d creates, want Synced on the second attempt", r.Status, w.count("CreateLead"))
	}
}

// A re-sync from the Salesforce change feed looks Salesforce up again but takes the prospect as
// last seen (its own write reported back costs no Account Engagement call); a person's re-sync
// reads Account Engagement too.
func TestCRMResyncUsesProspectAsLastSeen(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reqs  []ChangeRequest
		reads int
	}{
		{"from the feed", []ChangeRequest{{Resync: true, CRM: true}}, 0},
		{"from a person", []ChangeRequest{{Resync: true}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(newProspect(assignedTo(bob)))
			env := newEnv(t, w, prospect.DefaultSettings())
			var reads, lookups int
			env.RegisterDelayedCallback(func() {
				reads, lookups = w.count("FetchProspect"), w.count("FindMatches")
				for _, r := range tc.reqs {
					env.SignalWorkflow(SignalProspectChanged, r)
				}
			}, time.Hour)
			env.ExecuteWorkflow(ProspectSyncWorkflow, ProspectSyncInput{ProspectID: 1001})
			r := result(t, env)
			if got := w.count("FetchProspect") - reads; got != tc.reads {
				t.Errorf("reads after the re-sync = %d, want %d", got, tc.reads)
			}
			if got := w.count("FindMatches") - lookups; got != 1 {
				t.Errorf("lookups after the re-sync = %d, want 1", got)
			}
			if r.Status.State != prospect.StateSynced || r.Status.OwnerID != bob {
				t.Errorf("status %+v, want still Synced to Bob's Lead", r.Status)
			}
		})
	}
}

// The change feed hands over the very version the sync already synced (same updatedAt second,
// same fingerprint): no read, no lookup, no decision. Another version in the same second is
// still read.
func TestHandoffOfSeenVersionCostsNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		same  bool
		reads int
	}{{"the version already synced", true, 0}, {"another version in the same second", false, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(newProspect(assignedTo(bob)))
			env := newEnv(t, w, prospect.DefaultSettings())
			var reads, lookups int
			var before SyncStatus
			env.RegisterDelayedCallback(func() {
				reads, lookups, before = w.count("FetchProspect"), w.count("FindMatches"), syncStatus(t, env)
				w.mu.Lock()
				snap := w.p // as the sync's own write left it
				w.mu.Unlock()
				if !tc.same {
					snap.Phone = "555-0100"
				}
				env.SignalWorkflow(SignalProspectChanged, ChangeRequest{Handoff: &activities.Handoff{Prospect: snap, At: env.Now()}})
			}, time.Hour)
			env.ExecuteWorkflow(ProspectSyncWorkflow, ProspectSyncInput{ProspectID: 1001})
			r := result(t, env)
			if got := w.count("FetchProspect") - reads; got != tc.reads {
				t.Errorf("reads after the hand-off = %d, want %d", got, tc.reads)
			}
			if tc.same && (w.count("FindMatches") != lookups || len(r.Status.History) != len(before.History)) {
				t.Errorf("the seen version cost %d lookups and history %v, want none", w.count("FindMatches")-lookups, r.Status.History)
			}
		})
	}
}

//go:build !nodev

package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// A live org changes on both sides. Every change "in Salesforce" here is a person's (Alice,
// through the API with her own token, or the emulator's control operations, which stand for
// Salesforce's UI and are attributed to her), never the integration user's. Each test asserts
// the records per email in Salesforce and the sync's state.

// syncedWithLead creates a prospect assigned to Bob and waits until its sync created its Lead.
func syncedWithLead(t *testing.T, email string, extra map[string]any) (int64, workflows.SyncStatus) {
	t.Helper()
	fields := map[string]any{"email": email, "lastName": "Both", "company": "Acme", "userId": emulator.AEUserBob}
	for k, v := range extra {
		fields[k] = v
	}
	p, err := testAE.CreateProspect(context.Background(), fields)
	if err != nil {
		t.Fatal(err)
	}
	startSync(t, workflows.SignalProspectChanged, p.ID)
	st := waitStatus(t, p.ID, func(st workflows.SyncStatus) bool { return st.State == prospect.StateSynced && st.CRMRecordID != "" })
	if st.Base == nil || !strings.EqualFold(st.Base.Email, email) || !strings.EqualFold(st.Base.RecordEmail, email) {
		t.Fatalf("prospect %d synced with base %+v: want both sides' email %s", p.ID, st.Base, email)
	}
	return p.ID, st
}

// crmChanged signals a sync as the Salesforce change feed does for a person's change.
func crmChanged(t *testing.T, id int64) {
	t.Helper()
	request(t, id, workflows.ChangeRequest{Resync: true, CRM: true})
}

// wantLeads fails unless Salesforce has exactly n live Leads with the email.
func wantLeads(t *testing.T, email string, n int) {
	t.Helper()
	if got := leadsByEmail(t, email); len(got) != n {
		t.Errorf("%d live Leads with %s, want %d: %v", len(got), email, n, got)
	}
}

// A person fixes the Lead's email in Salesforce: the prospect's email follows, and there is
// still exactly one Lead, the one the person corrected.
func TestEmailFixedInSalesforceIsFollowed(t *testing.T) {
	ctx := context.Background()
	old, fixed := unique("typo@exmaple.com"), unique("fixed@example.com")
	id, st := syncedWithLead(t, old, nil)
	if err := testPerson.Update(ctx, prospect.TypeLead, st.CRMRecordID, map[string]any{"Email": fixed}); err != nil {
		t.Fatal(err)
	}
	crmChanged(t, id)
	after := waitStatus(t, id, func(s workflows.SyncStatus) bool {
		return s.State == prospect.StateSynced && s.Base != nil && strings.EqualFold(s.Base.Email, fixed)
	})
	if after.CRMRecordID != st.CRMRecordID {
		t.Errorf("linked %s, want the corrected Lead %s", after.CRMRecordID, st.CRMRecordID)
	}
	if got := prospectOf(t, id).Email; !strings.EqualFold(got, fixed) {
		t.Errorf("prospect email %q, want %q: it follows the record", got, fixed)
	}
	wantLeads(t, fixed, 1)
	wantLeads(t, old, 0)
	// Nothing moves on the next sync: the new base is in step.
	request(t, id, workflows.ChangeRequest{Resync: true})
	waitStatus(t, id, func(s workflows.SyncStatus) bool {
		return len(s.History) > len(after.History) || s.History[len(s.History)-1].Time.After(after.History[len(after.History)-1].Time)
	})
	wantLeads(t, fixed, 1)
	wantLeads(t, old, 0)
}

// The record's new email is another prospect's: this prospect stops syncing with it, named and
// never recreated, and the other prospect's sync matches the record.
func TestEmailFixedToAnotherProspectsEmail(t *testing.T) {
	ctx := context.Background()
	mine, theirs := unique("mine@example.com"), unique("theirs@example.com")
	id, st := syncedWithLead(t, mine, nil)
	other, err := testAE.CreateProspect(ctx, map[string]any{"email": theirs, "lastName": "Other", "company": "Acme", "userId": emulator.AEUserAlice})
	if err != nil {
		t.Fatal(err)
	}
	if err := testPerson.Update(ctx, prospect.TypeLead, st.CRMRecordID, map[string]any{"Email": theirs}); err != nil {
		t.Fatal(err)
	}
	crmChanged(t, id)
	stopped := waitStatus(t, id, inState(prospect.StateCRMDeleted))
	if reason := stopped.History[len(stopped.History)-1].Reason; !strings.Contains(reason, fmt.Sprintf("prospect %d", other.ID)) {
		t.Errorf("reason %q: want the other prospect named", reason)
	}
	if stopped.CRMRecordID != "" {
		t.Errorf("stopped sync still names %s", stopped.CRMRecordID)
	}
	taken := waitStatus(t, other.ID, func(s workflows.SyncStatus) bool { return s.State == prospect.StateSynced && s.CRMRecordID != "" })
	if taken.CRMRecordID != st.CRMRecordID {
		t.Errorf("the other prospect syncs with %s, want the record %s", taken.CRMRecordID, st.CRMRecordID)
	}
	if got := prospectOf(t, id).Email; !strings.EqualFold(got, mine) {
		t.Errorf("prospect email %q, want %q unchanged", got, mine)
	}
	wantLeads(t, theirs, 1)
	wantLeads(t, mine, 0)
	// Stopped means never recreated, whatever asks.
	request(t, id, workflows.ChangeRequest{Resync: true})
	waitStatus(t, id, func(s workflows.SyncStatus) bool {
		return s.State == prospect.StateCRMDeleted && s.History[len(s.History)-1].Time.After(stopped.History[len(stopped.History)-1].Time)
	})
	wantLeads(t, mine, 0)
}

// The email changed on both sides: EMAIL_CONFLICT naming both addresses, and no write on either
// side until a person makes them agree.
func TestEmailChangedOnBothSidesIsAConflict(t *testing.T) {
	ctx := context.Background()
	orig, inSF, inAE := unique("orig@example.com"), unique("sales@example.com"), unique("marketing@example.com")
	id, st := syncedWithLead(t, orig, nil)
	if err := testPerson.Update(ctx, prospect.TypeLead, st.CRMRecordID, map[string]any{"Email": inSF}); err != nil {
		t.Fatal(err)
	}
	if _, err := testAE.UpdateProspect(ctx, id, map[string]any{"email": inAE}); err != nil {
		t.Fatal(err)
	}
	request(t, id, workflows.ChangeRequest{Resync: true})
	conflict := waitStatus(t, id, inState(prospect.StateSyncError))
	if conflict.LastError == nil || conflict.LastError.Code != prospect.CodeEmailConflict ||
		!strings.Contains(conflict.LastError.Message, inSF) || !strings.Contains(conflict.LastError.Message, inAE) {
		t.Fatalf("error %+v: want EMAIL_CONFLICT naming %s and %s", conflict.LastError, inSF, inAE)
	}
	if got := prospectOf(t, id).Email; got != inAE {
		t.Errorf("prospect email %q, want %q untouched", got, inAE)
	}
	wantLeads(t, inSF, 1)
	wantLeads(t, inAE, 0)
	wantLeads(t, orig, 0)
	// A person resolves it in Account Engagement: the two agree again, one Lead.
	if _, err := testAE.UpdateProspect(ctx, id, map[string]any{"email": inSF}); err != nil {
		t.Fatal(err)
	}
	request(t, id, workflows.ChangeRequest{Resync: true})
	resolved := waitStatus(t, id, inState(prospect.StateSynced))
	if resolved.CRMRecordID != st.CRMRecordID {
		t.Errorf("after the fix linked %s, want %s", resolved.CRMRecordID, st.CRMRecordID)
	}
	wantLeads(t, inSF, 1)
}

// A person merges the prospect's Lead into another: the sync relinks to the survivor and takes
// its email; no Lead is created, and the sync is never CrmDeleted.
func TestLeadMergedIntoAnother(t *testing.T) {
	ctx := context.Background()
	loserEmail, winnerEmail := unique("loser@example.com"), unique("winner@example.com")
	id, st := syncedWithLead(t, loserEmail, nil)
	winner, err := testPerson.Create(ctx, prospect.TypeLead, map[string]any{"Email": winnerEmail, "LastName": "Winner", "Company": "Acme", "OwnerId": emulator.UserBobID})
	if err != nil {
		t.Fatal(err)
	}
	if err := app().Emulator().Merge(ctx, emulator.MergeRequest{Object: prospect.TypeLead, MasterID: winner, MergedIDs: []string{st.CRMRecordID}}); err != nil {
		t.Fatal(err)
	}
	// An explicit sync (the starter's), not only the change feed, follows the merge.
	request(t, id, workflows.ChangeRequest{Resync: true})
	after := waitStatus(t, id, func(s workflows.SyncStatus) bool { return s.CRMRecordID == winner })
	if after.State != prospect.StateSynced {
		t.Errorf("state %s, want Synced with the survivor", after.State)
	}
	for _, h := range after.History {
		if h.State == prospect.StateCRMDeleted {
			t.Errorf("history %+v: the merge was taken for a deletion", h)
		}
	}
	if got := prospectOf(t, id).Email; !strings.EqualFold(got, winnerEmail) {
		t.Errorf("prospect email %q, want the survivor's %q", got, winnerEmail)
	}
	wantLeads(t, winnerEmail, 1)
	wantLeads(t, loserEmail, 0)
}

// A merge where both prospects exist: the merged-away record's prospect stops syncing, naming
// the prospect that syncs with the survivor, as the connector flags the loser's prospect.
func TestMergeWhereBothProspectsExist(t *testing.T) {
	ctx := context.Background()
	loserEmail, winnerEmail := unique("loser2@example.com"), unique("winner2@example.com")
	loser, lst := syncedWithLead(t, loserEmail, nil)
	winner, wst := syncedWithLead(t, winnerEmail, nil)
	if err := app().Emulator().Merge(ctx, emulator.MergeRequest{Object: prospect.TypeLead, MasterID: wst.CRMRecordID, MergedIDs: []string{lst.CRMRecordID}}); err != nil {
		t.Fatal(err)
	}
	crmChanged(t, loser)
	crmChanged(t, winner)
	stopped := waitStatus(t, loser, inState(prospect.StateCRMDeleted))
	if reason := stopped.History[len(stopped.History)-1].Reason; !strings.Contains(reason, fmt.Sprintf("prospect %d", winner)) {
		t.Errorf("reason %q: want prospect %d named", reason, winner)
	}
	if w := waitStatus(t, winner, inState(prospect.StateSynced)); w.CRMRecordID != wst.CRMRecordID {
		t.Errorf("winner syncs with %s, want %s", w.CRMRecordID, wst.CRMRecordID)
	}
	if got := prospectOf(t, loser).Email; !strings.EqualFold(got, loserEmail) {
		t.Errorf("loser's prospect email %q, want %q unchanged", got, loserEmail)
	}
	wantLeads(t, winnerEmail, 1)
	wantLeads(t, loserEmail, 0)
}

// A person deletes the Lead, then restores it from the recycle bin: the sync is flagged, then
// relinks by itself to the same record.
func TestRestoredLeadIsRelinked(t *testing.T) {
	ctx := context.Background()
	email := unique("restored@example.com")
	id, st := syncedWithLead(t, email, nil)
	if err := app().Emulator().DeleteRecord(ctx, st.CRMRecordID); err != nil {
		t.Fatal(err)
	}
	crmChanged(t, id)
	waitStatus(t, id, inState(prospect.StateCRMDeleted))
	wantLeads(t, email, 0)
	if err := app().Emulator().UndeleteRecord(ctx, st.CRMRecordID); err != nil {
		t.Fatal(err)
	}
	crmChanged(t, id)
	back := waitStatus(t, id, inState(prospect.StateSynced))
	if back.CRMRecordID != st.CRMRecordID {
		t.Errorf("relinked to %s, want the restored %s", back.CRMRecordID, st.CRMRecordID)
	}
	wantLeads(t, email, 1)
}

// A field edited on both sides under :recent (the shared worker maps jobTitle=Title:recent):
// the side modified later wins, and the sync says so in its history.
func TestFieldEditedOnBothSidesUnderRecent(t *testing.T) {
	ctx := context.Background()
	email := unique("recent@example.com")
	id, st := syncedWithLead(t, email, map[string]any{"jobTitle": "Engineer"})
	if _, err := testAE.UpdateProspect(ctx, id, map[string]any{"jobTitle": "Marketing title"}); err != nil {
		t.Fatal(err)
	}
	// Salesforce's edit comes later (LastModifiedDate has milliseconds, updatedAt seconds: wait
	// for the next second so that the order is not a tie).
	edited := prospectOf(t, id).UpdatedAt
	eventually(t, 5*time.Second, "a second after the Account Engagement edit", func() error {
		if !time.Now().Truncate(time.Second).After(edited) {
			return fmt.Errorf("still the second of %s", edited)
		}
		return nil
	})
	if err := testPerson.Update(ctx, prospect.TypeLead, st.CRMRecordID, map[string]any{"Title": "Sales title"}); err != nil {
		t.Fatal(err)
	}
	request(t, id, workflows.ChangeRequest{Resync: true})
	after := waitStatus(t, id, func(s workflows.SyncStatus) bool {
		return s.Base != nil && s.Base.Engagement["jobTitle"] == "Sales title"
	})
	if got := prospectOf(t, id).JobTitle; got != "Sales title" {
		t.Errorf("prospect jobTitle %q, want Salesforce's later value", got)
	}
	last := after.History[len(after.History)-1]
	if len(last.Fields) != 1 || last.Fields[0].Winner != prospect.MasterSalesforce || !strings.Contains(last.Fields[0].Why, "most recently updated") {
		t.Errorf("field decisions %+v: want Title won by Salesforce as the most recently updated", last.Fields)
	}
	wantLeads(t, email, 1)
}

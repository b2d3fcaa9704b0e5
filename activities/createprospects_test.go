package activities

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/prospect-sync/prospect-sync/change"
	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/internal/sftest"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

// person is a Salesforce client acting as Alice on the fixture's emulator.
func (f *fixture) person(t *testing.T) *salesforce.Client {
	t.Helper()
	srv := httptest.NewServer(f.emu)
	t.Cleanup(srv.Close)
	c, err := sftest.Person(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func createdIDs(recs []NewRecord) []string {
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	return ids
}

// With CreateProspects the poll also reports, from the same one call, the records a person
// created since the cursor with an email: not the integration's own, not one without an email,
// not one created before the cursor (not retroactive); without the option, none.
func TestPollReportsRecordsPeopleCreated(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	alice := f.person(t)
	f.acts.Settings = prospect.DefaultSettings()
	f.acts.Settings.CreateProspects = true
	before := time.Now().UTC().Add(-time.Second)
	lead, err := alice.Create(ctx, "Lead", map[string]any{"Email": "new.lead@example.com", "FirstName": "Nell", "LastName": "Lead",
		"Company": "Acme", "Title": "CTO", "OwnerId": emulator.UserBobID})
	if err != nil {
		t.Fatal(err)
	}
	contact, err := alice.Create(ctx, "Contact", map[string]any{"Email": "new.contact@example.com", "LastName": "Contact", "OwnerId": emulator.UserAliceID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Create(ctx, "Lead", map[string]any{"LastName": "No Email", "Company": "Acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acts.SF.Create(ctx, "Lead", map[string]any{"Email": "ours@example.com", "LastName": "Ours", "Company": "Acme"}); err != nil {
		t.Fatal(err)
	}
	f.emu.ResetCounters()
	res := get[PollCRMChangesResult](t, f.exec(t, f.acts.PollCRMChanges, PollCRMChangesInput{Since: before, Limit: 1000}))
	if got := createdIDs(res.Created); !slices.Equal(got, []string{lead, contact}) {
		t.Fatalf("created %v, want the Lead and the Contact Alice made (%s, %s)", got, lead, contact)
	}
	if n := f.emu.Counters().Salesforce.Total; n != 1 {
		t.Errorf("%d Salesforce calls, want the poll's one", n)
	}
	l := res.Created[0]
	if l.Type != prospect.TypeLead || l.Email != "new.lead@example.com" || l.OwnerID != emulator.UserBobID || l.CreatedAt.Before(before) ||
		l.Fields["FirstName"] != "Nell" || l.Fields["LastName"] != "Lead" || l.Fields["Company"] != "Acme" || l.Fields["Title"] != "CTO" {
		t.Errorf("new Lead %+v", l)
	}
	if c := res.Created[1]; c.Type != prospect.TypeContact || c.OwnerID != emulator.UserAliceID {
		t.Errorf("new Contact %+v", c)
	}
	if _, ok := res.Created[1].Fields["Company"]; ok {
		t.Error("a Contact carries a Company")
	}

	// Changed since, created before: not retroactive.
	later := time.Now().UTC()
	if err := alice.Update(ctx, "Lead", lead, map[string]any{"Title": "CEO"}); err != nil {
		t.Fatal(err)
	}
	res = get[PollCRMChangesResult](t, f.exec(t, f.acts.PollCRMChanges, PollCRMChangesInput{Since: later, Limit: 1000}))
	if len(res.Changes) == 0 || len(res.Created) != 0 {
		t.Errorf("a record created before the cursor: changes %v, created %v; want a change, nothing created", res.Changes, res.Created)
	}
	f.acts.Settings.CreateProspects = false
	res = get[PollCRMChangesResult](t, f.exec(t, f.acts.PollCRMChanges, PollCRMChangesInput{Since: before, Limit: 1000}))
	if len(res.Created) != 0 {
		t.Errorf("option off: created %v", res.Created)
	}
}

// exec runs an activity, failing the test on its error.
func (f *fixture) exec(t *testing.T, activity, in any) converter.EncodedValue {
	t.Helper()
	v, err := f.env.ExecuteActivity(activity, in)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// CreateProspects makes one prospect per new email, assigned to the owner's Account Engagement
// user, and starts its sync with a hand-off that links it to the record at once; a prospect
// that had the email before the record is left as it was; a bad email is counted, not failed;
// a retried batch makes no second prospect.
func TestCreateProspects(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	alice := f.person(t)
	f.acts.Settings = prospect.DefaultSettings()
	f.acts.Settings.CreateProspects = true
	var mu sync.Mutex
	started := map[int64]*Handoff{}
	f.acts.Start = func(_ context.Context, id int64, signal string, arg *change.Request) error {
		mu.Lock()
		defer mu.Unlock()
		if signal != "prospect-changed" {
			t.Errorf("signal %q", signal)
		}
		started[id] = arg.Handoff
		return nil
	}
	// A prospect made before the record, in an earlier second (Account Engagement's precision).
	existing, err := f.acts.AE.CreateProspect(ctx, map[string]any{"email": "had.one@example.com", "lastName": "Had"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))

	before := time.Now().UTC().Add(-time.Second)
	for _, rec := range []map[string]any{
		{"Email": "Fresh.Lead@example.com", "FirstName": "Fay", "LastName": "Fresh", "Company": "Acme", "Phone": "555", "OwnerId": emulator.UserBobID},
		{"Email": "had.one@example.com", "LastName": "Had Lead", "Company": "Acme", "OwnerId": emulator.UserBobID},
		{"Email": "queue.lead@example.com", "LastName": "Queue", "Company": "Acme", "OwnerId": emulator.UserCarolID}, // Carol has no AE user
	} {
		if _, err := alice.Create(ctx, "Lead", rec); err != nil {
			t.Fatal(err)
		}
	}
	poll := get[PollCRMChangesResult](t, f.exec(t, f.acts.PollCRMChanges, PollCRMChangesInput{Since: before, Limit: 1000}))
	if len(poll.Created) != 3 {
		t.Fatalf("created %+v, want the 3 Leads", poll.Created)
	}
	fresh := poll.Created[0]
	records := append(slices.Clone(poll.Created),
		NewRecord{Type: prospect.TypeLead, ID: "00Q00000000BAD1AAA", Email: "not an email", CreatedAt: fresh.CreatedAt},
		NewRecord{Type: prospect.TypeLead, ID: "00Q00000000BAD2AAA", Email: "long@example.abcdefghijklmnop", CreatedAt: fresh.CreatedAt}) // AE: 2–13 letters after the dot

	f.emu.ResetCounters()
	res := get[CreateProspectsResult](t, f.exec(t, f.acts.CreateProspects, CreateProspectsInput{Records: records, Signal: "prospect-changed"}))
	if res.Created != 2 || res.Skipped != 1 || res.Refused != 2 || !slices.Equal(res.Linked, []string{fresh.ID, poll.Created[2].ID}) {
		t.Fatalf("result %+v: want 2 created (linked), 1 skipped, 2 refused", res)
	}
	c := f.emu.Counters()
	if c.Salesforce.Total != 0 || c.Engagement.ByEndpoint["POST prospects do/upsertLatestByEmail"] != 3 || c.Engagement.ByEndpoint["GET prospects"] != 4 {
		t.Errorf("calls: %d Salesforce, Account Engagement %v; want none, and a query and an upsert per email (no upsert for the one a prospect had)", c.Salesforce.Total, c.Engagement.ByEndpoint)
	}

	page, err := f.acts.AE.QueryProspects(ctx, engagement.ProspectQuery{Email: "fresh.lead@example.com"})
	if err != nil || len(page.Prospects) != 1 {
		t.Fatalf("prospects with the new email: %+v %v, want one", page.Prospects, err)
	}
	p := page.Prospects[0]
	if p.Email != "Fresh.Lead@example.com" || p.FirstName != "Fay" || p.LastName != "Fresh" || p.Company != "Acme" || p.Phone != "555" || p.AssignedToID != emulator.AEUserBob {
		t.Errorf("new prospect %+v: want the Lead's values, assigned to Bob's Account Engagement user", p)
	}
	h, ok := started[p.ID]
	if !ok || h == nil || h.Prospect.ID != p.ID || h.Prospect.AssignedUserSalesforceID != emulator.UserBobID || h.Matches == nil ||
		len(h.Matches.Leads) != 1 || h.Matches.Leads[0].ID != fresh.ID || len(h.Matches.Contacts) != 0 {
		t.Fatalf("hand-off %#v", started[p.ID])
	}
	// What the sync does with it: links the Lead, nothing to write on either side.
	if d := prospect.Decide(h.Prospect, nil, f.acts.Settings); d.Action != prospect.ActionLookup {
		t.Errorf("first decision %+v, want the lookup the hand-off answers", d)
	}
	d := prospect.Decide(h.Prospect, h.Matches, f.acts.Settings)
	if d.Action != prospect.ActionLink || d.Record == nil || d.Record.ID != fresh.ID || len(d.RecordUpdates) != 0 || len(d.ProspectUpdates) != 0 {
		t.Errorf("decision on the hand-off %+v: want a link to %s with nothing to write", d, fresh.ID)
	}
	// Carol has no Account Engagement user: the prospect is unassigned, its sync waits (R3).
	queue, err := f.acts.AE.QueryProspects(ctx, engagement.ProspectQuery{Email: "queue.lead@example.com"})
	if err != nil || len(queue.Prospects) != 1 || queue.Prospects[0].AssignedToID != 0 {
		t.Errorf("prospect of a Lead whose owner has no AE user: %+v %v", queue.Prospects, err)
	}
	if len(started) != 2 {
		t.Errorf("started %d syncs, want 2", len(started))
	}
	// The prospect that had the email is as it was.
	if got, err := f.acts.AE.GetProspect(ctx, existing.ID); err != nil || got.LastName != "Had" || !got.UpdatedAt.Equal(existing.UpdatedAt) || got.AssignedToID != 0 {
		t.Errorf("the existing prospect %+v (%v) was written to", got, err)
	}

	// A retry (the activity's result lost) finds the prospects it made: no second one.
	clear(started)
	again := get[CreateProspectsResult](t, f.exec(t, f.acts.CreateProspects, CreateProspectsInput{Records: records, Signal: "prospect-changed"}))
	if again.Created != 2 || again.Skipped != 1 {
		t.Errorf("retry %+v, want the same outcome", again)
	}
	if h := started[p.ID]; h == nil {
		t.Errorf("retry did not hand the prospect %d its record again: %v", p.ID, started)
	}
	for _, email := range []string{"fresh.lead@example.com", "queue.lead@example.com", "had.one@example.com"} {
		page, err := f.acts.AE.QueryProspects(ctx, engagement.ProspectQuery{Email: email, IncludeDeleted: true})
		if err != nil || len(page.Prospects) != 1 {
			t.Errorf("%s: %d prospects (%v), want 1", email, len(page.Prospects), err)
		}
	}
}

// Records sharing an email make one prospect, handed all of them.
func TestCreateProspectsOnePerEmail(t *testing.T) {
	f := newFixture(t)
	f.acts.Settings = prospect.DefaultSettings()
	started := map[int64]*Handoff{}
	f.acts.Start = func(_ context.Context, id int64, _ string, arg *change.Request) error {
		started[id] = arg.Handoff
		return nil
	}
	now := time.Now().UTC()
	recs := []NewRecord{
		{Type: prospect.TypeLead, ID: "00Q000000000A01AAA", Email: "twice@example.com", OwnerID: emulator.UserBobID, CreatedAt: now, Fields: map[string]string{"LastName": "Lead"}},
		{Type: prospect.TypeContact, ID: "003000000000A02AAA", Email: " Twice@Example.com", OwnerID: emulator.UserAliceID, CreatedAt: now, Fields: map[string]string{"LastName": "Contact"}},
	}
	res := get[CreateProspectsResult](t, f.exec(t, f.acts.CreateProspects, CreateProspectsInput{Records: recs, Signal: "prospect-changed"}))
	if res.Created != 1 || len(res.Linked) != 2 || len(started) != 1 {
		t.Fatalf("result %+v, started %d: want one prospect for both records", res, len(started))
	}
	for id, h := range started {
		// The Contact wins (the default match order): its owner's user and its names.
		if len(h.Matches.Leads) != 1 || len(h.Matches.Contacts) != 1 || h.Prospect.LastName != "Contact" || h.Prospect.AssignedUserID != emulator.AEUserAlice {
			t.Errorf("prospect %d: hand-off %+v", id, h)
		}
	}
	if fmt.Sprint(res.Linked) != fmt.Sprint([]string{recs[0].ID, recs[1].ID}) {
		t.Errorf("linked %v", res.Linked)
	}
}

package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/prospect-sync/prospect-sync/change"
	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/prospect"
)

var (
	leadFields    = []string{"FirstName", "LastName", "Company"}
	contactFields = []string{"FirstName", "LastName"}
)

func lookupIn(email string) FindMatchesInput {
	return FindMatchesInput{Email: email, LeadFields: leadFields, ContactFields: contactFields}
}

// Many prospects' lookups share one composite call, and each gets exactly its own records.
func TestLookupManyIsOneCall(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, e := range []string{"a@batch.example.com", "b@batch.example.com", "b@batch.example.com"} {
		if _, err := f.acts.SF.Create(ctx, "Lead", map[string]any{"Email": e, "LastName": "L", "Company": "C"}); err != nil {
			t.Fatal(err)
		}
	}
	contact, err := f.acts.SF.Create(ctx, "Contact", map[string]any{"Email": "C@Batch.example.com", "LastName": "Contact"})
	if err != nil {
		t.Fatal(err)
	}
	linked := lookupIn("c@batch.example.com")
	linked.LinkedType, linked.LinkedID = prospect.TypeContact, contact
	gone := lookupIn("d@batch.example.com")
	gone.LinkedType, gone.LinkedID = prospect.TypeLead, emulator.LeadCRMDeletedID
	f.emu.ResetCounters()
	out, err := f.acts.lookupMany(ctx, []FindMatchesInput{lookupIn(" A@batch.example.com"), lookupIn("b@batch.example.com"), linked, gone, lookupIn("none@batch.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.emu.Counters().Salesforce.Total; n != 1 {
		t.Errorf("%d Salesforce calls for 5 lookups, want 1", n)
	}
	want := []struct{ leads, contacts int }{{1, 0}, {2, 0}, {0, 1}, {0, 0}, {0, 0}}
	for i, w := range want {
		m := out[i].matches
		if out[i].alone || len(m.Leads) != w.leads || len(m.Contacts) != w.contacts {
			t.Errorf("lookup %d: %+v, want %d Leads and %d Contacts", i, out[i], w.leads, w.contacts)
		}
	}
	if m := out[2].matches; m.Linked == nil || m.Linked.ID != contact || m.LinkedGone {
		t.Errorf("linked Contact not found: %+v", m)
	}
	if m := out[3].matches; m.Linked != nil || !m.LinkedGone {
		t.Errorf("deleted linked Lead not reported gone: %+v", m)
	}
	if _, ok := out[0].matches.Leads[0].Fields["Company"]; !ok {
		t.Errorf("mapped fields not read: %+v", out[0].matches.Leads[0])
	}
}

func createIn(id int64, email, owner string, rule bool) *CreateLeadInput {
	return &CreateLeadInput{ProspectID: id, Email: email, Fields: map[string]string{"Email": email, "LastName": "Batch", "Company": "Acme"},
		OwnerID: owner, UseAssignmentRule: rule, ReadFields: []string{"LastName", "Company"}}
}

// Creates share one collections call per kind; Leads the rule assigns are read back in one
// more call for the batch; a record's own rejection stays that record's.
func TestWriteBatchCreates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.emu.ResetCounters()
	owned, err := f.acts.writeBatch(ctx, keyCreateOwned, []writeOp{
		{create: createIn(1, "o1@batch.example.com", emulator.UserBobID, false)},
		{create: createIn(2, "not an email", emulator.UserBobID, false)},
		{create: createIn(3, "o3@batch.example.com", emulator.UserAliceID, false)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.emu.Counters().Salesforce.Total; n != 1 {
		t.Errorf("%d Salesforce calls for 3 owned creates, want 1", n)
	}
	if r := owned[0].record; owned[0].err != nil || r.OwnerID != emulator.UserBobID || len(r.ID) != 18 || r.Fields["LastName"] != "Batch" {
		t.Errorf("create 1: %+v", owned[0])
	}
	var appErr *temporal.ApplicationError
	if err := classify(owned[1].err); !errors.As(err, &appErr) || appErr.Type() != ErrTypeDataError || !appErr.NonRetryable() {
		t.Errorf("create 2: %v, want a non-retryable data error", err)
	}
	if r := owned[2].record; owned[2].err != nil || r.OwnerID != emulator.UserAliceID {
		t.Errorf("create 3: %+v", owned[2])
	}

	f.emu.ResetCounters()
	ruled, err := f.acts.writeBatch(ctx, keyCreateRule, []writeOp{
		{create: createIn(4, "r1@batch.example.com", "", true)},
		{create: createIn(5, "r2@batch.example.com", "", true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.emu.Counters().Salesforce.Total; n != 2 {
		t.Errorf("%d Salesforce calls for 2 creates by the rule, want 2 (create, read back)", n)
	}
	// The seeded round-robin rule cycles Alice, Carol.
	if ruled[0].record.OwnerID != emulator.UserAliceID || ruled[1].record.OwnerID == emulator.IntegrationUserID || ruled[1].record.OwnerID == "" {
		t.Errorf("rule owners %q, %q: want the rule's picks", ruled[0].record.OwnerID, ruled[1].record.OwnerID)
	}
}

// Updates of mixed types share one call; a deleted record is that sync's RecordGone only.
func TestWriteBatchUpdates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	lead, err := f.acts.SF.Create(ctx, "Lead", map[string]any{"Email": "u1@batch.example.com", "LastName": "L", "Company": "C"})
	if err != nil {
		t.Fatal(err)
	}
	contact, err := f.acts.SF.Create(ctx, "Contact", map[string]any{"Email": "u2@batch.example.com", "LastName": "C"})
	if err != nil {
		t.Fatal(err)
	}
	f.emu.ResetCounters()
	out, err := f.acts.writeBatch(ctx, keyUpdate, []writeOp{
		{update: &UpdateRecordInput{Type: prospect.TypeLead, ID: lead, Fields: map[string]string{"LastName": "New"}}},
		{update: &UpdateRecordInput{Type: prospect.TypeContact, ID: contact, Fields: map[string]string{"LastName": "New"}}},
		{update: &UpdateRecordInput{Type: prospect.TypeLead, ID: emulator.LeadCRMDeletedID, Fields: map[string]string{"LastName": "New"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.emu.Counters().Salesforce.Total; n != 1 {
		t.Errorf("%d Salesforce calls for 3 updates, want 1", n)
	}
	if out[0].err != nil || out[1].err != nil {
		t.Errorf("updates: %+v", out)
	}
	var appErr *temporal.ApplicationError
	if err := classify(out[2].err); !errors.As(err, &appErr) || appErr.Type() != ErrTypeRecordGone {
		t.Errorf("update of a deleted Lead: %v, want RecordGone", err)
	}
	for _, c := range []struct{ typ, id string }{{"Lead", lead}, {"Contact", contact}} {
		if r, err := f.acts.SF.Get(ctx, c.typ, c.id, "LastName"); err != nil || r.String("LastName") != "New" {
			t.Errorf("%s %s: %v, %v", c.typ, c.id, r, err)
		}
	}
}

// With batching on, concurrent creates share calls (and a lone one takes a single call): the
// activities' own path, through the batcher.
func TestSharedCreatesThroughTheBatcher(t *testing.T) {
	f := newFixture(t)
	EnableBatching(f.acts, 200*time.Millisecond) // gathered until full, or quiet for 25 ms
	ctx := context.Background()
	f.emu.ResetCounters()
	if _, err := f.acts.createShared(ctx, *createIn(10, "lone@batch.example.com", emulator.UserBobID, false)); err != nil {
		t.Fatal(err)
	}
	if c := f.emu.Counters().Salesforce; c.Total != 1 || c.ByEndpoint["POST sobjects/Lead"] != 1 {
		t.Fatalf("lone create: %+v, want one single-record create", c)
	}
	const n = 20
	var wg sync.WaitGroup
	res := make([]CreateLeadResult, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			res[i], errs[i] = f.acts.createShared(ctx, *createIn(int64(100+i), "many"+string(rune('a'+i))+"@batch.example.com", emulator.UserBobID, false))
		})
	}
	wg.Wait()
	ids := map[string]bool{}
	for i := range n {
		if errs[i] != nil || res[i].Record.ID == "" {
			t.Fatalf("create %d: %+v, %v", i, res[i], errs[i])
		}
		ids[res[i].Record.ID] = true
	}
	calls := f.emu.Counters().Salesforce.Total - 1
	if len(ids) != n || calls < 1 || calls > 3 {
		t.Fatalf("%d distinct Leads in %d calls, want %d in 1 to 3 (the first goes alone if the batcher was idle)", len(ids), calls, n)
	}
}

// A feed page costs one Account Engagement read and one Salesforce composite for all its
// prospects, and hands each sync its snapshot, with matches where its next step is a lookup;
// versions the feed has seen are not signalled again.
func TestFeedPageHandsOff(t *testing.T) {
	f := newFixture(t)
	f.acts.Settings = prospect.DefaultSettings()
	var mu sync.Mutex
	got := map[int64]*change.Request{}
	f.acts.Start = func(_ context.Context, id int64, signal string, arg *change.Request) error {
		mu.Lock()
		defer mu.Unlock()
		got[id] = arg
		return nil
	}
	ctx := context.Background()
	all, err := f.acts.AE.QueryProspects(ctx, engagement.ProspectQuery{Limit: 1000, IncludeDeleted: true})
	if err != nil {
		t.Fatal(err)
	}
	seen := all.Prospects[0]
	f.emu.ResetCounters()
	v, err := f.env.ExecuteActivity(f.acts.FeedPage, FeedPageInput{Limit: 1000, Signal: "prospect-changed",
		Seen: []prospect.Change{{ProspectID: seen.ID, UpdatedAt: seen.UpdatedAt}}})
	if err != nil {
		t.Fatal(err)
	}
	res := get[FeedPageResult](t, v)
	c := f.emu.Counters()
	if c.Engagement.Total != 1+users(c) || c.Salesforce.Total != 1 {
		t.Errorf("calls: %d Account Engagement (%d of them user reads), %d Salesforce; want 1 page read and 1 composite", c.Engagement.Total, users(c), c.Salesforce.Total)
	}
	if len(res.Signalled) != len(all.Prospects)-1 || len(got) != len(res.Signalled) {
		t.Fatalf("signalled %d, started %d, want %d: every prospect but the one seen", len(res.Signalled), len(got), len(all.Prospects)-1)
	}
	if _, ok := got[seen.ID]; ok {
		t.Error("the version seen was signalled again")
	}
	req := got[emulator.ProspectMatchLead]
	h := (*Handoff)(nil)
	if req != nil {
		h = req.Handoff
	}
	if h == nil || h.Prospect.ID != emulator.ProspectMatchLead || h.Prospect.AssignedUserSalesforceID != emulator.UserAliceID || h.Matches == nil || len(h.Matches.Leads) != 1 {
		t.Fatalf("hand-off to the prospect matching a Lead: %#v", got[emulator.ProspectMatchLead])
	}
}

// A large page waits for the syncs of earlier pages to take their hand-offs (the backlog at or
// below one page) before its lookup and signals, so that its matches are fresh when its syncs
// run; a small page, or a backlog that does not drain in time, does not stop the feed.
func TestFeedPageWaitsForBacklog(t *testing.T) {
	f := newFixture(t)
	f.acts.Settings = prospect.DefaultSettings()
	var mu sync.Mutex
	var events []string
	f.acts.Start = func(context.Context, int64, string, *change.Request) error {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, "signal")
		return nil
	}
	backlog := []int{7, 5, 3}
	f.acts.Backlog = func(context.Context) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, fmt.Sprintf("count %d", backlog[0]))
		n := backlog[0]
		if len(backlog) > 1 {
			backlog = backlog[1:]
		}
		return n, nil
	}
	f.acts.pace = pace{page: 1, max: 3, wait: time.Minute, poll: time.Millisecond}
	if _, err := f.env.ExecuteActivity(f.acts.FeedPage, FeedPageInput{Limit: 1000, Signal: "prospect-changed"}); err != nil {
		t.Fatal(err)
	}
	if len(events) < 4 || !slices.Equal(events[:4], []string{"count 7", "count 5", "count 3", "signal"}) {
		t.Errorf("events %v, want three counts (7, 5, then 3 ≤ 3) before the first signal", events[:min(len(events), 5)])
	}

	// A backlog that stays high: the page goes out after the wait.
	events, backlog = nil, []int{9}
	f.acts.pace = pace{page: 1, max: 3, wait: 20 * time.Millisecond, poll: time.Millisecond}
	if _, err := f.env.ExecuteActivity(f.acts.FeedPage, FeedPageInput{Limit: 1000, Signal: "prospect-changed"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(events, "signal") || events[0] != "count 9" {
		t.Errorf("events %v: want the page handed out after the wait", events)
	}

	// A page smaller than pace.page is handed out without counting.
	events = nil
	f.acts.pace = pace{page: 100000, max: 3, wait: time.Minute, poll: time.Millisecond}
	if _, err := f.env.ExecuteActivity(f.acts.FeedPage, FeedPageInput{Limit: 1000, Signal: "prospect-changed"}); err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 || slices.ContainsFunc(events, func(e string) bool { return strings.HasPrefix(e, "count") }) {
		t.Errorf("events %v: want signals and no count", events)
	}
}

// users counts the Account Engagement user reads a page's assigned users cost (cached after).
func users(c emulator.Counters) int {
	n := 0
	for k, v := range c.Engagement.ByEndpoint {
		if strings.HasPrefix(k, "GET users") {
			n += v
		}
	}
	return n
}

// A change in the same second as the version signalled last is still signalled: updatedAt has
// one-second precision, the fingerprint does not.
func TestAlreadySignalled(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s := prospect.Change{ProspectID: 1, UpdatedAt: t0, Version: "a"}
	for _, c := range []struct {
		c    prospect.Change
		want bool
	}{
		{prospect.Change{ProspectID: 1, UpdatedAt: t0, Version: "a"}, true},
		{prospect.Change{ProspectID: 1, UpdatedAt: t0, Version: "b"}, false},
		{prospect.Change{ProspectID: 1, UpdatedAt: t0.Add(-time.Second), Version: "b"}, true},
		{prospect.Change{ProspectID: 1, UpdatedAt: t0.Add(time.Second), Version: "a"}, false},
	} {
		if got := alreadySignalled(s, c.c); got != c.want {
			t.Errorf("alreadySignalled(%+v, %+v) = %v", s, c.c, got)
		}
	}
	if !alreadySignalled(prospect.Change{ProspectID: 1, UpdatedAt: t0}, prospect.Change{ProspectID: 1, UpdatedAt: t0, Version: "b"}) {
		t.Error("a version recorded before fingerprints (none) counts as seen, as it did")
	}
}

// Contacts that converted Leads became, missing from the email lookup (their email changed
// after the conversion), are read with one more query for the whole batch, not one per prospect.
func TestLookupManyFollowsConversionsOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var contacts []string
	for i := range 2 {
		email := fmt.Sprintf("conv%d@batch.example.com", i)
		lead, err := f.acts.SF.Create(ctx, "Lead", map[string]any{"Email": email, "LastName": "L", "Company": "C"})
		if err != nil {
			t.Fatal(err)
		}
		contact, err := f.emu.ConvertLead(ctx, lead)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.acts.SF.Update(ctx, "Contact", contact, map[string]any{"Email": fmt.Sprintf("moved%d@batch.example.com", i)}); err != nil {
			t.Fatal(err)
		}
		contacts = append(contacts, contact)
	}
	f.emu.ResetCounters()
	out, err := f.acts.lookupMany(ctx, []FindMatchesInput{lookupIn("conv0@batch.example.com"), lookupIn("conv1@batch.example.com"), lookupIn("other@batch.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.emu.Counters().Salesforce.Total; n != 2 {
		t.Errorf("%d Salesforce calls, want 2: the composite and one query for both converted Leads' Contacts", n)
	}
	for i, id := range contacts {
		if !slices.ContainsFunc(out[i].matches.Contacts, func(c prospect.Record) bool { return c.ID == id }) {
			t.Errorf("lookup %d: %+v, want its converted Lead's Contact %s", i, out[i].matches.Contacts, id)
		}
	}
	if len(out[2].matches.Contacts) != 0 {
		t.Errorf("lookup 2: %+v, want no Contact", out[2].matches)
	}
}

package activities

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/prospect"
)

// historySpy stands in front of the emulator: it counts the Salesforce calls that carry a
// field history query and, with refuse, renames the history object so that Salesforce's own
// answer for an object the user cannot see (400 INVALID_TYPE) comes back for that query alone.
type historySpy struct {
	next    http.Handler
	calls   atomic.Int32
	refuse  atomic.Bool
	history atomic.Int32
}

func (s *historySpy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/services/data/v") {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte("History")) || strings.Contains(r.URL.RawQuery, "History") {
			s.history.Add(1)
			if s.refuse.Load() {
				body = bytes.ReplaceAll(body, []byte("History"), []byte("HistoryOfNobody"))
			}
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	}
	s.next.ServeHTTP(w, r)
}

// newSpiedFixture is newFixture with a historySpy between the clients and the emulator.
func newSpiedFixture(t *testing.T) (*fixture, *historySpy) {
	t.Helper()
	var spy *historySpy
	f := newFixtureVia(t, func(h http.Handler) http.Handler {
		spy = &historySpy{next: h}
		return spy
	})
	return f, spy
}

// newestChange reads, straight from LeadHistory or ContactHistory, when field of id last changed.
func newestChange(t *testing.T, f *fixture, typ, id, field string) time.Time {
	t.Helper()
	recs, err := f.acts.SF.Select(context.Background(), historySelect(typ, []string{field}, id))
	if err != nil || len(recs) == 0 {
		t.Fatalf("%s history of %s: %v, %v", typ, id, recs, err)
	}
	return recs[0].Time("CreatedDate")
}

func findMatches(t *testing.T, f *fixture, in FindMatchesInput) prospect.Matches {
	t.Helper()
	v, err := f.env.ExecuteActivity(f.acts.FindMatches, in)
	if err != nil {
		t.Fatal(err)
	}
	return get[FindMatchesResult](t, v).Matches
}

// A lookup of a linked record with :recent fields reads their field history in its own
// composite: still one call; the newest change of each lands in Record.FieldChanged. Without
// :recent fields, or without a linked record, no history is read; refused, it is done without.
func TestFindMatchesReadsFieldHistory(t *testing.T) {
	f, spy := newSpiedFixture(t)
	ctx := context.Background()
	lead, err := f.acts.SF.Create(ctx, "Lead", map[string]any{"Email": "h@history.example.com", "LastName": "L", "Company": "C"})
	if err != nil {
		t.Fatal(err)
	}
	for _, title := range []string{"CTO", "CEO"} {
		if err := f.acts.SF.Update(ctx, "Lead", lead, map[string]any{"Title": title}); err != nil {
			t.Fatal(err)
		}
	}
	changed := newestChange(t, f, prospect.TypeLead, lead, "Title")
	in := FindMatchesInput{Email: "h@history.example.com", LinkedType: prospect.TypeLead, LinkedID: lead,
		LeadFields: []string{"LastName", "Company", "Title", "Phone"}, ContactFields: []string{"LastName", "Title", "Phone"},
		RecentFields: map[string][]string{prospect.TypeLead: {"Title", "Phone"}, prospect.TypeContact: {"Title"}}}

	f.emu.ResetCounters()
	spy.history.Store(0)
	m := findMatches(t, f, in)
	if n := f.emu.Counters().Salesforce.Total; n != 1 || spy.history.Load() != 1 {
		t.Errorf("%d Salesforce calls, %d with history, want 1 and 1", n, spy.history.Load())
	}
	if m.Linked == nil || len(m.Linked.FieldChanged) != 1 || !m.Linked.FieldChanged["Title"].Equal(changed) {
		t.Fatalf("linked %+v: want FieldChanged Title at %v only (Phone never changed)", m.Linked, changed)
	}
	if m.Linked.LastModified.Before(m.Linked.FieldChanged["Title"]) {
		t.Errorf("Title changed at %v, after the record's LastModifiedDate %v", m.Linked.FieldChanged["Title"], m.Linked.LastModified)
	}
	if len(m.Leads) != 1 || m.Leads[0].FieldChanged != nil {
		t.Errorf("email matches %+v: history is the linked record's only", m.Leads)
	}

	spy.refuse.Store(true)
	f.emu.ResetCounters()
	m = findMatches(t, f, in)
	if n := f.emu.Counters().Salesforce.Total; n != 1 || m.Linked == nil || m.Linked.ID != lead || m.Linked.FieldChanged != nil {
		t.Errorf("history refused: %d calls, linked %+v; want 1 call, the linked Lead without history", n, m.Linked)
	}
	spy.refuse.Store(false)

	for name, in := range map[string]FindMatchesInput{
		"no :recent field": {Email: in.Email, LinkedType: prospect.TypeLead, LinkedID: lead, LeadFields: in.LeadFields, ContactFields: in.ContactFields},
		"no linked record": {Email: in.Email, LeadFields: in.LeadFields, ContactFields: in.ContactFields, RecentFields: in.RecentFields},
		"a linked Contact, :recent on Leads only": {Email: in.Email, LinkedType: prospect.TypeContact, LinkedID: emulator.ContactMatchContactAndLeadID,
			LeadFields: in.LeadFields, ContactFields: in.ContactFields, RecentFields: map[string][]string{prospect.TypeLead: {"Title"}}},
	} {
		spy.history.Store(0)
		m := findMatches(t, f, in)
		if spy.history.Load() != 0 {
			t.Errorf("%s: a history query was made", name)
		}
		if m.Linked != nil && m.Linked.FieldChanged != nil {
			t.Errorf("%s: linked %+v has history", name, m.Linked)
		}
	}
}

// A batch of lookups reads the history of all its linked records alongside the linked-id
// queries: with one object's history that stays within the composite's five queries, one call
// for the batch as without it; a batch linking Leads and Contacts with :recent fields on both
// needs six queries, two calls. Without :recent fields no history is read.
func TestLookupManyReadsFieldHistory(t *testing.T) {
	f, spy := newSpiedFixture(t)
	ctx := context.Background()
	var leads []string
	for _, e := range []string{"a@history.example.com", "b@history.example.com"} {
		id, err := f.acts.SF.Create(ctx, "Lead", map[string]any{"Email": e, "LastName": "L", "Company": "C"})
		if err != nil {
			t.Fatal(err)
		}
		leads = append(leads, id)
	}
	if err := f.acts.SF.Update(ctx, "Lead", leads[0], map[string]any{"Title": "CTO"}); err != nil {
		t.Fatal(err)
	}
	contact, err := f.acts.SF.Create(ctx, "Contact", map[string]any{"Email": "c@history.example.com", "LastName": "C"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.acts.SF.Update(ctx, "Contact", contact, map[string]any{"Title": "Owner"}); err != nil {
		t.Fatal(err)
	}
	leadChanged := newestChange(t, f, prospect.TypeLead, leads[0], "Title")
	contactChanged := newestChange(t, f, prospect.TypeContact, contact, "Title")
	batch := func(recent map[string][]string) []FindMatchesInput {
		in := func(email, typ, id string) FindMatchesInput {
			return FindMatchesInput{Email: email, LinkedType: typ, LinkedID: id, LeadFields: []string{"LastName", "Title"},
				ContactFields: []string{"LastName", "Title"}, RecentFields: recent}
		}
		return []FindMatchesInput{in("a@history.example.com", prospect.TypeLead, leads[0]), in("b@history.example.com", prospect.TypeLead, leads[1]),
			in("c@history.example.com", prospect.TypeContact, contact), in("new@history.example.com", "", "")}
	}
	run := func(recent map[string][]string) ([]lookupOutcome, int, int32) {
		t.Helper()
		f.emu.ResetCounters()
		spy.history.Store(0)
		out, err := f.acts.lookupMany(ctx, batch(recent))
		if err != nil {
			t.Fatal(err)
		}
		return out, f.emu.Counters().Salesforce.Total, spy.history.Load()
	}

	out, calls, history := run(nil)
	if calls != 1 || history != 0 {
		t.Errorf("no :recent field: %d calls, %d with history; want 1, 0", calls, history)
	}
	if l := out[0].matches.Linked; l == nil || l.FieldChanged != nil {
		t.Errorf("no :recent field: linked %+v", l)
	}

	out, calls, history = run(map[string][]string{prospect.TypeLead: {"Title"}})
	if calls != 1 || history != 1 {
		t.Errorf(":recent on Leads: %d calls, %d with history; want 1, 1 (as many as without history)", calls, history)
	}
	if l := out[0].matches.Linked; l == nil || !l.FieldChanged["Title"].Equal(leadChanged) {
		t.Errorf(":recent on Leads: linked %+v, want Title changed at %v", l, leadChanged)
	}
	if l := out[1].matches.Linked; l == nil || l.FieldChanged != nil {
		t.Errorf(":recent on Leads: a Lead never changed has history: %+v", l)
	}
	if l := out[2].matches.Linked; l == nil || l.FieldChanged != nil {
		t.Errorf(":recent on Leads: the linked Contact has history: %+v", l)
	}

	out, calls, _ = run(map[string][]string{prospect.TypeLead: {"Title"}, prospect.TypeContact: {"Title"}})
	if calls != 2 {
		t.Errorf(":recent on both objects: %d calls, want 2 (6 queries, 5 a composite)", calls)
	}
	if l := out[2].matches.Linked; l == nil || !l.FieldChanged["Title"].Equal(contactChanged) {
		t.Errorf(":recent on both objects: linked Contact %+v, want Title changed at %v", l, contactChanged)
	}

	spy.refuse.Store(true)
	out, calls, _ = run(map[string][]string{prospect.TypeLead: {"Title"}})
	if l := out[0].matches.Linked; calls != 1 || out[0].alone || l == nil || l.FieldChanged != nil {
		t.Errorf("history refused: %d calls, %+v; want 1 call, the linked Lead without history", calls, out[0])
	}
}

func TestRecentFieldsOf(t *testing.T) {
	s := prospect.DefaultSettings()
	if got := RecentFieldsOf(s); got != nil {
		t.Errorf("default mapping: %v, want nil", got)
	}
	s.FieldMapping = []prospect.FieldMapping{
		{Engagement: "jobTitle", Salesforce: "Title", Master: prospect.MasterRecent},
		{Engagement: "company", Salesforce: "Company", Master: prospect.MasterRecent, Object: prospect.TypeLead},
		{Engagement: "phone", Salesforce: "Phone", Master: prospect.MasterSalesforce},
	}
	got := RecentFieldsOf(s)
	if strings.Join(got[prospect.TypeLead], ",") != "Title,Company" || strings.Join(got[prospect.TypeContact], ",") != "Title" || len(got) != 2 {
		t.Errorf("RecentFieldsOf = %v", got)
	}
}

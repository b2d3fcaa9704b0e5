package emulator_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
)

type updatedReply struct {
	IDs               []string `json:"ids"`
	LatestDateCovered string   `json:"latestDateCovered"`
}

type deletedReply struct {
	DeletedRecords []struct {
		ID          string `json:"id"`
		DeletedDate string `json:"deletedDate"`
	} `json:"deletedRecords"`
	EarliestDateAvailable string `json:"earliestDateAvailable"`
	LatestDateCovered     string `json:"latestDateCovered"`
}

// sfTime is Salesforce's datetime format in responses.
func sfTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000+0000") }

// feed calls .../sobjects/{sobject}/{kind}/ with start and end as an offset ("+00:00")
// properly URL-encoded.
func (e *env) feed(sobject, kind string, start, end time.Time) reply {
	e.t.Helper()
	q := url.Values{"start": {start.Format("2006-01-02T15:04:05-07:00")}, "end": {end.Format("2006-01-02T15:04:05-07:00")}}
	return e.sf("GET", "/sobjects/"+sobject+"/"+kind+"/?"+q.Encode(), nil)
}

func TestChangeFeedUpdated(t *testing.T) {
	e := seeded(t)
	t0 := testStart() // 12:00:00
	lead := e.createLead(map[string]any{"LastName": "New", "Company": "Fresh"})
	e.clock.Advance(30 * time.Second)
	e.sf("PATCH", "/sobjects/Lead/"+emulator.LeadMatchID, map[string]any{"Title": "CEO"}).want(t, http.StatusNoContent)
	e.clock.Advance(2 * time.Minute) // 12:02:30

	e.emu.ResetCounters()
	// Seconds are ignored: a start of 12:00:45 covers the create at 12:00:00.
	var got updatedReply
	e.feed("Lead", "updated", t0.Add(45*time.Second), t0.Add(10*time.Minute)).want(t, http.StatusOK).decode(t, &got)
	if c := e.emu.Counters(); c.Salesforce.Total != 1 {
		t.Errorf("Salesforce calls = %d, want 1", c.Salesforce.Total)
	}
	slices.Sort(got.IDs)
	if want := []string{emulator.LeadMatchID, lead}; !slices.Equal(got.IDs, want) {
		t.Errorf("ids = %v, want %v", got.IDs, want)
	}
	// The end is later than now: what is covered stops at the current minute.
	if want := sfTime(t0.Add(2 * time.Minute)); got.LatestDateCovered != want {
		t.Errorf("latestDateCovered = %q, want %q", got.LatestDateCovered, want)
	}
	// A span ending before now covers up to its end, which is excluded.
	e.feed("Lead", "updated", t0.Add(-2*time.Hour), t0).want(t, http.StatusOK).decode(t, &got)
	if want := []string{emulator.LeadMatchContactAndLeadID}; !slices.Equal(got.IDs, want) || got.LatestDateCovered != sfTime(t0) {
		t.Errorf("earlier span: %+v, want ids %v up to %s", got, want, sfTime(t0))
	}

	// A conversion changes the Lead and creates the Contact.
	contact, err := e.emu.ConvertLead(context.Background(), lead)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	e.feed("Contact", "updated", t0.Add(2*time.Minute), t0.Add(4*time.Minute)).want(t, http.StatusOK).decode(t, &got)
	if !slices.Equal(got.IDs, []string{contact}) {
		t.Errorf("contact ids = %v, want [%s]", got.IDs, contact)
	}
	e.feed("Lead", "updated", t0.Add(2*time.Minute), t0.Add(4*time.Minute)).want(t, http.StatusOK).decode(t, &got)
	if !slices.Equal(got.IDs, []string{lead}) {
		t.Errorf("lead ids after conversion = %v, want [%s]", got.IDs, lead)
	}
	// A deleted record leaves the updated feed for the deleted one.
	e.sf("DELETE", "/sobjects/Lead/"+lead, nil).want(t, http.StatusNoContent)
	e.feed("Lead", "updated", t0, t0.Add(4*time.Minute)).want(t, http.StatusOK).decode(t, &got)
	if slices.Contains(got.IDs, lead) {
		t.Errorf("deleted lead %s in updated ids %v", lead, got.IDs)
	}
}

func TestChangeFeedDeleted(t *testing.T) {
	e := seeded(t)
	t0 := testStart()
	a := e.createLead(map[string]any{"LastName": "A", "Company": "A"})
	b := e.createLead(map[string]any{"LastName": "B", "Company": "B"})
	e.clock.Advance(10 * time.Second)
	e.sf("DELETE", "/sobjects/Lead/"+a, nil).want(t, http.StatusNoContent)
	e.clock.Advance(time.Minute)
	e.control("DELETE", "/records/"+b, nil).want(t, http.StatusNoContent)
	e.clock.Advance(time.Minute) // 12:02:10

	e.emu.ResetCounters()
	var got deletedReply
	e.feed("Lead", "deleted", t0.Add(-6*24*time.Hour), t0.Add(time.Hour)).want(t, http.StatusOK).decode(t, &got)
	if c := e.emu.Counters(); c.Salesforce.Total != 1 {
		t.Errorf("Salesforce calls = %d, want 1", c.Salesforce.Total)
	}
	want := map[string]string{
		emulator.LeadCRMDeletedID: sfTime(t0.Add(-120 * time.Hour)),
		a:                         sfTime(t0.Add(10 * time.Second)),
		b:                         sfTime(t0.Add(70 * time.Second)),
	}
	gotMap := map[string]string{}
	for _, d := range got.DeletedRecords {
		gotMap[d.ID] = d.DeletedDate
	}
	if len(gotMap) != len(want) {
		t.Errorf("deletedRecords = %+v, want %v", got.DeletedRecords, want)
	}
	for id, date := range want {
		if gotMap[id] != date {
			t.Errorf("deletedDate of %s = %q, want %q", id, gotMap[id], date)
		}
	}
	if w := sfTime(t0.Add(2 * time.Minute)); got.LatestDateCovered != w {
		t.Errorf("latestDateCovered = %q, want %q", got.LatestDateCovered, w)
	}
	if w := sfTime(t0.Add(2*time.Minute - 15*24*time.Hour)); got.EarliestDateAvailable != w {
		t.Errorf("earliestDateAvailable = %q, want %q", got.EarliestDateAvailable, w)
	}

	// Only the last 15 days are remembered: 14 days on, the seeded deletion (5 days before
	// the start) is gone and earliestDateAvailable is later than it.
	e.clock.Advance(14 * 24 * time.Hour)
	e.token = e.newToken()
	e.feed("Lead", "deleted", t0.Add(-6*24*time.Hour), t0.Add(15*24*time.Hour)).want(t, http.StatusOK).decode(t, &got)
	if len(got.DeletedRecords) != 2 {
		t.Errorf("after 14 days: deletedRecords = %+v, want only %s and %s", got.DeletedRecords, a, b)
	}
	if got.EarliestDateAvailable <= sfTime(t0.Add(-6*24*time.Hour)) {
		t.Errorf("earliestDateAvailable %q is not later than the lost deletion", got.EarliestDateAvailable)
	}
	e.feed("Contact", "deleted", t0, t0.Add(time.Hour)).want(t, http.StatusOK).decode(t, &got)
	if len(got.DeletedRecords) != 0 {
		t.Errorf("contact deletedRecords = %+v, want none", got.DeletedRecords)
	}
}

func TestChangeFeedValidation(t *testing.T) {
	e := seeded(t)
	base := "/sobjects/Lead/updated/?"
	for _, tc := range []struct {
		name, path string
		status     int
		code       string
	}{
		{"unencoded plus", base + "start=2024-05-06T11:00:00+00:00&end=2024-05-06T11:30:00%2B00:00", 400, "INVALID_REPLICATION_DATE"},
		{"no offset", base + "start=2024-05-06T11:00:00&end=2024-05-06T11:30:00Z", 400, "INVALID_REPLICATION_DATE"},
		{"same minute", base + "start=2024-05-06T11:00:10Z&end=2024-05-06T11:00:50Z", 400, "INVALID_REPLICATION_DATE"},
		{"end before start", "/sobjects/Contact/deleted/?start=2024-05-06T11:00:00Z&end=2024-05-06T10:00:00Z", 400, "INVALID_REPLICATION_DATE"},
		{"over 30 days back", base + "start=2024-04-05T11:00:00Z&end=2024-05-06T11:00:00Z", 400, "INVALID_REPLICATION_DATE"},
		{"deleted over 30 days back", "/sobjects/Lead/deleted/?start=2024-04-05T11:00:00Z&end=2024-05-06T11:00:00Z", 400, "INVALID_REPLICATION_DATE"},
		{"missing end", base + "start=2024-05-06T11:00:00Z", 400, "MISSING_ARGUMENT"},
		{"not replicated", "/sobjects/User/updated/?start=2024-05-06T11:00:00Z&end=2024-05-06T11:30:00Z", 404, "NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.sf("GET", tc.path, nil).want(t, tc.status)
			if code, _ := r.sfError(t); code != tc.code {
				t.Errorf("errorCode = %s, want %s: %s", code, tc.code, r.body)
			}
		})
	}
	// Z, a numeric offset (encoded) and Salesforce's own format are all accepted.
	for _, q := range []string{
		"start=2024-05-06T11:00:00Z&end=2024-05-06T11:30:00Z",
		"start=2024-05-06T13:00:00%2B02:00&end=2024-05-06T11:30:00.000%2B0000",
		"start=2024-05-06T06:00:00-05:00&end=2024-05-06T11:30:00-0000",
	} {
		var got updatedReply
		e.sf("GET", base+q, nil).want(t, http.StatusOK).decode(t, &got)
		if got.LatestDateCovered != "2024-05-06T11:30:00.000+0000" || got.IDs == nil {
			t.Errorf("%s: %+v", q, got)
		}
	}
	if r := e.sf("POST", base+"start=2024-05-06T11:00:00Z&end=2024-05-06T11:30:00Z", map[string]any{}); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d %s", r.status, r.body)
	}
}

func TestSystemModstampSOQL(t *testing.T) {
	e := seeded(t)
	t0 := testStart()
	lead := e.createLead(map[string]any{"LastName": "New", "Company": "Fresh"})
	e.clock.Advance(90 * time.Second)
	r := e.sf("PATCH", "/sobjects/Lead/Prospect_Id__c/77", map[string]any{"LastName": "Up", "Company": "Sert"}).want(t, http.StatusCreated)
	var up struct {
		ID string `json:"id"`
	}
	r.decode(t, &up)
	if rec := e.getRecord("Lead", lead); rec["SystemModstamp"] != sfTime(t0) {
		t.Errorf("SystemModstamp after create = %v, want %s", rec["SystemModstamp"], sfTime(t0))
	}
	e.clock.Advance(time.Minute)
	e.sf("PATCH", "/sobjects/Lead/Prospect_Id__c/77", map[string]any{"Title": "CTO"}).want(t, http.StatusOK)
	if rec := e.getRecord("Lead", up.ID); rec["SystemModstamp"] != sfTime(t0.Add(150*time.Second)) {
		t.Errorf("SystemModstamp after upsert update = %v, want %s", rec["SystemModstamp"], sfTime(t0.Add(150*time.Second)))
	}

	p := e.query("SELECT Id, SystemModstamp FROM Lead WHERE SystemModstamp >= 2024-05-06T12:00:00Z ORDER BY SystemModstamp, Id")
	if got, want := ids(p.Records), []string{lead, up.ID}; !slices.Equal(got, want) {
		t.Errorf("modstamp query ids = %v, want %v", got, want)
	}
	if p.Records[0]["SystemModstamp"] != sfTime(t0) {
		t.Errorf("SystemModstamp = %v, want %s", p.Records[0]["SystemModstamp"], sfTime(t0))
	}
	p = e.query("SELECT Id FROM Lead WHERE SystemModstamp > 2024-05-06T12:00:00.000+00:00 AND SystemModstamp < 2024-05-06T14:00:00+01:00")
	if got := ids(p.Records); !slices.Equal(got, []string{up.ID}) {
		t.Errorf("modstamp range ids = %v, want [%s]", got, up.ID)
	}
	if p := e.query("SELECT Id FROM Account WHERE SystemModstamp < 2024-05-06T12:00:00Z"); p.TotalSize != 2 {
		t.Errorf("Account modstamp query: %d records, want the 2 seeded", p.TotalSize)
	}
}

func TestQueryAllReturnsRecycleBin(t *testing.T) {
	e := seeded(t)
	const soql = "SELECT Id, IsDeleted FROM Lead WHERE Email = 'crm.deleted@example.com'"
	if p := e.query(soql); p.TotalSize != 0 {
		t.Errorf("query returned deleted records: %v", p.Records)
	}
	r := e.sf("GET", "/queryAll?q="+url.QueryEscape(soql), nil).want(t, http.StatusOK)
	var p queryPage
	r.decode(t, &p)
	if p.TotalSize != 1 || p.Records[0]["Id"] != emulator.LeadCRMDeletedID || p.Records[0]["IsDeleted"] != true {
		t.Errorf("queryAll = %+v, want %s with IsDeleted true", p.Records, emulator.LeadCRMDeletedID)
	}
}

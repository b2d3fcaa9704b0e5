package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/prospect-sync/prospect-sync/emulator"
)

type collResult struct {
	ID      *string `json:"id"`
	Success bool    `json:"success"`
	Created *bool   `json:"created"`
	Errors  []struct {
		StatusCode string   `json:"statusCode"`
		ErrorCode  string   `json:"errorCode"`
		Message    string   `json:"message"`
		Fields     []string `json:"fields"`
	} `json:"errors"`
}

func rec(typ string, kv ...any) map[string]any {
	m := map[string]any{"attributes": map[string]any{"type": typ}}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// collection sends a collections request and decodes its per-record results.
func (e *env) collection(method, path string, body any, hdr ...string) []collResult {
	e.t.Helper()
	var out []collResult
	e.sf(method, "/composite/sobjects"+path, body, hdr...).want(e.t, http.StatusOK).decode(e.t, &out)
	return out
}

// wantFailure checks a failed record result: its statusCode, and an id only if wantID.
func wantFailure(t *testing.T, i int, r collResult, code string, wantID bool) {
	t.Helper()
	if r.Success || len(r.Errors) == 0 || r.Errors[0].StatusCode != code || r.Errors[0].ErrorCode != "" || r.Errors[0].Message == "" {
		t.Errorf("record %d: %+v, want failure %s (statusCode, with a message)", i, r, code)
	}
	if (r.ID != nil) != wantID {
		t.Errorf("record %d: id %v, want id: %v", i, r.ID, wantID)
	}
}

func TestCollectionsCreate(t *testing.T) {
	e := seeded(t)
	e.emu.ResetCounters()
	out := e.collection("POST", "", map[string]any{"allOrNone": false, "records": []any{
		rec("Lead", "LastName", "One", "Company", "C1"),
		rec("Lead", "LastName", "NoCompany"),
		rec("Contact", "LastName", "Three", "AccountId", emulator.AccountMatchContactID),
		rec("Lead", "Id", emulator.LeadMatchID, "LastName", "Four", "Company", "C4"),
	}})
	if c := e.emu.Counters(); c.Salesforce.Total != 1 || c.Salesforce.ByEndpoint["POST composite/sobjects"] != 1 {
		t.Errorf("counters = %+v, want one POST composite/sobjects", c.Salesforce)
	}
	if len(out) != 4 {
		t.Fatalf("results = %+v, want 4", out)
	}
	for i, prefix := range map[int]string{0: "00Q", 2: "003"} {
		if !out[i].Success || out[i].ID == nil || !strings.HasPrefix(*out[i].ID, prefix) || out[i].Errors == nil {
			t.Errorf("record %d: %+v, want a created %s with errors []", i, out[i], prefix)
		}
	}
	wantFailure(t, 1, out[1], "REQUIRED_FIELD_MISSING", false)
	if f := out[1].Errors[0].Fields; len(f) != 1 || f[0] != "Company" {
		t.Errorf("fields = %v, want [Company]", f)
	}
	wantFailure(t, 3, out[3], "INVALID_FIELD", false)
	if got := e.getRecord("Contact", *out[2].ID); got["LastName"] != "Three" {
		t.Errorf("contact = %v", got)
	}

	// allOrNone: one failure undoes the others, which say so.
	before := e.query("SELECT Id FROM Lead").TotalSize
	out = e.collection("POST", "", map[string]any{"allOrNone": true, "records": []any{
		rec("Lead", "LastName", "A", "Company", "A"),
		rec("Lead", "LastName", "B"),
		rec("Contact", "LastName", "C"),
	}})
	wantFailure(t, 0, out[0], "ALL_OR_NONE_OPERATION_ROLLED_BACK", false)
	wantFailure(t, 1, out[1], "REQUIRED_FIELD_MISSING", false)
	wantFailure(t, 2, out[2], "ALL_OR_NONE_OPERATION_ROLLED_BACK", false)
	if after := e.query("SELECT Id FROM Lead").TotalSize; after != before {
		t.Errorf("allOrNone left %d leads, want %d", after, before)
	}
	if p := e.query("SELECT Id FROM Contact WHERE LastName = 'C'"); p.TotalSize != 0 {
		t.Errorf("allOrNone kept the contact: %v", p.Records)
	}
}

func TestCollectionsMalformed(t *testing.T) {
	e := seeded(t)
	many := make([]any, 201)
	for i := range many {
		many[i] = rec("Lead", "LastName", fmt.Sprint(i), "Company", "X")
	}
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"over 200", "POST", "", map[string]any{"records": many}, 400, "EXCEEDED_ID_LIMIT"},
		{"over 200 upsert", "PATCH", "/Lead/Prospect_Id__c", map[string]any{"records": many}, 400, "EXCEEDED_ID_LIMIT"},
		{"no type", "POST", "", map[string]any{"records": []any{map[string]any{"LastName": "X"}}}, 400, "INVALID_TYPE"},
		{"unknown type", "PATCH", "", map[string]any{"records": []any{rec("Opportunity", "Id", "006000000000001AAA")}}, 400, "INVALID_TYPE"},
		{"not json", "POST", "", "{", 400, "JSON_PARSER_ERROR"},
		{"upsert on Id", "PATCH", "/Lead/Id", map[string]any{"records": []any{rec("Lead", "Id", emulator.LeadMatchID)}}, 404, "NOT_FOUND"},
		{"eleven chunks", "POST", "", map[string]any{"records": chunks(11)}, 400, "INVALID_BATCH_REQUEST"},
		{"retrieve unknown field", "GET", "/Lead?ids=" + emulator.LeadMatchID + "&fields=Nope", nil, 400, "INVALID_FIELD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.sf(tc.method, "/composite/sobjects"+tc.path, tc.body).want(t, tc.status)
			if code, _ := r.sfError(t); code != tc.code {
				t.Errorf("errorCode = %s, want %s", code, tc.code)
			}
		})
	}
	if p := e.query("SELECT Id FROM Lead WHERE Company = 'X'"); p.TotalSize != 0 {
		t.Errorf("refused requests wrote %d leads", p.TotalSize)
	}
	// Ten chunks are allowed.
	for i, r := range e.collection("POST", "", map[string]any{"records": chunks(10)}) {
		if !r.Success {
			t.Errorf("ten chunks: record %d: %+v", i, r)
		}
	}
}

// chunks makes n runs of alternating Lead and Contact records.
func chunks(n int) []any {
	var out []any
	for i := range n {
		if i%2 == 0 {
			out = append(out, rec("Lead", "LastName", "L", "Company", "Chunk"))
		} else {
			out = append(out, rec("Contact", "LastName", "C"))
		}
	}
	return out
}

func TestCollectionsUpdate(t *testing.T) {
	e := seeded(t)
	out := e.collection("PATCH", "", map[string]any{"records": []any{
		rec("Lead", "id", emulator.LeadMatchID, "Title", "CEO"),
		rec("Lead", "Title", "No Id"),
		rec("Lead", "id", emulator.LeadConvertedID, "Title", "Late"),
		rec("Contact", "Id", emulator.ContactConvertedID, "Title", "CFO"),
	}})
	if len(out) != 4 {
		t.Fatalf("results = %+v", out)
	}
	if !out[0].Success || out[0].ID == nil || *out[0].ID != emulator.LeadMatchID {
		t.Errorf("record 0: %+v", out[0])
	}
	wantFailure(t, 1, out[1], "MISSING_ARGUMENT", false)
	wantFailure(t, 2, out[2], "CANNOT_UPDATE_CONVERTED_LEAD", true)
	if !out[3].Success {
		t.Errorf("record 3: %+v", out[3])
	}
	if got := e.getRecord("Lead", emulator.LeadMatchID)["Title"]; got != "CEO" {
		t.Errorf("Title = %v", got)
	}
	if got := e.getRecord("Contact", emulator.ContactConvertedID)["Title"]; got != "CFO" {
		t.Errorf("Contact Title = %v", got)
	}
}

func TestCollectionsUpsert(t *testing.T) {
	e := seeded(t)
	body := map[string]any{"records": []any{
		rec("Lead", "Prospect_Id__c", "p-1", "LastName", "One", "Company", "C"),
		rec("Lead", "Prospect_Id__c", "p-2", "LastName", "Two"),
		rec("Lead", "LastName", "No key", "Company", "C"),
	}}
	out := e.collection("PATCH", "/Lead/Prospect_Id__c", body)
	if !out[0].Success || out[0].Created == nil || !*out[0].Created || out[0].ID == nil {
		t.Errorf("record 0: %+v, want created", out[0])
	}
	wantFailure(t, 1, out[1], "REQUIRED_FIELD_MISSING", false)
	wantFailure(t, 2, out[2], "MISSING_ARGUMENT", false)
	again := e.collection("PATCH", "/Lead/Prospect_Id__c", map[string]any{"records": []any{
		rec("Lead", "Prospect_Id__c", "P-1", "Title", "Boss"),
	}})
	if !again[0].Success || again[0].Created == nil || *again[0].Created || *again[0].ID != *out[0].ID {
		t.Errorf("second upsert: %+v, want the same record, not created", again[0])
	}
	if got := e.getRecord("Lead", *out[0].ID)["Title"]; got != "Boss" {
		t.Errorf("Title = %v", got)
	}
}

func TestCollectionsRetrieveAndDelete(t *testing.T) {
	e := seeded(t)
	want := func(r reply) {
		t.Helper()
		var got []map[string]any
		r.want(t, http.StatusOK).decode(t, &got)
		if len(got) != 4 || got[0]["Email"] != "Match.Lead@Example.com" || got[1] != nil || got[2] != nil || got[3] != nil {
			t.Errorf("retrieve = %v, want [lead, null, null, null]", got)
		}
		if _, ok := got[0]["Title"]; len(got) > 0 && ok {
			t.Errorf("retrieve returned a field not asked for: %v", got[0])
		}
	}
	ids := []string{emulator.LeadMatchID, emulator.LeadCRMDeletedID, "bogus", emulator.ContactConvertedID}
	want(e.sf("GET", "/composite/sobjects/Lead?ids="+strings.Join(ids, ",")+"&fields=Id,Email", nil))
	want(e.sf("POST", "/composite/sobjects/Lead", map[string]any{"ids": ids, "fields": []string{"Id", "Email"}}))

	out := e.collection("DELETE", "?ids="+emulator.LeadMatchID+","+emulator.LeadCRMDeletedID, nil)
	if !out[0].Success {
		t.Errorf("delete 0: %+v", out[0])
	}
	wantFailure(t, 1, out[1], "ENTITY_IS_DELETED", true)
	e.sf("GET", "/sobjects/Lead/"+emulator.LeadMatchID, nil).want(t, http.StatusNotFound)
}

func TestCollectionsAutoAssign(t *testing.T) {
	e := seeded(t) // round-robin over Alice and Carol
	two := map[string]any{"records": []any{
		rec("Lead", "LastName", "A", "Company", "A"),
		rec("Lead", "LastName", "B", "Company", "B", "OwnerId", emulator.UserBobID),
	}}
	owners := func(out []collResult) []any {
		var o []any
		for _, r := range out {
			o = append(o, e.getRecord("Lead", *r.ID)["OwnerId"])
		}
		return o
	}
	got := owners(e.collection("POST", "", two, "Sforce-Auto-Assign", "TRUE"))
	if got[0] != emulator.UserAliceID || got[1] != emulator.UserCarolID {
		t.Errorf("TRUE: owners %v, want the rule's Alice then Carol", got)
	}
	got = owners(e.collection("POST", "", two, "Sforce-Auto-Assign", "FALSE"))
	if got[0] != emulator.IntegrationUserID || got[1] != emulator.UserBobID {
		t.Errorf("FALSE: owners %v, want the integration user then Bob", got)
	}
}

func TestCollectionsInComposite(t *testing.T) {
	e := seeded(t)
	composite := func(allOrNone bool, records ...any) (int, json.RawMessage) {
		var out struct {
			CompositeResponse []struct {
				Body           json.RawMessage `json:"body"`
				HTTPStatusCode int             `json:"httpStatusCode"`
			} `json:"compositeResponse"`
		}
		e.sf("POST", "/composite", map[string]any{"allOrNone": allOrNone, "compositeRequest": []any{
			map[string]any{"method": "POST", "url": "/services/data/v62.0/composite/sobjects", "referenceId": "leads",
				"body": map[string]any{"records": records}},
		}}).want(t, http.StatusOK).decode(t, &out)
		return out.CompositeResponse[0].HTTPStatusCode, out.CompositeResponse[0].Body
	}
	status, body := composite(false, rec("Lead", "LastName", "In", "Company", "Composite"), rec("Lead", "LastName", "Bad"))
	var res []collResult
	if err := json.Unmarshal(body, &res); err != nil || status != 200 || len(res) != 2 || !res[0].Success || res[1].Success {
		t.Errorf("collection subrequest: %d %s", status, body)
	}
	// A composite allOrNone rolls back a collection with a failed record.
	composite(true, rec("Lead", "LastName", "Gone", "Company", "Composite"), rec("Lead", "LastName", "Bad"))
	if p := e.query("SELECT Id FROM Lead WHERE Company = 'Composite'"); p.TotalSize != 1 {
		t.Errorf("leads = %d, want only the first composite's", p.TotalSize)
	}
}

func TestCollectionsNestedFault(t *testing.T) {
	e := seeded(t)
	e.emu.SetFaults(emulator.Faults{Match: "POST /sobjects/Lead", Nested: true, Next500: 1})
	e.collection("POST", "", map[string]any{"records": []any{rec("Contact", "LastName", "Safe")}})
	r := e.sf("POST", "/composite/sobjects", map[string]any{"records": []any{
		rec("Contact", "LastName", "X"), rec("Lead", "LastName", "Hit", "Company", "Fault"),
	}}).want(t, http.StatusInternalServerError)
	if code, _ := r.sfError(t); code != "UNKNOWN_EXCEPTION" {
		t.Errorf("errorCode = %s", code)
	}
	if p := e.query("SELECT Id FROM Lead WHERE Company = 'Fault'"); p.TotalSize != 0 {
		t.Errorf("the faulted request wrote %d leads", p.TotalSize)
	}
	if c := e.emu.Counters(); c.Faults["salesforce 500"] != 1 {
		t.Errorf("faults = %v", c.Faults)
	}
}

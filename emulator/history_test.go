package emulator_test

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
)

// historyOf reads a record's history rows as the sync does: by parent id, newest first.
func (e *env) historyOf(object, id string) []map[string]any {
	e.t.Helper()
	return e.query(fmt.Sprintf("SELECT Id, %[1]sId, Field, OldValue, NewValue, CreatedDate, CreatedById FROM %[1]sHistory WHERE %[1]sId = '%[2]s' ORDER BY CreatedDate DESC", object, id)).Records
}

func historyFields(rows []map[string]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i], _ = r["Field"].(string)
	}
	return out
}

// Each change of a tracked field by the API is a history row: the field's API name, both
// values, the writer, the write time to the second. Untracked fields and unchanged values
// leave none.
func TestFieldHistoryRecordsTrackedChanges(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.clock.Advance(1500 * time.Millisecond)
	id := e.createLead(map[string]any{"LastName": "Lee", "Company": "Acme", "Email": "ann@history.example.com"})
	if rows := e.historyOf("Lead", id); len(rows) != 0 {
		t.Fatalf("history after a create: %v", rows)
	}
	e.clock.Advance(time.Second)
	e.sf("PATCH", "/sobjects/Lead/"+id, map[string]any{"Title": "CTO", "Status": "Working - Contacted"}).want(t, http.StatusNoContent)
	rows := e.historyOf("Lead", id)
	if len(rows) != 1 {
		t.Fatalf("history after a Title change: %v", rows)
	}
	r := rows[0]
	wantAt := testStart().Add(2500 * time.Millisecond).Truncate(time.Second).Format("2006-01-02T15:04:05.000+0000")
	if r["Field"] != "Title" || r["OldValue"] != nil || r["NewValue"] != "CTO" || r["LeadId"] != id ||
		r["CreatedById"] != emulator.IntegrationUserID || r["CreatedDate"] != wantAt || len(r["Id"].(string)) != 18 || r["Id"].(string)[:3] != "017" {
		t.Errorf("history row %v, want Title nil → CTO by the integration user at %s", r, wantAt)
	}
	e.clock.Advance(time.Minute)
	e.sf("PATCH", "/sobjects/Lead/"+id, map[string]any{"Title": "CTO"}).want(t, http.StatusNoContent)
	e.sf("PATCH", "/sobjects/Lead/"+id, map[string]any{"Title": "CEO", "FirstName": "Ann"}).want(t, http.StatusNoContent)
	rows = e.historyOf("Lead", id)
	if got := historyFields(rows); len(got) != 3 || got[2] != "Title" {
		t.Fatalf("history %v, want the two new rows before the first", got)
	}
	for _, r := range rows[:2] {
		if r["Field"] == "Title" && (r["OldValue"] != "CTO" || r["NewValue"] != "CEO") {
			t.Errorf("second Title row %v", r)
		}
	}
	// The sync's own query: its linked ids, the :recent fields.
	q := fmt.Sprintf("SELECT LeadId, Field, CreatedDate FROM LeadHistory WHERE LeadId IN ('%s') AND Field IN ('Title', 'Phone') ORDER BY CreatedDate DESC", id)
	if got := e.query(q).Records; len(got) != 2 || got[0]["Field"] != "Title" {
		t.Errorf("filtered history %v", got)
	}
	// Writes through a collection are recorded too.
	e.clock.Advance(time.Second)
	e.sf("PATCH", "/composite/sobjects", map[string]any{"allOrNone": false, "records": []any{
		map[string]any{"attributes": map[string]any{"type": "Lead"}, "id": id, "Phone": "555"},
	}}).want(t, http.StatusOK)
	if got := historyFields(e.historyOf("Lead", id)); got[0] != "Phone" {
		t.Errorf("history after a collection update %v", got)
	}
}

// A person's changes (control operations) are recorded as theirs; a deleted record's history
// leaves query with it, and queryAll shows it in the recycle bin; a restore brings it back.
func TestFieldHistoryOfPeopleAndDeletions(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	winner := e.createLead(map[string]any{"LastName": "Win", "Company": "Acme", "Email": "w@history.example.com"})
	loser := e.createLead(map[string]any{"LastName": "Lose", "Company": "Acme", "Title": "VP", "Email": "l@history.example.com"})
	e.control("POST", "/merge", map[string]any{"object": "Lead", "masterId": winner, "mergedIds": []string{loser},
		"fields": map[string]any{"Title": "VP"}}).want(t, http.StatusNoContent)
	rows := e.historyOf("Lead", winner)
	if len(rows) != 1 || rows[0]["Field"] != "Title" || rows[0]["CreatedById"] != emulator.PersonUserID {
		t.Fatalf("winner's history after a merge: %v", rows)
	}
	e.sf("PATCH", "/sobjects/Lead/"+winner, map[string]any{"Title": "SVP"}).want(t, http.StatusNoContent)
	e.control("DELETE", "/records/"+winner, nil).want(t, http.StatusNoContent)
	if rows := e.historyOf("Lead", winner); len(rows) != 0 {
		t.Errorf("a deleted Lead's history in query: %v", rows)
	}
	all := e.sf("GET", "/queryAll?q="+url.QueryEscape("SELECT Id, IsDeleted FROM LeadHistory WHERE LeadId = '"+winner+"'"), nil).want(t, http.StatusOK)
	var page struct{ Records []map[string]any }
	all.decode(t, &page)
	if len(page.Records) != 2 || page.Records[0]["IsDeleted"] != true {
		t.Errorf("queryAll of a deleted Lead's history: %v", page.Records)
	}
	e.control("POST", "/records/"+winner+"/undelete", nil).want(t, http.StatusNoContent)
	if rows := e.historyOf("Lead", winner); len(rows) != 2 {
		t.Errorf("a restored Lead's history: %v", rows)
	}

	// A converted Lead's Contact keeps a history of its own.
	lead := e.createLead(map[string]any{"LastName": "Conv", "Company": "Acme", "Email": "c@history.example.com"})
	var conv struct{ ContactID string }
	e.control("POST", "/leads/"+lead+"/convert", nil).want(t, http.StatusOK).decode(t, &conv)
	e.sf("PATCH", "/sobjects/Contact/"+conv.ContactID, map[string]any{"Title": "Owner"}).want(t, http.StatusNoContent)
	if rows := e.historyOf("Contact", conv.ContactID); len(rows) != 1 || rows[0]["ContactId"] != conv.ContactID || rows[0]["Field"] != "Title" {
		t.Errorf("Contact history: %v", rows)
	}
}

// The tracked fields are a setting: GET and PUT /emulator/field-history; an empty list stops
// tracking for its object (its history object still answers, with the rows it has); bad
// settings are refused; Reset restores the default.
func TestFieldHistorySetting(t *testing.T) {
	e := seeded(t)
	var got emulator.FieldHistory
	e.control("GET", "/field-history", nil).want(t, http.StatusOK).decode(t, &got)
	if !reflect.DeepEqual(got, emulator.DefaultFieldHistory()) {
		t.Fatalf("default tracking %v", got)
	}
	e.control("PUT", "/field-history", map[string]any{"lead": []string{"phone", "Phone", "OwnerId"}}).want(t, http.StatusNoContent)
	e.control("GET", "/field-history", nil).want(t, http.StatusOK).decode(t, &got)
	if !reflect.DeepEqual(got["Lead"], []string{"Phone", "OwnerId"}) || !reflect.DeepEqual(got["Contact"], emulator.DefaultFieldHistory()["Contact"]) {
		t.Fatalf("tracking after PUT %v", got)
	}
	id := e.createLead(map[string]any{"LastName": "Lee", "Company": "Acme"})
	e.sf("PATCH", "/sobjects/Lead/"+id, map[string]any{"Title": "CTO", "Phone": "1", "OwnerId": emulator.UserBobID}).want(t, http.StatusNoContent)
	if got := historyFields(e.historyOf("Lead", id)); len(got) != 2 {
		t.Errorf("history with Phone and OwnerId tracked: %v", got)
	}
	e.control("PUT", "/field-history", map[string]any{"Lead": []string{}}).want(t, http.StatusNoContent)
	e.sf("PATCH", "/sobjects/Lead/"+id, map[string]any{"Phone": "2"}).want(t, http.StatusNoContent)
	if got := historyFields(e.historyOf("Lead", id)); len(got) != 2 {
		t.Errorf("history with tracking off: %v, want the 2 earlier rows only", got)
	}
	for _, bad := range []map[string]any{
		{"Account": []string{"Name"}},
		{"Lead": []string{"Nope__c"}},
		{"Lead": []string{"Id"}},
		{"Lead": []string{"LastModifiedById"}},
		{"Contact": []string{"Company"}},
		{"Lead": []string{"Title"}, "lead": []string{"Phone"}},
	} {
		e.control("PUT", "/field-history", bad).want(t, http.StatusBadRequest)
	}
	e.control("POST", "/reset", nil).want(t, http.StatusNoContent)
	e.control("GET", "/field-history", nil).want(t, http.StatusOK).decode(t, &got)
	if !reflect.DeepEqual(got, emulator.DefaultFieldHistory()) {
		t.Errorf("tracking after reset %v", got)
	}
}

package emulator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
)

// queryAll runs SOQL through queryAll, which also returns the recycle bin.
func (e *env) queryAll(soql string) queryPage {
	e.t.Helper()
	var p queryPage
	e.sf("GET", "/queryAll?q="+url.QueryEscape(soql), nil).want(e.t, http.StatusOK).decode(e.t, &p)
	return p
}

// controlError returns the message of a refused control operation, failing unless it
// has the status.
func (r reply) controlError(t *testing.T, status int) string {
	t.Helper()
	r.want(t, status)
	var body struct {
		Error string `json:"error"`
	}
	r.decode(t, &body)
	if body.Error == "" {
		t.Fatalf("refusal without an error: %s", r.body)
	}
	return body.Error
}

// A merge as Salesforce shows it through REST: the losers are in the recycle bin with
// MasterRecordId naming the winner (queryAll and the deleted feed only), the winner takes
// the values the person picked, and both moves are the person's.
func TestMergeLeads(t *testing.T) {
	e := seeded(t)
	t0 := testStart()
	winner := e.createLead(map[string]any{"LastName": "Winner", "Company": "Acme", "Email": "win@example.com"})
	loser1 := e.createLead(map[string]any{"LastName": "Loser", "Company": "Acme", "Email": "lose@example.com", "Title": "CFO"})
	loser2 := e.createLead(map[string]any{"LastName": "Other", "Company": "Acme"})
	e.clock.Advance(2 * time.Minute)
	merged := t0.Add(2 * time.Minute)

	e.control("POST", "/merge", map[string]any{
		"object": "Lead", "masterId": winner, "mergedIds": []string{loser1, loser2[:15]}, // a 15-character id is fine
		"fields": map[string]any{"Email": "lose@example.com", "Title": "CFO"},
	}).want(t, http.StatusNoContent)

	for _, id := range []string{loser1, loser2} {
		if code, _ := e.sf("GET", "/sobjects/Lead/"+id, nil).want(t, http.StatusNotFound).sfError(t); code != "NOT_FOUND" {
			t.Errorf("GET merged %s: %s, want NOT_FOUND", id, code)
		}
	}
	if p := e.query("SELECT Id FROM Lead WHERE Id IN ('" + loser1 + "', '" + loser2 + "')"); p.TotalSize != 0 {
		t.Errorf("query returned merged records: %v", ids(p.Records))
	}
	p := e.queryAll("SELECT Id, IsDeleted, MasterRecordId, SystemModstamp FROM Lead WHERE MasterRecordId = '" + winner + "' ORDER BY Id")
	if got, want := ids(p.Records), []string{loser1, loser2}; !slices.Equal(got, want) {
		t.Fatalf("queryAll by MasterRecordId = %v, want %v", got, want)
	}
	for _, r := range p.Records {
		if r["IsDeleted"] != true || r["MasterRecordId"] != winner || r["SystemModstamp"] != sfTime(merged) {
			t.Errorf("merged record %v", r)
		}
	}

	w := e.getRecord("Lead", winner)
	if w["Email"] != "lose@example.com" || w["Title"] != "CFO" || w["LastName"] != "Winner" || w["MasterRecordId"] != nil {
		t.Errorf("winner = %v", w)
	}
	if w["LastModifiedById"] != emulator.PersonUserID || w["CreatedById"] != emulator.IntegrationUserID ||
		w["SystemModstamp"] != sfTime(merged) || w["LastModifiedDate"] != sfTime(merged) {
		t.Errorf("winner audit: by %v (created by %v) at %v / %v", w["LastModifiedById"], w["CreatedById"], w["SystemModstamp"], w["LastModifiedDate"])
	}
	if p := e.queryAll("SELECT Id, LastModifiedById FROM Lead WHERE Id = '" + loser1 + "'"); p.Records[0]["LastModifiedById"] != emulator.PersonUserID {
		t.Errorf("loser modified by %v, want the person", p.Records[0]["LastModifiedById"])
	}
	// Live records, the winner included, have no MasterRecordId.
	if p := e.query("SELECT Id FROM Lead WHERE MasterRecordId != null"); p.TotalSize != 0 {
		t.Errorf("live records with a MasterRecordId: %v", ids(p.Records))
	}

	e.clock.Advance(2 * time.Minute)
	var del deletedReply
	e.feed("Lead", "deleted", t0, t0.Add(10*time.Minute)).want(t, http.StatusOK).decode(t, &del)
	var deleted []string
	for _, d := range del.DeletedRecords {
		deleted = append(deleted, d.ID)
		if d.DeletedDate != sfTime(merged) {
			t.Errorf("deletedDate of %s = %s, want %s", d.ID, d.DeletedDate, sfTime(merged))
		}
	}
	slices.Sort(deleted)
	if want := []string{loser1, loser2}; !slices.Equal(deleted, want) {
		t.Errorf("deleted feed = %v, want %v", deleted, want)
	}
	var upd updatedReply
	e.feed("Lead", "updated", merged, t0.Add(10*time.Minute)).want(t, http.StatusOK).decode(t, &upd)
	if !slices.Equal(upd.IDs, []string{winner}) {
		t.Errorf("updated feed since the merge = %v, want the winner only", upd.IDs)
	}
}

// Merging Contacts through the Go API; the winner may take a loser's email under the Lead
// duplicate rule because the losers leave first.
func TestMergeContactsAndDuplicateRule(t *testing.T) {
	e := seeded(t)
	ctx := context.Background()
	var c struct {
		ID string `json:"id"`
	}
	e.sf("POST", "/sobjects/Contact/", map[string]any{"LastName": "Copy", "Email": "both.copy@example.com"}).want(t, http.StatusCreated).decode(t, &c)
	err := e.emu.Merge(ctx, emulator.MergeRequest{Object: "contact", MasterID: emulator.ContactMatchContactAndLeadID, MergedIDs: []string{c.ID}})
	if err != nil {
		t.Fatal(err)
	}
	p := e.queryAll("SELECT Id, IsDeleted, MasterRecordId FROM Contact WHERE Id = '" + c.ID + "'")
	if p.TotalSize != 1 || p.Records[0]["IsDeleted"] != true || p.Records[0]["MasterRecordId"] != emulator.ContactMatchContactAndLeadID {
		t.Errorf("merged contact = %v", p.Records)
	}

	e.emu.SetDuplicateRule(emulator.DuplicateRule{LeadEmail: true})
	winner := e.createLead(map[string]any{"LastName": "Keep", "Company": "Acme", "Email": "keep@example.com"})
	loser := e.createLead(map[string]any{"LastName": "Drop", "Company": "Acme", "Email": "drop@example.com"})
	e.control("POST", "/merge", map[string]any{"object": "Lead", "masterId": winner, "mergedIds": []string{loser},
		"fields": map[string]any{"Email": "drop@example.com"}}).want(t, http.StatusNoContent)
	if w := e.getRecord("Lead", winner); w["Email"] != "drop@example.com" {
		t.Errorf("winner email %v", w["Email"])
	}
	// Another open Lead's email is still a duplicate.
	e.createLead(map[string]any{"LastName": "Other", "Company": "Acme", "Email": "other@example.com"})
	third := e.createLead(map[string]any{"LastName": "Third", "Company": "Acme"})
	msg := e.control("POST", "/merge", map[string]any{"object": "Lead", "masterId": third, "mergedIds": []string{winner},
		"fields": map[string]any{"Email": "other@example.com"}}).controlError(t, http.StatusBadRequest)
	if !strings.HasPrefix(msg, "DUPLICATES_DETECTED") {
		t.Errorf("duplicate email: %s", msg)
	}
	e.getRecord("Lead", winner) // the refused merge deleted nothing
}

func TestMergeRefusals(t *testing.T) {
	e := seeded(t)
	a := e.createLead(map[string]any{"LastName": "A", "Company": "Acme"})
	b := e.createLead(map[string]any{"LastName": "B", "Company": "Acme"})
	c := e.createLead(map[string]any{"LastName": "C", "Company": "Acme"})
	d := e.createLead(map[string]any{"LastName": "D", "Company": "Acme"})
	const unknownLead = "00Q000000000999AAA"
	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		says   string
	}{
		{"other object", map[string]any{"object": "Account", "masterId": a, "mergedIds": []string{b}}, 400, "Lead or Contact"},
		{"no losers", map[string]any{"object": "Lead", "masterId": a, "mergedIds": []string{}}, 400, "one or two mergedIds"},
		{"four records", map[string]any{"object": "Lead", "masterId": a, "mergedIds": []string{b, c, d}}, 400, "up to three records"},
		{"winner among losers", map[string]any{"object": "Lead", "masterId": a, "mergedIds": []string{b, a}}, 400, "merged into itself"},
		{"listed twice", map[string]any{"object": "Lead", "masterId": a, "mergedIds": []string{b, b[:15]}}, 400, "listed twice"},
		{"mixed objects", map[string]any{"object": "Lead", "masterId": a, "mergedIds": []string{emulator.ContactMatchContactAndLeadID}}, 400, "of one object"},
		{"mixed master", map[string]any{"object": "Contact", "masterId": a, "mergedIds": []string{emulator.ContactMatchContactAndLeadID}}, 400, "of one object"},
		{"malformed", map[string]any{"object": "Lead", "masterId": a, "mergedIds": []string{"00Q-bad"}}, 400, "malformed"},
		{"unknown", map[string]any{"object": "Lead", "masterId": a, "mergedIds": []string{unknownLead}}, 404, "not found"},
		{"deleted loser", map[string]any{"object": "Lead", "masterId": a, "mergedIds": []string{emulator.LeadCRMDeletedID}}, 400, "ENTITY_IS_DELETED"},
		{"deleted master", map[string]any{"object": "Lead", "masterId": emulator.LeadCRMDeletedID, "mergedIds": []string{a}}, 400, "ENTITY_IS_DELETED"},
		{"converted loser", map[string]any{"object": "Lead", "masterId": a, "mergedIds": []string{emulator.LeadConvertedID}}, 400, "CANNOT_UPDATE_CONVERTED_LEAD"},
		{"converted master", map[string]any{"object": "Lead", "masterId": emulator.LeadConvertedID, "mergedIds": []string{a}}, 400, "CANNOT_UPDATE_CONVERTED_LEAD"},
		{"unknown field", map[string]any{"object": "Lead", "masterId": a, "mergedIds": []string{b}, "fields": map[string]any{"Bogus": "x"}}, 400, "INVALID_FIELD"},
		{"read-only field", map[string]any{"object": "Lead", "masterId": a, "mergedIds": []string{b}, "fields": map[string]any{"MasterRecordId": c}}, 400, "INVALID_FIELD_FOR_INSERT_UPDATE"},
		{"bad email", map[string]any{"object": "Lead", "masterId": a, "mergedIds": []string{b}, "fields": map[string]any{"Email": "nope"}}, 400, "INVALID_EMAIL_ADDRESS"},
		// Refused after the losers were written: the whole merge is undone.
		{"required field", map[string]any{"object": "Lead", "masterId": a, "mergedIds": []string{b, c}, "fields": map[string]any{"LastName": ""}}, 400, "REQUIRED_FIELD_MISSING"},
		{"bad owner", map[string]any{"object": "Lead", "masterId": a, "mergedIds": []string{b}, "fields": map[string]any{"OwnerId": "005000000000999AAA"}}, 400, "INVALID_CROSS_REFERENCE_KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := e.control("POST", "/merge", tc.body).controlError(t, tc.status)
			if !strings.Contains(msg, tc.says) {
				t.Errorf("refusal %q does not say %q", msg, tc.says)
			}
		})
	}
	if r := e.control("POST", "/merge", "{not json"); r.status != http.StatusBadRequest {
		t.Errorf("bad JSON: %d %s", r.status, r.body)
	}
	for _, id := range []string{a, b, c, d} {
		if rec := e.getRecord("Lead", id); rec["LastModifiedById"] != emulator.IntegrationUserID {
			t.Errorf("refused merges changed %s: %v", id, rec)
		}
	}
}

// Restoring from the recycle bin: whatever put the record there (the API, the delete
// control, a merge), it is live again, the person's change, in the updated feed of its
// span and no longer in the deleted feed; MasterRecordId is cleared.
func TestUndeleteRecord(t *testing.T) {
	e := seeded(t)
	t0 := testStart()
	byAPI := e.createLead(map[string]any{"LastName": "Api", "Company": "Acme", "Email": "api@example.com"})
	byControl := e.createLead(map[string]any{"LastName": "Control", "Company": "Acme"})
	winner := e.createLead(map[string]any{"LastName": "Winner", "Company": "Acme"})
	byMerge := e.createLead(map[string]any{"LastName": "Merged", "Company": "Acme"})
	var c struct {
		ID string `json:"id"`
	}
	e.sf("POST", "/sobjects/Contact/", map[string]any{"LastName": "Gone"}).want(t, http.StatusCreated).decode(t, &c)
	e.sf("DELETE", "/sobjects/Lead/"+byAPI, nil).want(t, http.StatusNoContent)
	e.control("DELETE", "/records/"+byControl, nil).want(t, http.StatusNoContent)
	e.control("DELETE", "/records/"+c.ID, nil).want(t, http.StatusNoContent)
	e.control("POST", "/merge", map[string]any{"object": "Lead", "masterId": winner, "mergedIds": []string{byMerge}}).want(t, http.StatusNoContent)

	e.clock.Advance(3 * time.Minute)
	restored := t0.Add(3 * time.Minute)
	for _, id := range []string{byAPI, byControl, byMerge, c.ID, emulator.LeadCRMDeletedID} {
		e.control("POST", "/records/"+id+"/undelete", nil).want(t, http.StatusNoContent)
	}
	if err := e.emu.UndeleteRecord(context.Background(), byAPI); err == nil {
		t.Error("UndeleteRecord of a live record: no error")
	}

	leads := []string{byAPI, byControl, byMerge, emulator.LeadCRMDeletedID}
	p := e.query("SELECT Id, IsDeleted, MasterRecordId, LastModifiedById, SystemModstamp FROM Lead WHERE Id IN ('" + strings.Join(leads, "', '") + "')")
	if p.TotalSize != len(leads) {
		t.Fatalf("query after undelete: %v", ids(p.Records))
	}
	for _, r := range p.Records {
		if r["IsDeleted"] != false || r["MasterRecordId"] != nil || r["LastModifiedById"] != emulator.PersonUserID || r["SystemModstamp"] != sfTime(restored) {
			t.Errorf("restored %v", r)
		}
	}
	if rec := e.getRecord("Contact", c.ID); rec["IsDeleted"] != false {
		t.Errorf("restored contact %v", rec)
	}
	if rec := e.getRecord("Lead", byAPI); rec["Email"] != "api@example.com" {
		t.Errorf("restored lead lost its values: %v", rec)
	}
	// A restored record takes writes again.
	e.sf("PATCH", "/sobjects/Lead/"+byMerge, map[string]any{"Title": "Back"}).want(t, http.StatusNoContent)

	e.clock.Advance(2 * time.Minute)
	var upd updatedReply
	e.feed("Lead", "updated", restored, t0.Add(10*time.Minute)).want(t, http.StatusOK).decode(t, &upd)
	slices.Sort(upd.IDs)
	want := slices.Clone(leads)
	slices.Sort(want)
	if !slices.Equal(upd.IDs, want) {
		t.Errorf("updated feed over the restore = %v, want %v", upd.IDs, want)
	}
	var del deletedReply
	e.feed("Lead", "deleted", t0.Add(-5*24*time.Hour), t0.Add(10*time.Minute)).want(t, http.StatusOK).decode(t, &del)
	if len(del.DeletedRecords) != 0 {
		t.Errorf("deleted feed still lists restored records: %+v", del.DeletedRecords)
	}
}

func TestUndeleteRefusals(t *testing.T) {
	e := seeded(t)
	for _, tc := range []struct {
		id     string
		status int
		says   string
	}{
		{emulator.LeadMatchID, 400, "UNDELETE_FAILED"},
		{"00Q000000000999AAA", 404, "not found"},
		{"not-an-id", 400, "malformed"},
		{emulator.AccountMatchContactID, 400, "only Lead and Contact"},
	} {
		if msg := e.control("POST", "/records/"+tc.id+"/undelete", nil).controlError(t, tc.status); !strings.Contains(msg, tc.says) {
			t.Errorf("undelete %s: %q does not say %q", tc.id, msg, tc.says)
		}
	}
}

// MasterRecordId is a read-only field of Lead and Contact (not Account), in every
// representation of a record.
func TestMasterRecordIdField(t *testing.T) {
	e := seeded(t)
	r := e.sf("POST", "/sobjects/Lead/", map[string]any{"LastName": "X", "Company": "Y", "MasterRecordId": emulator.LeadMatchID})
	if code, fields := r.want(t, http.StatusBadRequest).sfError(t); code != "INVALID_FIELD_FOR_INSERT_UPDATE" || !slices.Equal(fields, []string{"MasterRecordId"}) {
		t.Errorf("writing MasterRecordId: %s %v", code, fields)
	}
	var rec map[string]json.RawMessage
	e.sf("GET", "/sobjects/Contact/"+emulator.ContactConvertedID, nil).want(t, http.StatusOK).decode(t, &rec)
	if string(rec["MasterRecordId"]) != "null" {
		t.Errorf("Contact MasterRecordId = %s", rec["MasterRecordId"])
	}
	if code := e.queryError("SELECT MasterRecordId FROM Account"); code != "INVALID_FIELD" {
		t.Errorf("Account MasterRecordId: %s", code)
	}
}

package emulator_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
)

// CreatedById and LastModifiedById name the user of the token that wrote the record (the
// API's audit fields, "ID of the User who last updated this record"): the integration's
// client credentials, a person's JWT, or, for the control operations standing for a
// person in Salesforce's UI, PersonUserID.
func TestAuditFieldsNameTheWriter(t *testing.T) {
	e := seeded(t)
	integration := e.token
	alice := e.postForm("/services/oauth2/token", jwtForm(t, "https://login.salesforce.com", e.clock.Now().Add(time.Minute).Unix()))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	alice.want(t, http.StatusOK).decode(t, &tok)
	asAlice := func() { e.token = tok.AccessToken }
	asIntegration := func() { e.token = integration }
	audit := func(sobject, id string) (created, modified string) {
		t.Helper()
		rec := e.getRecord(sobject, id)
		created, _ = rec["CreatedById"].(string)
		modified, _ = rec["LastModifiedById"].(string)
		return created, modified
	}
	check := func(step, sobject, id, wantCreated, wantModified string) {
		t.Helper()
		if c, m := audit(sobject, id); c != wantCreated || m != wantModified {
			t.Errorf("%s: CreatedById, LastModifiedById = %q, %q; want %q, %q", step, c, m, wantCreated, wantModified)
		}
	}

	lead := e.createLead(map[string]any{"LastName": "Audit", "Company": "Audit Inc", "Email": "audit@example.com"})
	check("created by the integration", "Lead", lead, emulator.IntegrationUserID, emulator.IntegrationUserID)

	asAlice()
	e.sf("PATCH", "/sobjects/Lead/"+lead, map[string]any{"Title": "CTO"}).want(t, http.StatusNoContent)
	check("updated by Alice", "Lead", lead, emulator.IntegrationUserID, emulator.UserAliceID)

	asIntegration()
	e.collection("PATCH", "", map[string]any{"allOrNone": false, "records": []any{rec("Lead", "id", lead, "Title", "CEO")}})
	check("updated by the integration in a collection", "Lead", lead, emulator.IntegrationUserID, emulator.IntegrationUserID)

	asAlice()
	created := e.collection("POST", "", map[string]any{"allOrNone": false, "records": []any{
		rec("Contact", "LastName", "Audit", "Email", "audit.contact@example.com")}})
	if len(created) != 1 || !created[0].Success || created[0].ID == nil {
		t.Fatalf("collection create: %+v", created)
	}
	contact := *created[0].ID
	check("created by Alice in a collection", "Contact", contact, emulator.UserAliceID, emulator.UserAliceID)

	asIntegration()
	e.sf("PATCH", "/sobjects/Contact/Prospect_Id__c/audit-1", map[string]any{"LastName": "Upserted", "Email": "upserted@example.com"}).want(t, http.StatusCreated)
	rows := e.query("SELECT Id, CreatedById, LastModifiedById FROM Contact WHERE Prospect_Id__c = 'audit-1'").Records
	if len(rows) != 1 || rows[0]["CreatedById"] != emulator.IntegrationUserID || rows[0]["LastModifiedById"] != emulator.IntegrationUserID {
		t.Errorf("upserted by the integration: %v", rows)
	}
	if rows := e.query("SELECT Id FROM Lead WHERE LastModifiedById = '" + emulator.IntegrationUserID + "' AND Id = '" + lead + "'").Records; len(rows) != 1 {
		t.Errorf("WHERE LastModifiedById = the integration user: %d rows, want 1", len(rows))
	}

	e.control("POST", "/leads/"+lead+"/convert", nil).want(t, http.StatusOK)
	check("converted in the UI", "Lead", lead, emulator.IntegrationUserID, emulator.PersonUserID)
}

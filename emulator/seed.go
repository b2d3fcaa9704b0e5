package emulator

import (
	"context"
	"database/sql"
	"time"
)

// Salesforce users and the queue of the sample org. The integration user exists even
// without seeding: it is the API user every org has.
const (
	// IntegrationUserID owns records created without an owner and without an assignment rule.
	IntegrationUserID = "005000000000001AAA"
	// UserAliceID is an active Salesforce user (mapped from AEUserAlice).
	UserAliceID = "005000000000002AAA"
	// UserBobID is an active Salesforce user (mapped from AEUserBob).
	UserBobID = "005000000000003AAA"
	// UserCarolID is an active Salesforce user no AE user maps to (round-robin target).
	UserCarolID = "005000000000004AAA"
	// PersonUserID is who the control operations (a conversion, a deletion) and seeded
	// records are attributed to in CreatedById and LastModifiedById: a person working in
	// Salesforce, not the integration.
	PersonUserID = UserAliceID
	// UserAliceUsername is UserAliceID's Username: the JWT subject to act as Alice through
	// the API, as a person's changes would be made.
	UserAliceUsername = "alice@emulator.local"
	// QueueLeadsID is a lead queue, the owner a "queue" assignment rule sets.
	QueueLeadsID = "00G000000000001EAA"
)

// Seeded Salesforce records.
const (
	// LeadMatchID matches ProspectMatchLead (its Email differs only in letter case).
	LeadMatchID = "00Q000000000001EAA"
	// LeadMatchContactAndLeadID shares its email with ContactMatchContactAndLeadID and is
	// the more recently modified of the two.
	LeadMatchContactAndLeadID = "00Q000000000002EAA"
	// LeadConvertedID is a converted Lead of ProspectConvertedLead's email.
	LeadConvertedID = "00Q000000000003EAA"
	// LeadMatchUnassignedID matches ProspectMatchUnassigned.
	LeadMatchUnassignedID = "00Q000000000004EAA"
	// LeadCRMDeletedID is the deleted Lead behind ProspectCRMDeleted's marker.
	LeadCRMDeletedID = "00Q000000000005EAA"
	// ContactMatchContactAndLeadID matches ProspectMatchContactAndLead (and must win).
	ContactMatchContactAndLeadID = "003000000000001AAA"
	// ContactConvertedID is the Contact LeadConvertedID was converted into.
	ContactConvertedID = "003000000000002AAA"
	// AccountMatchContactID is the Account of ContactMatchContactAndLeadID.
	AccountMatchContactID = "001000000000001AAA"
	// AccountConvertedID is the Account LeadConvertedID was converted into.
	AccountConvertedID = "001000000000002AAA"
)

// Seeded Account Engagement users.
const (
	// AEUserAlice maps to UserAliceID.
	AEUserAlice = 101
	// AEUserBob maps to UserBobID.
	AEUserBob = 102
	// AEUserNoMapping has no Salesforce user.
	AEUserNoMapping = 103
)

// Seeded prospects, one per rule and edge case of docs/rules.md.
const (
	// ProspectDoNotSync is flagged "Do not sync with CRM" and assigned to Alice (R1).
	ProspectDoNotSync = 1001
	// ProspectMatchLead matches LeadMatchID and is assigned to Alice (R2).
	ProspectMatchLead = 1002
	// ProspectMatchContactAndLead matches a Contact and a Lead; the Contact wins (R2).
	ProspectMatchContactAndLead = 1003
	// ProspectConvertedLead matches a converted Lead whose Contact must be used (R2).
	ProspectConvertedLead = 1004
	// ProspectMatchUnassigned matches LeadMatchUnassignedID but has no assigned user (R3).
	ProspectMatchUnassigned = 1005
	// ProspectAssignedNoMatch is assigned to Bob and matches nothing (R4).
	ProspectAssignedNoMatch = 1006
	// ProspectAssignedUnmapped is assigned to AEUserNoMapping and matches nothing (R4).
	ProspectAssignedUnmapped = 1007
	// ProspectUnassignedNoMatch has no assigned user and no match (R5/R6).
	ProspectUnassignedNoMatch = 1008
	// ProspectUnassignedNoMatch2 is a second unassigned prospect without match (R5/R6).
	ProspectUnassignedNoMatch2 = 1009
	// ProspectNoEmail has no email address.
	ProspectNoEmail = 1010
	// ProspectBadEmail has the email "not-an-email" (Salesforce rejects it).
	ProspectBadEmail = 1011
	// ProspectMissingNames is assigned to Alice, matches nothing and lacks lastName and company.
	ProspectMissingNames = 1012
	// ProspectCRMDeleted carries the [[crm_deleted]] marker (its Lead was deleted).
	ProspectCRMDeleted = 1013
	// ProspectQuoteEmail has the email o'neil+x@example.com and is assigned to Bob.
	ProspectQuoteEmail = 1014
)

const (
	markerDoNotSync  = "[[crm_ignore_prospect]]"
	markerCRMDeleted = "[[crm_deleted]]"
)

type seedProspect struct {
	id                          int64
	email, first, last, company string
	assigned                    int64
	sfID, sfLead, sfContact     string
}

// seed writes the sample data set; INSERT OR REPLACE makes it repeatable.
func (e *Emulator) seed(ctx context.Context, tx *sql.Tx) error {
	now := e.now().UTC().Truncate(time.Second)
	created := now.Add(-30 * 24 * time.Hour)

	users := []record{
		{"Id": IntegrationUserID, "Username": "integration@emulator.local", "Email": "integration@example.com", "Name": "Integration User", "IsActive": true},
		{"Id": UserAliceID, "Username": UserAliceUsername, "Email": "alice@example.com", "Name": "Alice Anders", "IsActive": true},
		{"Id": UserBobID, "Username": "bob@emulator.local", "Email": "bob@example.com", "Name": "Bob Brown", "IsActive": true},
		{"Id": UserCarolID, "Username": "carol@emulator.local", "Email": "carol@example.com", "Name": "Carol Chen", "IsActive": true},
	}
	for _, u := range users {
		if err := e.insertRecord(ctx, tx, e.user, u, true); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO "Queue" ("Id", "Name") VALUES (?, ?)`, QueueLeadsID, "Lead Queue"); err != nil {
		return err
	}

	accounts := []record{
		{"Id": AccountMatchContactID, "Name": "Both Industries"},
		{"Id": AccountConvertedID, "Name": "Converted Corp"},
	}
	for _, a := range accounts {
		a["CreatedDate"], a["LastModifiedDate"], a["IsDeleted"] = created, created, false
		if err := e.insertRecord(ctx, tx, e.account, a, true); err != nil {
			return err
		}
	}

	contacts := []record{
		{"Id": ContactMatchContactAndLeadID, "Email": "both@example.com", "FirstName": "Bea", "LastName": "Both",
			"OwnerId": UserBobID, "AccountId": AccountMatchContactID, "LastModifiedDate": now.Add(-48 * time.Hour)},
		{"Id": ContactConvertedID, "Email": "converted@example.com", "FirstName": "Conrad", "LastName": "Converted",
			"OwnerId": UserBobID, "AccountId": AccountConvertedID, "LastModifiedDate": now.Add(-24 * time.Hour)},
	}
	for _, c := range contacts {
		c["CreatedDate"], c["IsDeleted"] = created, false
		if err := e.insertRecord(ctx, tx, e.contact, fill(e.contact, c), true); err != nil {
			return err
		}
	}

	leads := []record{
		// Unicode names and a letter-case difference in the email exercise matching.
		{"Id": LeadMatchID, "Email": "Match.Lead@Example.com", "FirstName": "Zoë", "LastName": "Ångström",
			"Company": "Müller GmbH", "OwnerId": UserAliceID, "LastModifiedDate": now.Add(-72 * time.Hour)},
		{"Id": LeadMatchContactAndLeadID, "Email": "both@example.com", "FirstName": "Bea", "LastName": "Both",
			"Company": "Both Industries", "OwnerId": UserCarolID, "LastModifiedDate": now.Add(-1 * time.Hour)},
		{"Id": LeadConvertedID, "Email": "converted@example.com", "FirstName": "Conrad", "LastName": "Converted",
			"Company": "Converted Corp", "OwnerId": UserBobID, "Status": "Closed - Converted", "IsConverted": true,
			"ConvertedContactId": ContactConvertedID, "ConvertedAccountId": AccountConvertedID, "LastModifiedDate": now.Add(-24 * time.Hour)},
		{"Id": LeadMatchUnassignedID, "Email": "unassigned.match@example.com", "FirstName": "Uma", "LastName": "Unassigned",
			"Company": "Waiting Ltd", "OwnerId": UserCarolID, "LastModifiedDate": now.Add(-96 * time.Hour)},
		{"Id": LeadCRMDeletedID, "Email": "crm.deleted@example.com", "FirstName": "Dan", "LastName": "Deleted",
			"Company": "Gone Inc", "OwnerId": UserAliceID, "IsDeleted": true, "LastModifiedDate": now.Add(-120 * time.Hour)},
	}
	for _, l := range leads {
		l["CreatedDate"] = created
		if l["Status"] == nil {
			l["Status"] = leadStatusOpen
		}
		if err := e.insertRecord(ctx, tx, e.lead, fill(e.lead, l), true); err != nil {
			return err
		}
	}

	aeUsers := []struct {
		id                             int64
		email, first, last, user, sfID string
	}{
		{AEUserAlice, "alice@example.com", "Alice", "Anders", "alice@emulator.local", UserAliceID},
		{AEUserBob, "bob@example.com", "Bob", "Brown", "bob@emulator.local", UserBobID},
		{AEUserNoMapping, "dave@example.com", "Dave", "Nomap", "dave@emulator.local", ""},
	}
	for _, u := range aeUsers {
		if _, err := tx.ExecContext(ctx,
			`INSERT OR REPLACE INTO ae_users (id, email, first_name, last_name, username, salesforce_id, created_at, updated_at, is_deleted)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`,
			u.id, u.email, u.first, u.last, u.user, nullable(u.sfID), created.Unix(), created.Unix()); err != nil {
			return err
		}
	}

	prospects := []seedProspect{
		{id: ProspectDoNotSync, email: "donotsync@example.com", first: "Dora", last: "Nosync", company: "Private Co", assigned: AEUserAlice,
			sfID: markerDoNotSync, sfLead: markerDoNotSync, sfContact: markerDoNotSync},
		{id: ProspectMatchLead, email: "match.lead@example.com", first: "Zoë", last: "Ångström", company: "Müller GmbH", assigned: AEUserAlice},
		{id: ProspectMatchContactAndLead, email: "both@example.com", first: "Bea", last: "Both", company: "Both Industries", assigned: AEUserAlice},
		{id: ProspectConvertedLead, email: "converted@example.com", first: "Conrad", last: "Converted", company: "Converted Corp", assigned: AEUserBob},
		{id: ProspectMatchUnassigned, email: "unassigned.match@example.com", first: "Uma", last: "Unassigned", company: "Waiting Ltd"},
		{id: ProspectAssignedNoMatch, email: "assigned.nomatch@example.com", first: "Nick", last: "New", company: "Fresh Start", assigned: AEUserBob},
		{id: ProspectAssignedUnmapped, email: "assigned.unmapped@example.com", first: "Ursula", last: "Unmapped", company: "Orphan Ltd", assigned: AEUserNoMapping},
		{id: ProspectUnassignedNoMatch, email: "unassigned.one@example.com", first: "Otto", last: "One", company: "Rule Co"},
		{id: ProspectUnassignedNoMatch2, email: "unassigned.two@example.com", first: "Tina", last: "Two", company: "Rule Co"},
		{id: ProspectNoEmail, first: "Nora", last: "Noemail", company: "Acme", assigned: AEUserAlice},
		{id: ProspectBadEmail, email: "not-an-email", first: "Bert", last: "Bademail", company: "Acme", assigned: AEUserAlice},
		{id: ProspectMissingNames, email: "missing.names@example.com", first: "Mia", assigned: AEUserAlice},
		{id: ProspectCRMDeleted, email: "crm.deleted@example.com", first: "Dan", last: "Deleted", company: "Gone Inc", assigned: AEUserAlice,
			sfID: markerCRMDeleted, sfLead: markerCRMDeleted},
		{id: ProspectQuoteEmail, email: "o'neil+x@example.com", first: "Owen", last: "O'Neil", company: "O'Neil & Sons", assigned: AEUserBob},
	}
	for i, p := range prospects {
		// Distinct, increasing updatedAt values make change-feed ordering deterministic.
		updated := now.Add(-time.Duration(len(prospects)-i) * time.Minute)
		var assigned any
		if p.assigned != 0 {
			assigned = p.assigned
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT OR REPLACE INTO prospects (id, email, first_name, last_name, company, job_title, phone, assigned_to_id,
			   salesforce_id, salesforce_lead_id, salesforce_contact_id, salesforce_owner_id, created_at, updated_at, is_deleted)
			 VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?, NULL, ?, ?, 0)`,
			p.id, nullable(p.email), nullable(p.first), nullable(p.last), nullable(p.company), assigned,
			nullable(p.sfID), nullable(p.sfLead), nullable(p.sfContact), created.Unix(), updated.Unix()); err != nil {
			return err
		}
	}

	if err := putSetting(ctx, tx, settingAssignmentRule, AssignmentRule{Mode: modeRoundRobin, UserIDs: []string{UserAliceID, UserCarolID}}); err != nil {
		return err
	}
	return putSetting(ctx, tx, settingRoundRobin, 0)
}

// fill gives every field of o a value (nil / false) so partial seed rows are complete.
func fill(o *objectDef, r record) record {
	for _, f := range o.Fields {
		if _, ok := r[f.Name]; !ok {
			if f.Kind == kBool {
				r[f.Name] = false
			} else {
				r[f.Name] = nil
			}
		}
	}
	return r
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

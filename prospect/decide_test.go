package prospect

import (
	"maps"
	"testing"
	"time"
)

const (
	alice   = "005000000000001AAA"
	bob     = "005000000000002AAA"
	queue   = "00G000000000001AAA"
	leadA   = "00Q000000000001AAA"
	leadB   = "00Q000000000002AAA"
	contact = "003000000000001AAA"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newProspect(mut ...func(*Prospect)) Prospect {
	p := Prospect{ID: 1001, Email: "Ann@Example.com", FirstName: "Ann", LastName: "Lee", Company: "Acme", UpdatedAt: t0}
	for _, m := range mut {
		m(&p)
	}
	return p
}

func linkedTo(typ, id string) func(*Prospect) {
	return func(p *Prospect) { p.Link = Link{Type: typ, ID: id} }
}

func assignedTo(sf string) func(*Prospect) {
	return func(p *Prospect) { p.AssignedUserID = 7; p.AssignedUserSalesforceID = sf }
}

func lead(id string, mod time.Duration, mut ...func(*Record)) Record {
	r := Record{Type: TypeLead, ID: id, Email: "ann@example.com", OwnerID: alice, LastModified: t0.Add(mod),
		Fields: map[string]string{"FirstName": "Ann", "LastName": "Lee", "Company": "Acme", "Title": "", "Phone": ""}}
	for _, m := range mut {
		m(&r)
	}
	return r
}

func contactRec(id string, mod time.Duration) Record {
	return Record{Type: TypeContact, ID: id, Email: "ann@example.com", OwnerID: bob, LastModified: t0.Add(mod),
		Fields: map[string]string{"FirstName": "Ann", "LastName": "Lee", "Title": "", "Phone": ""}}
}

func TestDecide(t *testing.T) {
	def := DefaultSettings()
	withAAR := DefaultSettings()
	withAAR.UseActiveAssignmentRules = true
	unassignedOK := DefaultSettings()
	unassignedOK.SyncUnassignedMatches = true
	leadFirst := DefaultSettings()
	leadFirst.MatchOrder = []string{TypeLead, TypeContact}

	tests := []struct {
		name     string
		p        Prospect
		m        *Matches
		s        Settings
		action   Action
		state    SyncState
		recordID string // the record linked (ActionLink)
		owner    string // the Lead owner (ActionCreateLead)
		code     string
	}{
		{name: "R1 do not sync", p: newProspect(assignedTo(alice), func(p *Prospect) { p.CRMID = MarkerDoNotSync }),
			s: def, action: ActionNone, state: StateDoNotSync},
		{name: "R1 beats a match", p: newProspect(assignedTo(alice), func(p *Prospect) { p.CRMLeadID = MarkerDoNotSync }),
			m: &Matches{Leads: []Record{lead(leadA, 0)}}, s: def, action: ActionNone, state: StateDoNotSync},
		{name: "R2 lookup first", p: newProspect(assignedTo(alice)), s: def, action: ActionLookup, state: StateEvaluating},
		{name: "R2 match lead", p: newProspect(assignedTo(alice)), m: &Matches{Leads: []Record{lead(leadA, 0)}},
			s: def, action: ActionLink, state: StateSynced, recordID: leadA},
		{name: "R2 contact wins over newer lead", p: newProspect(assignedTo(alice)),
			m: &Matches{Leads: []Record{lead(leadA, time.Hour)}, Contacts: []Record{contactRec(contact, 0)}},
			s: def, action: ActionLink, state: StateSynced, recordID: contact},
		{name: "R2 lead first when configured", p: newProspect(assignedTo(alice)),
			m: &Matches{Leads: []Record{lead(leadA, 0)}, Contacts: []Record{contactRec(contact, time.Hour)}},
			s: leadFirst, action: ActionLink, state: StateSynced, recordID: leadA},
		{name: "R2 most recently modified lead wins", p: newProspect(assignedTo(alice)),
			m: &Matches{Leads: []Record{lead(leadA, 0), lead(leadB, time.Minute)}},
			s: def, action: ActionLink, state: StateSynced, recordID: leadB},
		{name: "R2 converted lead follows its contact", p: newProspect(assignedTo(alice)),
			m: &Matches{Leads: []Record{lead(leadA, time.Hour, func(r *Record) {
				r.IsConverted, r.ConvertedContactID = true, contact
			})}, Contacts: []Record{contactRec(contact, 0)}},
			s: def, action: ActionLink, state: StateSynced, recordID: contact},
		{name: "converted lead alone is no match", p: newProspect(assignedTo(alice)),
			m: &Matches{Leads: []Record{lead(leadA, 0, func(r *Record) { r.IsConverted = true })}},
			s: def, action: ActionCreateLead, state: StateSynced, owner: alice},
		{name: "R3 unassigned waits without a lookup", p: newProspect(), s: def, action: ActionWait, state: StateWaitingForAssignment},
		{name: "R3 relaxed: unassigned match syncs when allowed", p: newProspect(), m: &Matches{Leads: []Record{lead(leadA, 0)}},
			s: unassignedOK, action: ActionLink, state: StateSynced, recordID: leadA},
		{name: "R3 unassigned match waits even with AAR", p: newProspect(),
			m: &Matches{Leads: []Record{lead(leadA, 0)}}, s: withAAR, action: ActionWait, state: StateWaitingForAssignment},
		{name: "R4 create lead with owner", p: newProspect(assignedTo(bob)), m: &Matches{}, s: def,
			action: ActionCreateLead, state: StateSynced, owner: bob},
		{name: "R4 unmapped user: integration user owns", p: newProspect(assignedTo("")), m: &Matches{}, s: def,
			action: ActionCreateLead, state: StateSynced, owner: ""},
		{name: "R5 active assignment rule", p: newProspect(), m: &Matches{}, s: withAAR, action: ActionCreateLead, state: StateSynced},
		{name: "R5 asks for a lookup first", p: newProspect(), s: withAAR, action: ActionLookup, state: StateEvaluating},
		{name: "R6 waits", p: newProspect(), m: &Matches{}, s: def, action: ActionWait, state: StateWaitingForAssignment},
		{name: "missing email", p: newProspect(assignedTo(alice), func(p *Prospect) { p.Email = "  " }), s: def,
			action: ActionError, state: StateSyncError, code: CodeMissingEmail},
		{name: "invalid email", p: newProspect(assignedTo(alice), func(p *Prospect) { p.Email = "not-an-email" }), s: def,
			action: ActionError, state: StateSyncError, code: CodeInvalidEmail},
		{name: "email with quote and plus is valid", p: newProspect(assignedTo(alice), func(p *Prospect) { p.Email = "o'neil+x@example.com" }),
			s: def, action: ActionLookup, state: StateEvaluating},
		{name: "crm deleted flag", p: newProspect(assignedTo(alice), func(p *Prospect) { p.Link = Link{Type: TypeLead, ID: leadA, Deleted: true} }),
			s: def, action: ActionNone, state: StateCRMDeleted},
		{name: "linked record deleted: flag, never recreate", p: newProspect(assignedTo(alice), linkedTo(TypeLead, leadA)),
			m: &Matches{LinkedGone: true}, s: def, action: ActionMarkDeleted, state: StateCRMDeleted},
		{name: "linked unassigned keeps syncing", p: newProspect(linkedTo(TypeLead, leadA)), s: def, action: ActionLookup, state: StateEvaluating},
		{name: "linked record stays linked over a newer match", p: newProspect(assignedTo(alice), linkedTo(TypeLead, leadA)),
			m: &Matches{Linked: new(lead(leadA, 0)), Leads: []Record{lead(leadA, 0), lead(leadB, time.Hour)}},
			s: def, action: ActionLink, state: StateSynced, recordID: leadA},
		{name: "linked lead converted: follow contact", p: newProspect(assignedTo(alice), linkedTo(TypeLead, leadA)),
			m: &Matches{Linked: new(lead(leadA, 0, func(r *Record) { r.IsConverted, r.ConvertedContactID = true, contact })),
				Contacts: []Record{contactRec(contact, 0)}},
			s: def, action: ActionLink, state: StateSynced, recordID: contact},
		{name: "linked lead converted, its contact gone: flag, never recreate", p: newProspect(assignedTo(alice), linkedTo(TypeLead, leadA)),
			m: &Matches{Linked: new(lead(leadA, 0, func(r *Record) { r.IsConverted, r.ConvertedContactID = true, contact }))},
			s: def, action: ActionMarkDeleted, state: StateCRMDeleted},
		{name: "email changed: new email has no match, create", p: newProspect(assignedTo(alice), func(p *Prospect) {
			p.Link, p.Email = Link{Type: TypeLead, ID: leadA}, "ann.new@example.com"
		}), m: &Matches{Linked: new(lead(leadA, 0))}, s: def, action: ActionCreateLead, state: StateSynced, owner: alice},
		{name: "email changed: new email matches another lead", p: newProspect(assignedTo(alice), func(p *Prospect) {
			p.Link, p.Email = Link{Type: TypeLead, ID: leadA}, "ann.new@example.com"
		}), m: &Matches{Linked: new(lead(leadA, 0)), Leads: []Record{lead(leadB, 0, func(r *Record) { r.Email = "ann.new@example.com" })}},
			s: def, action: ActionLink, state: StateSynced, recordID: leadB},
		{name: "prospect deleted in AE ends", p: newProspect(func(p *Prospect) { p.Deleted = true }), s: def,
			action: ActionEnd, state: StateSyncError, code: CodeProspectDeleted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.p, tt.m, tt.s)
			if d.Action != tt.action || d.State != tt.state {
				t.Fatalf("Decide = %s/%s (%s), want %s/%s", d.Action, d.State, d.Reason, tt.action, tt.state)
			}
			if d.Reason == "" {
				t.Error("decision has no reason")
			}
			if tt.recordID != "" && (d.Record == nil || d.Record.ID != tt.recordID) {
				t.Errorf("linked record = %+v, want %s", d.Record, tt.recordID)
			}
			if d.Action == ActionCreateLead {
				if d.Lead == nil {
					t.Fatal("create without a Lead spec")
				}
				if d.Lead.OwnerID != tt.owner {
					t.Errorf("owner = %q, want %q", d.Lead.OwnerID, tt.owner)
				}
				if d.Lead.Fields["Email"] == "" || d.Lead.Fields["LastName"] == "" || d.Lead.Fields["Company"] == "" {
					t.Errorf("lead fields missing required values: %v", d.Lead.Fields)
				}
			}
			if tt.code != "" && (d.Error == nil || d.Error.Code != tt.code) {
				t.Errorf("error = %+v, want code %s", d.Error, tt.code)
			}
		})
	}
}

func TestDecideAssignmentRuleLeadHasNoOwner(t *testing.T) {
	s := DefaultSettings()
	s.UseActiveAssignmentRules = true
	d := Decide(newProspect(), &Matches{}, s)
	if d.Lead == nil || !d.Lead.UseAssignmentRule || d.Lead.OwnerID != "" {
		t.Fatalf("R5 lead = %+v, want the assignment rule and no owner", d.Lead)
	}
}

func TestLeadFieldsPlaceholder(t *testing.T) {
	s := DefaultSettings()
	s.Placeholder = "[unknown]"
	got := LeadFields(newProspect(func(p *Prospect) { p.LastName, p.Company, p.JobTitle = "", " ", "CTO" }), s)
	want := map[string]string{"Email": "Ann@Example.com", "FirstName": "Ann", "LastName": "[unknown]", "Company": "[unknown]", "Title": "CTO"}
	if !maps.Equal(got, want) {
		t.Fatalf("LeadFields = %v, want %v", got, want)
	}
}

func TestLinkUpdates(t *testing.T) {
	s := DefaultSettings()
	s.FieldMapping = append(s.FieldMapping[:3], FieldMapping{Engagement: "jobTitle", Salesforce: "Title", Master: MasterSalesforce},
		FieldMapping{Engagement: "phone", Salesforce: "Phone", Master: MasterEngagement})
	p := newProspect(assignedTo(alice), func(p *Prospect) {
		p.FirstName, p.JobTitle, p.Phone, p.LastName = "Annie", "CEO", "", ""
		p.Link = Link{Type: TypeLead, ID: leadA, OwnerID: alice}
	})
	rec := lead(leadA, 0, func(r *Record) {
		r.Fields["Title"], r.Fields["Phone"], r.Fields["LastName"] = "CTO", "555-1234", "Lee"
		r.OwnerID = bob
	})
	sfUp, aeUp, owner := LinkUpdates(p, rec, s)
	wantSF := map[string]string{"FirstName": "Annie"} // AE wins when non-empty
	wantAE := map[string]string{
		"jobTitle": "CTO",      // Salesforce is master
		"phone":    "555-1234", // non-empty beats empty although AE is master
		"lastName": "Lee",      // non-empty beats empty
	}
	if !maps.Equal(sfUp, wantSF) {
		t.Errorf("record updates = %v, want %v", sfUp, wantSF)
	}
	if !maps.Equal(aeUp, wantAE) {
		t.Errorf("prospect updates = %v, want %v", aeUp, wantAE)
	}
	if owner != bob {
		t.Errorf("owner flowing back = %q, want %q (Salesforce owns the owner)", owner, bob)
	}

	// A queue owner never becomes the assigned user; an in-step pair writes nothing.
	inStep := newProspect(linkedTo(TypeLead, leadA), func(p *Prospect) { p.Link.OwnerID = queue })
	q := lead(leadA, 0, func(r *Record) { r.OwnerID = queue })
	sfUp, aeUp, owner = LinkUpdates(inStep, q, DefaultSettings())
	if sfUp != nil || aeUp != nil || owner != "" {
		t.Errorf("in-step queue-owned pair: %v %v %q, want no writes", sfUp, aeUp, owner)
	}
}

// The link lives in the sync's state: Account Engagement's CRM id fields are read-only, so
// nothing writes them; the markers AE's own connector put there are still read.
func TestLinkIsNeverWrittenToEngagement(t *testing.T) {
	p := newProspect(assignedTo(alice), func(p *Prospect) { p.CRMID, p.CRMLeadID = MarkerCRMDeleted, MarkerCRMDeleted })
	if d := Decide(p, nil, DefaultSettings()); d.Action != ActionNone || d.State != StateCRMDeleted {
		t.Errorf("a [[crm_deleted]] marker from AE's connector decided %s/%s, want none/CrmDeleted", d.Action, d.State)
	}
	_, aeUp, _ := LinkUpdates(newProspect(assignedTo(alice)), lead(leadA, 0), DefaultSettings())
	if aeUp != nil {
		t.Errorf("linking writes %v to Account Engagement, want nothing (the ids are read-only there)", aeUp)
	}
	d := Decide(newProspect(assignedTo(alice), linkedTo(TypeLead, leadA)), &Matches{LinkedGone: true}, DefaultSettings())
	if d.Action != ActionMarkDeleted || d.ProspectUpdates != nil {
		t.Errorf("deleted record: %s with %v, want mark-crm-deleted writing nothing to Account Engagement", d.Action, d.ProspectUpdates)
	}
}

func TestValidEmail(t *testing.T) {
	for email, want := range map[string]bool{
		"a@b.co": true, "o'neil+x@example.com": true, "jürgen@exämple.de": true,
		"": false, "not-an-email": false, "a@b": false, "a b@c.com": false, "a@@b.com": false, "@b.com": false, "a@.com": false,
	} {
		if got := ValidEmail(NormalizeEmail(email)); got != want {
			t.Errorf("ValidEmail(%q) = %v, want %v", email, got, want)
		}
	}
}

func TestParseSettings(t *testing.T) {
	m, err := ParseFieldMapping("firstName=FirstName, company=Company@Lead,phone=Phone:salesforce")
	if err != nil {
		t.Fatal(err)
	}
	want := []FieldMapping{
		{Engagement: "firstName", Salesforce: "FirstName", Master: MasterEngagement},
		{Engagement: "company", Salesforce: "Company", Master: MasterEngagement, Object: TypeLead},
		{Engagement: "phone", Salesforce: "Phone", Master: MasterSalesforce},
	}
	if len(m) != len(want) {
		t.Fatalf("ParseFieldMapping = %+v", m)
	}
	for i := range want {
		if m[i] != want[i] {
			t.Errorf("mapping %d = %+v, want %+v", i, m[i], want[i])
		}
	}
	s := DefaultSettings()
	s.FieldMapping = []FieldMapping{{Engagement: "shoeSize", Salesforce: "Shoe__c", Master: MasterEngagement}}
	if err := s.Validate(); err == nil {
		t.Error("unknown Account Engagement field accepted")
	}
	if _, err := ParseMatchOrder("Lead,Lead"); err == nil {
		t.Error("match order Lead,Lead accepted")
	}
	if o, err := ParseMatchOrder("lead, contact"); err != nil || o[0] != TypeLead {
		t.Errorf("ParseMatchOrder = %v, %v", o, err)
	}
	if err := DefaultSettings().Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
}

func TestLinkUpdatesEdgeCases(t *testing.T) {
	s := DefaultSettings()
	// The placeholder in Salesforce gives way to a real value from Account Engagement, whatever the master.
	s.FieldMapping = []FieldMapping{{Engagement: "company", Salesforce: "Company", Master: MasterSalesforce, Object: TypeLead}}
	p := newProspect(assignedTo(alice), func(p *Prospect) { p.Company = "Acme" })
	rec := lead(leadA, 0, func(r *Record) { r.Fields["Company"] = DefaultPlaceholder })
	sfUp, aeUp, _ := LinkUpdates(p, rec, s)
	if sfUp["Company"] != "Acme" || aeUp["company"] != "" {
		t.Errorf("placeholder: record updates %v, prospect updates %v: want Company=Acme in Salesforce only", sfUp, aeUp)
	}
	// An unmapped assigned user: the integration user's ownership does not reassign the prospect...
	p = newProspect(assignedTo(""))
	if _, _, owner := LinkUpdates(p, lead(leadA, 0, func(r *Record) { r.OwnerID = "005000000000000INT" }), DefaultSettings()); owner != "" {
		t.Errorf("unmapped user: owner %q flows back, want none", owner)
	}
	// ...but an owner someone changed in Salesforce does.
	p.Link = Link{Type: TypeLead, ID: leadA, OwnerID: "005000000000000INT"}
	if _, _, owner := LinkUpdates(p, lead(leadA, 0, func(r *Record) { r.OwnerID = bob }), DefaultSettings()); owner != bob {
		t.Errorf("owner changed in Salesforce: %q flows back, want %q", owner, bob)
	}
}

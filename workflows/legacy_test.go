package workflows

import (
	"maps"
	"testing"

	"github.com/prospect-sync/prospect-sync/prospect"
)

// Runs from before the sync kept its own link replay with the link read from, and written to,
// the CRM id fields.
func TestLegacyLinkFields(t *testing.T) {
	const contact, lead = "003000000000001AAA", "00Q000000000002AAA"
	p := prospect.Prospect{ID: 1001, Email: "ann@example.com", AssignedUserID: 7, AssignedUserSalesforceID: alice, CRMContactID: contact}
	p.Link = legacyLink(p)
	if p.Link.Type != prospect.TypeContact || p.Link.ID != contact {
		t.Fatalf("legacyLink = %+v", p.Link)
	}
	rec := prospect.Record{Type: prospect.TypeLead, ID: lead, Email: "ann@example.com", OwnerID: alice, Fields: map[string]string{}}
	got := legacyFields(p, rec, nil)
	want := map[string]string{"salesforceId": lead, "salesforceLeadId": lead, "salesforceContactId": "", "salesforceOwnerId": alice}
	if !maps.Equal(got, want) {
		t.Errorf("legacy prospect updates = %v, want %v", got, want)
	}
	if d := legacyDecision(p, prospect.Decision{Action: prospect.ActionLink, Record: &rec}); !maps.Equal(d.ProspectUpdates, want) {
		t.Errorf("legacy link decision writes %v, want %v", d.ProspectUpdates, want)
	}
	flagged := prospect.Prospect{CRMID: prospect.MarkerCRMDeleted}
	if l := legacyLink(flagged); !l.Deleted {
		t.Errorf("legacy [[crm_deleted]] not read: %+v", l)
	}
	d := legacyDecision(p, prospect.Decision{Action: prospect.ActionMarkDeleted})
	if len(d.ProspectUpdates) != 3 || d.ProspectUpdates["salesforceLeadId"] != prospect.MarkerCRMDeleted {
		t.Errorf("legacy mark-deleted writes %v, want the three markers", d.ProspectUpdates)
	}
	if got := legacyFields(prospect.Prospect{CRMID: lead, CRMLeadID: lead, CRMOwnerID: alice}, rec, nil); got != nil {
		t.Errorf("in step: %v, want nothing to write", got)
	}
}

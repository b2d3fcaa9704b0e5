package prospect

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// full is a prospect with every field set to a distinct non-zero value.
func full() Prospect {
	return Prospect{ID: 1001, UpdatedAt: t0, Email: "a@example.com", FirstName: "Ann", LastName: "Lee", Company: "Acme",
		JobTitle: "CTO", Phone: "555", AssignedUserID: 7, CRMID: "00Q1", CRMLeadID: "00Q2", CRMContactID: "0033",
		CRMOwnerID: "0054", Deleted: true, AssignedUserSalesforceID: "0055", Link: Link{Type: TypeLead, ID: "00Q6", Deleted: true}}
}

// The version must stay byte for byte what recorded histories compared against, or running
// workflows decide differently on replay.
func TestVersionFormatIsStable(t *testing.T) {
	p := full()
	p.FirstName = `Ann "the" Lee`
	p.UpdatedAt = time.Date(2026, 1, 1, 3, 4, 5, 6000, time.FixedZone("x", 3600))
	old := fmt.Sprintf("%d|%s|%q|%q|%q|%q|%q|%q|%d|%q|%q|%q|%q|%t", p.ID, p.UpdatedAt.UTC().Format(time.RFC3339Nano),
		p.Email, p.FirstName, p.LastName, p.Company, p.JobTitle, p.Phone, p.AssignedUserID,
		p.CRMID, p.CRMLeadID, p.CRMContactID, p.CRMOwnerID, p.Deleted)
	if got := p.Version(); got != old {
		t.Fatalf("Version() = %s\nwant         %s", got, old)
	}
}

// A field added to Prospect is in the version unless it says why not (`version:"-"`).
func TestVersionCoversEveryField(t *testing.T) {
	typ := reflect.TypeFor[Prospect]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		p, zero := full(), Prospect{}
		reflect.ValueOf(&p).Elem().Field(i).Set(reflect.ValueOf(zero).Field(i))
		changed := p.Version() != full().Version()
		if excluded := f.Tag.Get("version") == "-"; changed == excluded {
			t.Errorf("field %s: in version = %t, tagged version:\"-\" = %t", f.Name, changed, excluded)
		}
	}
}

func TestFieldsByEngagementName(t *testing.T) {
	p := full()
	for name, want := range map[string]string{"email": p.Email, "jobTitle": p.JobTitle, "salesforceContactId": p.CRMContactID, "nope": "", "": ""} {
		if got := p.Field(name); got != want {
			t.Errorf("Field(%q) = %q, want %q", name, got, want)
		}
	}
	if !p.Set("phone", "777") || p.Phone != "777" {
		t.Errorf("Set(phone) did not set: %q", p.Phone)
	}
	if !p.Set("assignedToId", int64(9)) || p.AssignedUserID != 9 {
		t.Errorf("Set(assignedToId) did not set: %d", p.AssignedUserID)
	}
	if p.Set("phone", 5) || p.Set("unknown", "x") || p.Set("", "x") {
		t.Error("Set accepted a wrong type or an unknown name")
	}
	if got, want := MappableFields(), []string{"firstName", "lastName", "company", "jobTitle", "phone"}; !slices.Equal(got, want) {
		t.Errorf("MappableFields() = %v, want %v", got, want)
	}
	if got := EngagementFields(); len(got) != 14 || got[0] != "id" || got[13] != "isDeleted" {
		t.Errorf("EngagementFields() = %v", got)
	}
}

func TestMarkers(t *testing.T) {
	for _, name := range crmIDFields {
		p := Prospect{}
		p.Set(name, MarkerDoNotSync)
		if !p.HasMarker(MarkerDoNotSync) || p.HasMarker(MarkerCRMDeleted) {
			t.Errorf("marker in %s not seen", name)
		}
	}
}

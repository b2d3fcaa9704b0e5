package salesforce_test

import (
	"context"
	"testing"

	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

// TestCollections writes many records in one call each and keeps every record's own outcome.
func TestCollections(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	before := e.emu.Counters().Salesforce.Total

	created, err := e.sf.CreateMany(ctx, []salesforce.Row{
		{Type: "Lead", Fields: newLead("c1@example.com")},
		{Type: "Contact", Fields: map[string]any{"Email": "c2@example.com", "LastName": "Contact"}},
		{Type: "Lead", Fields: map[string]any{"Email": "c3@example.com", "LastName": "No company"}},
		{Type: "Lead", Fields: newLead("c4@example.com")},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The rows were sorted by type on the wire; the answers come back in the caller's order.
	for i, prefix := range []string{"00Q", "003", "", "00Q"} {
		r := created[i]
		if prefix == "" {
			if r.Err == nil || !isCode(r.Err, "REQUIRED_FIELD_MISSING") || r.ID != "" {
				t.Fatalf("row %d: %+v, want REQUIRED_FIELD_MISSING alone", i, r)
			}
			continue
		}
		if r.Err != nil || len(r.ID) != 18 || r.ID[:3] != prefix {
			t.Fatalf("row %d: %+v, want a %s id", i, r, prefix)
		}
	}
	lead, err := e.sf.Get(ctx, "Lead", created[0].ID, "OwnerId")
	if err != nil || lead.String("OwnerId") != emulator.IntegrationUserID {
		t.Fatalf("owner %v, %v: want the integration user (Sforce-Auto-Assign FALSE by default)", lead, err)
	}

	ruled, err := e.sf.CreateMany(ctx, []salesforce.Row{{Type: "Lead", Fields: newLead("c5@example.com")}}, salesforce.AutoAssign(true))
	if err != nil || ruled[0].Err != nil {
		t.Fatal(err, ruled)
	}
	if got, _ := e.sf.Get(ctx, "Lead", ruled[0].ID, "OwnerId"); got.String("OwnerId") != emulator.UserAliceID {
		t.Fatalf("rule owner %q, want Alice", got.String("OwnerId"))
	}

	if err := e.sf.Delete(ctx, "Lead", created[3].ID); err != nil {
		t.Fatal(err)
	}
	updated, err := e.sf.UpdateMany(ctx, []salesforce.Row{
		{Type: "Lead", ID: created[0].ID, Fields: map[string]any{"Title": "CTO"}},
		{Type: "Contact", ID: created[1].ID, Fields: map[string]any{"Title": "CFO"}},
		{Type: "Lead", ID: created[3].ID, Fields: map[string]any{"Title": "gone"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if updated[0].Err != nil || updated[1].Err != nil {
		t.Fatalf("updates: %+v", updated)
	}
	if !isCode(updated[2].Err, salesforce.CodeEntityIsDeleted) {
		t.Fatalf("update of a deleted Lead: %v, want ENTITY_IS_DELETED", updated[2].Err)
	}
	if got, _ := e.sf.Get(ctx, "Contact", created[1].ID, "Title"); got.String("Title") != "CFO" {
		t.Fatalf("contact title %q", got.String("Title"))
	}
	if n := e.emu.Counters().Salesforce.Total - before; n != 7 {
		t.Fatalf("%d API calls, want 7: 3 collections + 3 reads + 1 delete", n)
	}
	if _, err := e.sf.CreateMany(ctx, make([]salesforce.Row, salesforce.MaxCollectionRecords+1)); err == nil {
		t.Fatal("201 rows accepted")
	}
}

package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/prospect-sync/prospect-sync/plan"
	"github.com/prospect-sync/prospect-sync/prospect"
)

// The plan's CSV holds one row per prospect with exactly the plan's outcome, rule, record or
// owner and reason, and the email masked unless asked.
func TestPlanCSVIsThePlan(t *testing.T) {
	rows := []plan.Row{
		{ProspectID: 1002, Email: mask("match.lead@example.com"), Outcome: plan.OutcomeLink, Rule: "R2", State: prospect.StateSynced, Record: "00Q000000000001EAA", Reason: "R2: sync with matching Lead"},
		{ProspectID: 1006, Email: mask("assigned@example.com"), Outcome: plan.OutcomeCreate, Rule: "R4", State: prospect.StateSynced, Owner: "005000000000003AAA", Reason: "R4: assigned user, no match: create a Lead"},
		{ProspectID: 1011, Email: mask("not-an-email"), Outcome: plan.OutcomeError, Rule: prospect.CodeInvalidEmail, State: prospect.StateSyncError, Reason: "email is not a valid address"},
	}
	path := filepath.Join(t.TempDir(), "plan.csv")
	if err := writePlanCSV(path, rows); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows)+1 || got[0][0] != "id" {
		t.Fatalf("CSV %v: want a header and %d rows", got, len(rows))
	}
	for i, r := range rows {
		want := []string{strconv.FormatInt(r.ProspectID, 10), r.Email, r.Outcome, r.Rule, string(r.State), r.Record, r.Owner, r.Reason}
		for j := range want {
			if got[i+1][j] != want[j] {
				t.Errorf("row %d column %s = %q, want %q", i, got[0][j], got[i+1][j], want[j])
			}
		}
	}
	if got[1][1] != "m***@example.com" {
		t.Errorf("email %q: want it masked", got[1][1])
	}
}

//go:build !nodev

package app

import (
	"context"
	"strings"
	"testing"

	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// Past 90 % of the org's daily calls (Sforce-Limit-Info), a sync waits instead of spending the
// reserve: its details say so with the figures, it does not fail, and it finishes once the
// rolling window frees calls.
func TestBudgetReserveHoldsSyncsBack(t *testing.T) {
	emu := app().Emulator()
	before := emu.Limits()
	defer emu.SetLimits(emulator.LimitsChange{DailyAPILimit: &before.DailyAPILimit, APIUsed: &before.APIUsed})
	ctx := context.Background()
	p, err := testAE.CreateProspect(ctx, map[string]any{"email": unique("budget@example.com"), "lastName": "Budget", "company": "Acme", "userId": emulator.AEUserBob})
	if err != nil {
		t.Fatal(err)
	}
	// 95 % used: the next answer tells the worker so.
	used, limit := 950, 1000
	emu.SetLimits(emulator.LimitsChange{DailyAPILimit: &limit, APIUsed: &used})
	startSync(t, workflows.SignalProspectChanged, p.ID)
	st := waitStatus(t, p.ID, func(st workflows.SyncStatus) bool { return strings.Contains(st.WaitingFor, "Salesforce API budget") })
	if st.State != prospect.StateEvaluating || st.LastError != nil || !strings.Contains(st.WaitingFor, "10%") {
		t.Fatalf("status %+v: want Evaluating, no error, waiting for the Salesforce budget with the figures", st)
	}
	if leads := leadsByEmail(t, p.Email); len(leads) != 0 {
		t.Fatalf("a Lead was created past the reserve: %v", leads)
	}
	// The window frees calls: the next probe learns it and the sync goes on.
	freed := 1_000_000
	emu.SetLimits(emulator.LimitsChange{DailyAPILimit: &freed})
	st = waitStatus(t, p.ID, inState(prospect.StateSynced))
	if st.WaitingFor != "" || len(leadsByEmail(t, p.Email)) != 1 {
		t.Fatalf("status %+v: want Synced to one Lead once the budget freed", st)
	}
}

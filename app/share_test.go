//go:build !nodev

package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// Two workers share the business unit's 5 Account Engagement requests in flight: each counts
// the workers polling the task queue and keeps to its share, so the emulator never sees more
// than 5 at once, however many syncs run (each worker alone would keep 5).
func TestTwoWorkersShareEngagementLimit(t *testing.T) {
	base := app()
	env := map[string]string{
		"TEMPORAL_ADDRESS": base.TemporalAddress, "TEMPORAL_NAMESPACE": workflows.Namespace,
		"SALESFORCE_LOGIN_URL": base.EmulatorURL, "SALESFORCE_CLIENT_ID": emulator.ClientID, "SALESFORCE_CLIENT_SECRET": emulator.ClientSecret,
		"ACCOUNT_ENGAGEMENT_URL": base.EmulatorURL, "ACCOUNT_ENGAGEMENT_BUSINESS_UNIT_ID": emulator.BusinessUnitID,
		"PROSPECT_SYNC_START_FEEDS": "false", "SYNC_ACTIVITY_TIMEOUT": "10s", "TEMPORAL_CONFIG_FILE": t.TempDir() + "/none.toml",
	}
	cfg, err := LoadConfig(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.EngagementShareEvery = 100 * time.Millisecond
	cfg.Encryption = testCfg.Encryption // the suite's payloads are encrypted
	second, err := Start(context.Background(), cfg, testLog)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for base.EngagementShare() != 2 || second.EngagementShare() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("shares %d and %d, want 2 each with two workers", base.EngagementShare(), second.EngagementShare())
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}

	ctx := context.Background()
	const n = 30
	ids := make([]int64, n)
	for i := range n {
		p, err := testAE.CreateProspect(ctx, map[string]any{"email": unique(fmt.Sprintf("shared%d@example.com", i)), "lastName": "Shared", "company": "Acme", "userId": emulator.AEUserBob})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = p.ID
	}
	emu := base.Emulator()
	// Slow answers keep requests in flight long enough to pile up.
	emu.SetFaults(emulator.Faults{Match: "/api/v5/", Latency: 30 * time.Millisecond})
	defer emu.SetFaults(emulator.Faults{})
	emu.ResetCounters()
	for _, id := range ids {
		startSync(t, workflows.SignalProspectChanged, id)
	}
	for _, id := range ids {
		waitStatus(t, id, inState(prospect.StateSynced))
	}
	c := emu.Counters()
	t.Logf("%d Account Engagement requests, at most %d in flight", c.Engagement.Total, c.EngagementPeakInFlight)
	if c.EngagementPeakInFlight > 5 || c.EngagementPeakInFlight < 1 {
		t.Fatalf("%d Account Engagement requests in flight at once, want 1 to 5", c.EngagementPeakInFlight)
	}
	if refused := c.Faults["engagement rate-limit"]; refused != 0 {
		t.Errorf("%d requests refused for concurrency", refused)
	}
}

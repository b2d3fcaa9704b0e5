//go:build !nodev

package app

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/connect"
	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/metrics"
	"github.com/prospect-sync/prospect-sync/plan"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// planner is `starter plan`'s planner over the shared emulator and server, counting its calls.
func planner(t *testing.T) *plan.Planner {
	t.Helper()
	counter := &plan.Counter{}
	sf, ae, err := connect.ServicesFromEnv(func(string) string { return "" }).ObservedClients(app().EmulatorURL, counter)
	if err != nil {
		t.Fatal(err)
	}
	return &plan.Planner{AE: ae, Acts: activities.New(sf, ae, nil), Temporal: app().Client(), Settings: testCfg.Settings.Settings, Counter: counter}
}

// The plan of the seeded prospects and of a generated load, then the real sync of the same
// prospects: every prospect's outcome is the one planned. The plan writes nothing.
func TestPlanThenSyncAgree(t *testing.T) {
	ctx := context.Background()
	var ids []int64
	for id := int64(emulator.ProspectDoNotSync); id <= emulator.ProspectQuoteEmail; id++ {
		ids = append(ids, id)
	}
	// A generated load, three of each: R4, R2 (a Lead a person made), R6, an invalid email.
	generated := map[int64]string{}
	for i := range 3 {
		mk := func(kind string, fields map[string]any) {
			p, err := testAE.CreateProspect(ctx, fields)
			if err != nil {
				t.Fatal(err)
			}
			generated[p.ID] = kind
			ids = append(ids, p.ID)
		}
		mk("create-lead R4", map[string]any{"email": unique(fmt.Sprintf("plan.r4.%d@example.com", i)), "lastName": "Plan", "company": "Acme", "userId": emulator.AEUserBob})
		email := unique(fmt.Sprintf("plan.r2.%d@example.com", i))
		if _, err := testPerson.Create(ctx, prospect.TypeLead, map[string]any{"Email": email, "LastName": "Plan", "Company": "Acme"}); err != nil {
			t.Fatal(err)
		}
		mk("link R2", map[string]any{"email": email, "lastName": "Plan", "company": "Acme", "userId": emulator.AEUserAlice})
		mk("wait R3/R6", map[string]any{"email": unique(fmt.Sprintf("plan.r6.%d@example.com", i)), "lastName": "Plan", "company": "Acme"})
		mk("error INVALID_EMAIL", map[string]any{"email": strings.Replace(unique(fmt.Sprintf("plan.bad.%d@example.com", i)), "@", ",x@", 1), "lastName": "Plan", "company": "Acme", "userId": emulator.AEUserBob})
	}

	before := app().Emulator().Counters()
	p := planner(t)
	res, err := p.Run(ctx, ids, false)
	if err != nil {
		t.Fatal(err)
	}
	after := app().Emulator().Counters()
	wantNoWritesBetween(t, before, after)
	counts := map[string]int{}
	for _, r := range res.Rows {
		if kind, ok := generated[r.ProspectID]; ok {
			counts[r.Outcome+" "+r.Rule]++
			_ = kind
		}
	}
	want := map[string]int{"create-lead R4": 3, "link R2": 3, "wait R3/R6": 3, "error INVALID_EMAIL": 3}
	if !maps.Equal(counts, want) {
		t.Errorf("plan of the generated load: %v, want %v", counts, want)
	}
	// Salesforce: one composite lookup for every prospect that needs one (plus one for the
	// Contacts of converted Leads); Account Engagement: the users, then one read a named prospect.
	if sf := res.Calls[metrics.APISalesforce]; sf > 2 {
		t.Errorf("the plan made %d Salesforce calls for %d prospects, want at most 2 (batched)", sf, len(ids))
	}
	t.Logf("plan of %d prospects: %v calls", len(ids), res.Calls)

	// The real sync of the same prospects, as `starter sync` asks it.
	mark := time.Now()
	for _, id := range ids {
		request(t, id, workflows.ChangeRequest{Resync: true})
	}
	for _, r := range res.Rows {
		st := waitStatus(t, r.ProspectID, func(s workflows.SyncStatus) bool {
			n := len(s.History)
			return s.State != prospect.StateEvaluating && n > 0 && !s.History[n-1].Time.Before(mark.Add(-time.Second))
		})
		if st.State != r.State {
			t.Errorf("prospect %d: planned %s (%s %s: %s), the sync reached %s (%v)", r.ProspectID, r.State, r.Outcome, r.Rule, r.Reason, st.State, st.LastError)
			continue
		}
		switch {
		case r.Record != "" && st.CRMRecordID != r.Record:
			t.Errorf("prospect %d: planned to link %s, the sync linked %s", r.ProspectID, r.Record, st.CRMRecordID)
		case r.Outcome == plan.OutcomeCreate && st.CRMRecordID == "":
			t.Errorf("prospect %d: planned a create, the sync has no record", r.ProspectID)
		case r.Outcome == plan.OutcomeCreate && r.Owner != "integration user" && r.Owner != "assignment rule" && st.OwnerID != r.Owner:
			t.Errorf("prospect %d: planned owner %s, the Lead is owned by %s", r.ProspectID, r.Owner, st.OwnerID)
		case r.Outcome == plan.OutcomeError && (st.LastError == nil || st.LastError.Code != r.Rule):
			t.Errorf("prospect %d: planned %s, the sync shows %+v", r.ProspectID, r.Rule, st.LastError)
		}
	}
	// Planned again after the sync: every synced prospect stays as it is.
	again, err := p.Run(ctx, ids, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range again.Rows {
		if r.State == prospect.StateSynced && r.Outcome != plan.OutcomeInStep {
			t.Errorf("prospect %d planned after its sync: %s (%s; %+v), want %s", r.ProspectID, r.Outcome, r.Reason, r, plan.OutcomeInStep)
		}
	}
}

// wantNoWritesBetween fails if the emulator counted a write between the two counts: anything
// but reads, queries (a composite of queries included) and tokens.
func wantNoWritesBetween(t *testing.T, before, after emulator.Counters) {
	t.Helper()
	for _, api := range []struct {
		name          string
		before, after map[string]int
	}{{"Salesforce", before.Salesforce.ByEndpoint, after.Salesforce.ByEndpoint}, {"Account Engagement", before.Engagement.ByEndpoint, after.Engagement.ByEndpoint}} {
		for endpoint, n := range api.after {
			if n == api.before[endpoint] || strings.HasPrefix(endpoint, "GET ") || endpoint == "POST composite" {
				continue
			}
			t.Errorf("%s: %d × %s while planning, want no writes", api.name, n-api.before[endpoint], endpoint)
		}
	}
}

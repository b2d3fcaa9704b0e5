package main

import (
	"context"

	"fmt"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/proto"
	"io"
	"strings"
	"time"

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/connect"
	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/health"
	"github.com/prospect-sync/prospect-sync/metrics"
	"github.com/prospect-sync/prospect-sync/plan"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// opsReport is the operator controls' phase (-ops N): `starter plan` over N prospects before
// any sync, then `starter health` once N syncs exist, each beside a baseline measured in the
// same run.
type opsReport struct {
	Prospects int `json:"prospects"`
	// PlanSeconds is the plan's time; ReadSeconds, the baseline, is paging the same prospects
	// out of Account Engagement alone.
	PlanSeconds float64 `json:"planSeconds"`
	ReadSeconds float64 `json:"readSeconds"`
	// PlanSalesforceCalls and PlanEngagementCalls are the plan's own calls.
	PlanSalesforceCalls int64 `json:"planSalesforceCalls"`
	PlanEngagementCalls int64 `json:"planEngagementCalls"`
	// PerProspectLookupCalls is the baseline: a lookup a prospect, as syncs without batching
	// made (counted on a sample, one call each).
	PerProspectLookupCalls float64 `json:"perProspectLookupCalls"`
	// PlanWrites counts the requests the emulator saw that were not reads while planning.
	PlanWrites int            `json:"planWrites"`
	Outcomes   map[string]int `json:"outcomes"`
	// HealthSeconds is `starter health` over the N syncs; CountSeconds, the baseline, one
	// visibility count of them all.
	HealthSeconds float64 `json:"healthSeconds"`
	CountSeconds  float64 `json:"countSeconds"`
	Syncs         int64   `json:"syncs"`
	// ActionsPerSync and HistoryBytesPerSync are the Temporal Cloud actions and history bytes of
	// a synced prospect's first load (started by a signal, as starter sync does), counted from
	// the histories of a sample.
	ActionsPerSync      float64 `json:"actionsPerSync"`
	HistoryBytesPerSync float64 `json:"historyBytesPerSync"`
}

// ops runs the phase.
func (b *bench) ops(ctx context.Context) (*opsReport, error) {
	n := b.cfg.Ops
	r := &opsReport{Prospects: n, Outcomes: map[string]int{}}
	b.logf("ops: preparing %d prospects (half to create, half matching a Lead)", n)
	ids, err := b.prepareSyncs(ctx, "ops", n)
	if err != nil {
		return nil, err
	}
	// The baseline read: every prospect, a page of 1,000 a call.
	start := time.Now()
	for q := (engagement.ProspectQuery{Limit: engagement.MaxQueryLimit}); ; {
		page, err := b.ae.QueryProspects(ctx, q)
		if err != nil {
			return nil, err
		}
		if page.NextPageToken == "" {
			break
		}
		q = engagement.ProspectQuery{PageToken: page.NextPageToken}
	}
	r.ReadSeconds = time.Since(start).Seconds()

	counter := &plan.Counter{}
	sf, ae, err := connect.ServicesFromEnv(func(string) string { return "" }).ObservedClients(b.emuURL, counter)
	if err != nil {
		return nil, err
	}
	before := b.emu.Counters()
	p := plan.Planner{AE: ae, Acts: activities.New(sf, ae, nil), Temporal: b.c, Settings: prospect.DefaultSettings(), Counter: counter}
	start = time.Now()
	res, err := p.Run(ctx, ids, false)
	if err != nil {
		return nil, err
	}
	r.PlanSeconds = time.Since(start).Seconds()
	r.PlanSalesforceCalls, r.PlanEngagementCalls = res.Calls[metrics.APISalesforce], res.Calls[metrics.APIEngagement]
	r.PlanWrites = writesBetween(before, b.emu.Counters())
	for _, row := range res.Rows {
		r.Outcomes[row.Outcome+" "+row.Rule]++
	}
	// The baseline lookups: one prospect at a time, one call each, on a sample.
	sample := min(100, n)
	lookups := &plan.Counter{}
	sf1, ae1, err := connect.ServicesFromEnv(func(string) string { return "" }).ObservedClients(b.emuURL, lookups)
	if err != nil {
		return nil, err
	}
	one := activities.New(sf1, ae1, nil)
	for i := range sample {
		if _, err := one.FindMatches(ctx, activities.FindMatchesInput{Email: fmt.Sprintf("ops%06d@bench.example.com", i),
			LeadFields: prospect.MappedFields(p.Settings, prospect.TypeLead), ContactFields: prospect.MappedFields(p.Settings, prospect.TypeContact)}); err != nil {
			return nil, err
		}
	}
	r.PerProspectLookupCalls = float64(lookups.Calls()[metrics.APISalesforce]) / float64(sample)
	b.logf("ops: plan of %d prospects in %.2f s (reading them alone: %.2f s), %d Salesforce and %d Account Engagement calls, %d writes",
		n, r.PlanSeconds, r.ReadSeconds, r.PlanSalesforceCalls, r.PlanEngagementCalls, r.PlanWrites)

	// Health once every one of them has a sync.
	if err := b.restartWorker(ctx); err != nil {
		return nil, err
	}
	if err := b.syncAndWait(ctx, ids); err != nil {
		return nil, err
	}
	histories := ids[:min(200, len(ids))]
	for _, id := range histories {
		events, err := b.history(ctx, workflows.ProspectWorkflowID(id))
		if err != nil {
			return nil, err
		}
		r.ActionsPerSync += float64(actions(events))
		for _, e := range events {
			r.HistoryBytesPerSync += float64(proto.Size(e))
		}
	}
	r.ActionsPerSync /= float64(len(histories))
	r.HistoryBytesPerSync /= float64(len(histories))
	start = time.Now()
	if r.Syncs, err = workflows.Count(ctx, b.c, workflows.StateQuery("")); err != nil {
		return nil, err
	}
	r.CountSeconds = time.Since(start).Seconds()
	rep := health.Reporter{Temporal: b.c, SF: b.sf, AE: b.ae, SFReserve: 0.1, AEReserve: 0.1}
	start = time.Now()
	if _, err := rep.Report(ctx); err != nil {
		return nil, err
	}
	r.HealthSeconds = time.Since(start).Seconds()
	b.logf("ops: health over %d syncs in %.2f s (one count of them: %.3f s)", r.Syncs, r.HealthSeconds, r.CountSeconds)
	return r, nil
}

// history reads a workflow's (latest run's) events.
func (b *bench) history(ctx context.Context, id string) ([]*historypb.HistoryEvent, error) {
	it := b.c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// writesBetween counts the requests between two counts that were not reads: anything but GETs,
// composites (of queries) and tokens.
func writesBetween(before, after emulator.Counters) int {
	n := 0
	for _, c := range []struct{ before, after map[string]int }{
		{before.Salesforce.ByEndpoint, after.Salesforce.ByEndpoint}, {before.Engagement.ByEndpoint, after.Engagement.ByEndpoint}} {
		for endpoint, k := range c.after {
			if !strings.HasPrefix(endpoint, "GET ") && endpoint != "POST composite" {
				n += k - c.before[endpoint]
			}
		}
	}
	return n
}

func printOps(w io.Writer, r *opsReport) {
	fmt.Fprintf(w, "\noperator controls, %d prospects\n", r.Prospects)
	row := func(name, value, baseline, ratio string) {
		fmt.Fprintf(w, "%-58s %14s %14s %10s\n", name, value, baseline, ratio)
	}
	row("measure", "value", "baseline", "ratio")
	row("starter plan: seconds (baseline: paging the prospects alone)", fmt.Sprintf("%.2f", r.PlanSeconds), fmt.Sprintf("%.2f", r.ReadSeconds), fmt.Sprintf("%.1f", r.PlanSeconds/max(r.ReadSeconds, 1e-9)))
	per := float64(r.PlanSalesforceCalls) / float64(r.Prospects)
	row("starter plan: Salesforce calls per prospect (baseline: a lookup each)", fmt.Sprintf("%.4f", per), fmt.Sprintf("%.2f", r.PerProspectLookupCalls), fmt.Sprintf("%.4f", per/max(r.PerProspectLookupCalls, 1e-9)))
	row("starter plan: Account Engagement calls per prospect", fmt.Sprintf("%.4f", float64(r.PlanEngagementCalls)/float64(r.Prospects)), "", "")
	row("starter plan: writes to either service", fmt.Sprint(r.PlanWrites), "", "")
	row("Temporal Cloud actions per synced prospect, first load", fmt.Sprintf("%.2f", r.ActionsPerSync), "", "")
	row("history bytes per synced prospect", fmt.Sprintf("%.0f", r.HistoryBytesPerSync), "", "")
	row(fmt.Sprintf("starter health over %d syncs: seconds (baseline: one count)", r.Syncs), fmt.Sprintf("%.2f", r.HealthSeconds), fmt.Sprintf("%.3f", r.CountSeconds), fmt.Sprintf("%.0f", r.HealthSeconds/max(r.CountSeconds, 1e-9)))
}

//go:build !nodev

package app

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/prospect-sync/prospect-sync/connect"
	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/internal/scrape"
	"github.com/prospect-sync/prospect-sync/metrics"
	"github.com/prospect-sync/prospect-sync/monitor"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// TestMetricsEndToEnd starts a worker as production runs one (a configured Temporal, "real"
// Salesforce at the emulator's URL) with its listener on a random port, runs three syncs (one
// Synced, one waiting, one sync error) and a re-sync of the waiting one after a cache purge
// (so its history replays), scrapes /metrics and wants our counters moved by exactly what
// those syncs cost, replays counting nothing, and the SDK's metrics there. The worker serves a namespace
// of its own on the shared server, so the package's other syncs (served by the shared worker
// in "default") cannot move its counters.
func TestMetricsEndToEnd(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	emu := app().EmulatorURL
	env := map[string]string{
		"TEMPORAL_ADDRESS": app().TemporalAddress, "TEMPORAL_NAMESPACE": ns,
		"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"),
		"SALESFORCE_CLIENT_ID": connect.EmulatorClientID, "SALESFORCE_CLIENT_SECRET": connect.EmulatorClientSecret,
		"SALESFORCE_LOGIN_URL": emu, "ACCOUNT_ENGAGEMENT_URL": emu, "ACCOUNT_ENGAGEMENT_BUSINESS_UNIT_ID": connect.EmulatorBusinessUnitID,
		// No feeds: their polls would add calls at times of their own.
		"PROSPECT_SYNC_START_FEEDS": "false",
	}
	cfg, err := LoadConfig([]string{"-http-address", "127.0.0.1:0", "-data-dir", t.TempDir()}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	w, err := Start(ctx, cfg, testLog)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	base := "http://" + w.HTTPAddress
	if code, body := scrape.Fetch(t, base+monitor.PathHealthz); code != http.StatusOK {
		t.Errorf("healthz %d %q, want 200", code, body)
	}
	if code, body := scrape.Fetch(t, base+monitor.PathReadyz); code != http.StatusOK {
		t.Errorf("readyz %d %q, want 200 once the worker started", code, body)
	}

	newProspect := func(fields map[string]any) int64 {
		p, err := testAE.CreateProspect(ctx, fields)
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	syncs := map[int64]prospect.SyncState{
		newProspect(map[string]any{"email": unique("metrics.synced@example.com"), "lastName": "M", "company": "Acme", "assignedToId": emulator.AEUserBob}): prospect.StateSynced,
		newProspect(map[string]any{"email": unique("metrics.waiting@example.com"), "lastName": "M", "company": "Acme"}):                                    prospect.StateWaitingForAssignment,
		newProspect(map[string]any{"email": fmt.Sprintf("metrics.bad,%d@example.com", runSeq.Add(1)), "lastName": "M", "company": "Acme"}):                 prospect.StateSyncError,
	}
	for id := range syncs {
		if _, err := workflows.SignalSync(ctx, w.Client(), id, workflows.SignalProspectChanged, nil); err != nil {
			t.Fatal(err)
		}
	}
	var waiting int64
	for id, state := range syncs {
		waitStatusOf(t, w.Client, id, inState(state))
		if state == prospect.StateWaitingForAssignment {
			waiting = id
		}
	}
	// Replayed decisions do not count again: with the cache purged, a re-sync of the waiting
	// prospect replays its history, then decides once more (the same state: no transition).
	before := waitStatusOf(t, w.Client, waiting, inState(prospect.StateWaitingForAssignment))
	worker.PurgeStickyWorkflowCache()
	if _, err := workflows.SignalSync(ctx, w.Client(), waiting, workflows.SignalProspectChanged, &workflows.ChangeRequest{Resync: true}); err != nil {
		t.Fatal(err)
	}
	waitStatusOf(t, w.Client, waiting, func(st workflows.SyncStatus) bool {
		return st.History[len(st.History)-1].Time.After(before.History[len(before.History)-1].Time)
	})

	f, err := scrape.Get(ctx, base+monitor.PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	ours := map[string]string{"namespace": ns}
	expect := func(what string, got, want map[string]float64) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	expect("state transitions by state", f.Series(metrics.StateTransitions, metrics.LabelState, ours), map[string]float64{
		string(prospect.StateSynced): 1, string(prospect.StateWaitingForAssignment): 1, string(prospect.StateSyncError): 1})
	expect("outcomes by action", f.Series(metrics.SyncOutcomes, metrics.LabelAction, ours), map[string]float64{
		string(prospect.ActionCreateLead): 1, string(prospect.ActionWait): 2, string(prospect.ActionError): 1})
	expect("sync errors by code", f.Series(metrics.SyncErrors, metrics.LabelCode, ours), map[string]float64{prospect.CodeInvalidEmail: 1})
	// Salesforce: the token and version check at start, then the Synced prospect's lookup (one
	// composite call) and create. Account Engagement: each prospect read once, and the Synced
	// one's assigned user (cached afterwards), and the waiting one again on its re-sync.
	// Nothing failed.
	expect("Salesforce calls by kind", f.Series(metrics.APICalls, metrics.LabelKind, map[string]string{metrics.LabelAPI: metrics.APISalesforce, metrics.LabelStatus: "2xx"}),
		map[string]float64{metrics.KindToken: 1, metrics.KindVersions: 1, metrics.KindComposite: 1, metrics.KindCreate: 1})
	expect("Account Engagement calls by kind", f.Series(metrics.APICalls, metrics.LabelKind, map[string]string{metrics.LabelAPI: metrics.APIEngagement, metrics.LabelStatus: "2xx"}),
		map[string]float64{metrics.KindRead: 4, metrics.KindUsers: 1})
	// Each Salesforce call went through a batcher; the worker was idle, so each went at once,
	// alone.
	for _, b := range []string{metrics.BatchLookup, metrics.BatchWrite} {
		if n := f.Count(metrics.BatchSize, map[string]string{metrics.LabelBatch: b}); n != 1 {
			t.Errorf("%d %s batches, want 1", n, b)
		}
	}
	if all := f.Value(metrics.APICalls, nil); all != 9 {
		t.Errorf("%v API calls in all, want the 9 above (none failed)", all)
	}
	// The usage the services reported, as the clients read it (the emulator counts every
	// client's calls, the other tests' too): at least this worker's, below the allocation.
	for api, calls := range map[string]float64{metrics.APISalesforce: 2, metrics.APIEngagement: 5} {
		sel := map[string]string{metrics.LabelAPI: api}
		if used, limit := f.Value(metrics.APIUsage, sel), f.Value(metrics.APILimit, sel); used < calls || limit <= used {
			t.Errorf("%s API usage %v of %v: want at least this worker's %v calls, below the limit", api, used, limit, calls)
		}
	}
	// The SDK's own metrics, through the same handler.
	if n := f.Value("temporal_request_total", ours); n == 0 {
		t.Error("no temporal_request_total for the namespace")
	}
	for _, h := range []string{"temporal_workflow_task_execution_latency_seconds", "temporal_activity_execution_latency_seconds"} {
		if f.Count(h, ours) == 0 {
			t.Errorf("no %s observations", h)
		}
	}
}

// /readyz says why a worker is not ready: pollers not started, or Temporal not answering (a
// client of a closed port).
func TestReadyzNotReady(t *testing.T) {
	closed := scrape.ClosedAddress(t)
	c, err := client.NewLazyClient(client.Options{HostPort: closed, Logger: connect.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := &readiness{client: c}
	s, err := monitor.Listen("127.0.0.1:0", http.NotFoundHandler(), r.check, testLog)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	url := "http://" + s.Addr() + monitor.PathReadyz
	if code, body := scrape.Fetch(t, url); code != http.StatusServiceUnavailable || !strings.Contains(body, "pollers are not running") {
		t.Errorf("before start: %d %q, want 503 naming the pollers", code, body)
	}
	r.started.Store(true)
	if code, body := scrape.Fetch(t, url); code != http.StatusServiceUnavailable || !strings.Contains(body, "Temporal is not reachable") {
		t.Errorf("Temporal at a closed port: %d %q, want 503 naming Temporal", code, body)
	}
}

// newNamespace registers a namespace of the test's own on the shared server, with the search
// attributes the syncs set, and waits until it serves requests.
func newNamespace(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	c := app().Client()
	ns := fmt.Sprintf("metrics-%d-%d", time.Now().UnixNano()%1e9, runSeq.Add(1))
	if _, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: ns, SearchAttributes: workflows.SearchAttributes()}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.WorkflowService().ListWorkflowExecutions(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: ns})
		if err == nil {
			return ns
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespace %s not usable within 30s: %v", ns, err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a wait for an outcome
	}
}

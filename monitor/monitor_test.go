package monitor

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/prospect-sync/prospect-sync/internal/budget"
	"github.com/prospect-sync/prospect-sync/internal/scrape"
	"github.com/prospect-sync/prospect-sync/internal/testclock"
	"github.com/prospect-sync/prospect-sync/metrics"
)

func newMetrics(t *testing.T, now func() time.Time) *Metrics {
	t.Helper()
	m, err := NewMetrics(zerolog.Nop(), now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func scrapeOf(t *testing.T, h http.Handler) scrape.Families {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	f, err := scrape.Get(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// What a scraper sees: our metrics under their constant names with their labels, the SDK's
// through its handler (counters as Prometheus counters, timers in seconds with second-sized
// buckets), the lag computed at scrape time, and the Go runtime's.
func TestMetricsExposition(t *testing.T) {
	clock := testclock.At(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	m := newMetrics(t, clock.Now)

	m.APICall(metrics.APISalesforce, metrics.KindComposite, "2xx")
	m.APICall(metrics.APISalesforce, metrics.KindComposite, "2xx")
	m.APICall(metrics.APIEngagement, metrics.KindRead, "5xx")
	sfUsage := budget.Usage{Used: 10, Limit: 1000, At: clock.Now()}
	m.Usage(metrics.APISalesforce, func() budget.Usage { return sfUsage })
	m.Usage(metrics.APIEngagement, func() budget.Usage { return budget.Usage{} }) // no answer yet
	sfUsage.Used = 12                                                             // read at scrape time: the latest answer wins
	m.FeedRead(metrics.APIEngagement, clock.Now())
	m.BatchSent(metrics.BatchWrite, 1, 0)
	m.BatchSent(metrics.BatchWrite, 35, 3*time.Second)
	metrics.Decision(m.SDKHandler(), "Evaluating", "SyncError", "error", "INVALID_EMAIL")
	metrics.Decision(m.SDKHandler(), "SyncError", "SyncError", "error", "INVALID_EMAIL")
	sdk := m.SDKHandler().WithTags(map[string]string{"namespace": "default"})
	sdk.Counter("temporal_request").Inc(3)
	sdk.Timer("temporal_activity_execution_latency").Record(40 * time.Millisecond)
	clock.Advance(90 * time.Second)

	f := scrapeOf(t, m.Handler())
	calls := func(api, kind, status string) float64 {
		return f.Value(metrics.APICalls, map[string]string{metrics.LabelAPI: api, metrics.LabelKind: kind, metrics.LabelStatus: status})
	}
	if got := calls(metrics.APISalesforce, metrics.KindComposite, "2xx"); got != 2 {
		t.Errorf("composite calls %v, want 2", got)
	}
	if got := calls(metrics.APIEngagement, metrics.KindRead, "5xx"); got != 1 {
		t.Errorf("failed reads %v, want 1", got)
	}
	sf := map[string]string{metrics.LabelAPI: metrics.APISalesforce}
	if u, l := f.Value(metrics.APIUsage, sf), f.Value(metrics.APILimit, sf); u != 12 || l != 1000 {
		t.Errorf("Salesforce usage %v of %v, want 12 of 1000", u, l)
	}
	if got := f.Series(metrics.APIUsage, metrics.LabelAPI, nil); len(got) != 1 {
		t.Errorf("usage series %v: want none for an API that has not answered", got)
	}
	if got := f.Value(metrics.ChangeFeedLag, map[string]string{metrics.LabelFeed: metrics.APIEngagement}); got != 90 {
		t.Errorf("lag %v, want 90 s: the time since the feed read through, at scrape time", got)
	}
	writes := map[string]string{metrics.LabelBatch: metrics.BatchWrite}
	if n, sum := f.Count(metrics.BatchSize, writes), f[metrics.BatchSize].GetMetric()[0].GetHistogram().GetSampleSum(); n != 2 || sum != 36 {
		t.Errorf("batch sizes: %d calls serving %v syncs, want 2 serving 36", n, sum)
	}
	if n, sum := f.Count(metrics.BatchLinger, writes), f[metrics.BatchLinger].GetMetric()[0].GetHistogram().GetSampleSum(); n != 2 || sum != 3 {
		t.Errorf("batch lingers: %d calls waiting %v s, want 2 waiting 3 s", n, sum)
	}
	if got := f.Series(metrics.StateTransitions, metrics.LabelState, nil); len(got) != 1 || got["SyncError"] != 1 {
		t.Errorf("transitions %v, want SyncError once (the second decision kept the state)", got)
	}
	if got := f.Value(metrics.SyncOutcomes, map[string]string{metrics.LabelState: "SyncError", metrics.LabelAction: "error"}); got != 2 {
		t.Errorf("outcomes %v, want 2", got)
	}
	if got := f.Value(metrics.SyncErrors, map[string]string{metrics.LabelCode: "INVALID_EMAIL"}); got != 2 {
		t.Errorf("errors %v, want 2", got)
	}
	if h := f[metrics.StateTransitions].GetHelp(); !strings.Contains(h, "state") {
		t.Errorf("help %q: want the description of a workflow-recorded metric", h)
	}
	if got := f.Value("temporal_request_total", map[string]string{"namespace": "default"}); got != 3 {
		t.Errorf("SDK counter %v, want 3", got)
	}
	hist := f["temporal_activity_execution_latency_seconds"]
	if hist == nil || f.Count("temporal_activity_execution_latency_seconds", nil) != 1 {
		t.Fatalf("SDK timer missing as a histogram in seconds: %v", hist)
	}
	for _, b := range hist.GetMetric()[0].GetHistogram().GetBucket() {
		if b.GetUpperBound() == 0.05 && b.GetCumulativeCount() != 1 {
			t.Errorf("40 ms not in the 50 ms bucket: %v", b)
		}
	}
	if _, ok := f["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}

func TestServerHealthReadinessAndMounts(t *testing.T) {
	var notReady atomic.Pointer[error]
	reason := errors.New("the worker's pollers are not running")
	notReady.Store(&reason)
	ready := func(context.Context) error {
		if err := notReady.Load(); err != nil {
			return *err
		}
		return nil
	}
	s, err := Listen("127.0.0.1:0", http.NotFoundHandler(), ready, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := "http://" + s.Addr()

	if code, _ := scrape.Fetch(t, base+PathHealthz); code != http.StatusOK {
		t.Errorf("healthz %d, want 200 while not ready: the process is up", code)
	}
	if code, body := scrape.Fetch(t, base+PathReadyz); code != http.StatusServiceUnavailable || !strings.Contains(body, reason.Error()) {
		t.Errorf("readyz %d %q, want 503 with the reason", code, body)
	}
	if err := Probe(context.Background(), s.Addr()); err == nil || !strings.Contains(err.Error(), reason.Error()) {
		t.Errorf("probe: %v, want the reason", err)
	}
	notReady.Store(nil)
	if code, _ := scrape.Fetch(t, base+PathReadyz); code != http.StatusOK {
		t.Errorf("readyz %d, want 200", code)
	}
	if err := Probe(context.Background(), s.Addr()); err != nil {
		t.Errorf("probe: %v", err)
	}

	// Another handler (a codec server, say) mounts on the running listener.
	s.Handle("POST /codec/decode", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "decoded") }))
	resp, err := http.Post(base+"/codec/decode", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "decoded" {
		t.Errorf("mounted handler answered %q", b)
	}

	// A second listener on the same address fails at once, naming the problem.
	if _, err := Listen(s.Addr(), http.NotFoundHandler(), ready, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("second listener on %s: %v, want address already in use", s.Addr(), err)
	}
}

func TestProbeURL(t *testing.T) {
	for _, tc := range []struct{ address, url, err string }{
		{address: "127.0.0.1:8290", url: "http://127.0.0.1:8290/readyz"},
		{address: "0.0.0.0:8290", url: "http://127.0.0.1:8290/readyz"},
		{address: ":8290", url: "http://127.0.0.1:8290/readyz"},
		{address: "[::]:8290", url: "http://127.0.0.1:8290/readyz"},
		{address: "[::1]:9000", url: "http://[::1]:9000/readyz"},
		{address: "worker.internal:8290", url: "http://worker.internal:8290/readyz"},
		{address: "off", err: "disabled"},
		{address: "-1", err: "disabled"},
		{address: "", err: "disabled"},
		{address: "127.0.0.1:0", err: "random port"},
		{address: "8290", err: "missing port"},
	} {
		url, err := ProbeURL(tc.address)
		if url != tc.url || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ProbeURL(%q) = %q, %v; want %q, error containing %q", tc.address, url, err, tc.url, tc.err)
		}
	}
}

// A listener that is not there is a failed probe, not a hang.
func TestProbeNoListener(t *testing.T) {
	addr := scrape.ClosedAddress(t)
	if err := Probe(context.Background(), addr); err == nil {
		t.Errorf("probe of closed %s succeeded", addr)
	}
}

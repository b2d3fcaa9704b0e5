// Package monitor is the worker's HTTP listener and what it serves: the Prometheus /metrics
// (the Temporal SDK's metrics through OpenTelemetry, ours, the Go runtime's), /healthz and
// /readyz; and the probe behind `worker -healthcheck`.
package monitor

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"

	"github.com/prospect-sync/prospect-sync/internal/budget"
	"github.com/prospect-sync/prospect-sync/metrics"
)

// latencyBuckets are the histogram bounds, in seconds, of the SDK's latencies: from a
// millisecond task to a five-minute activity. OpenTelemetry's defaults (0 to 10,000) suit
// milliseconds, not seconds.
var latencyBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}

// descriptions are the help texts of the metrics workflow code records through the SDK's
// handler, which cannot pass one.
var descriptions = map[string]string{
	metrics.SyncOutcomes:     "Decisions recorded by prospect syncs, by state and action.",
	metrics.StateTransitions: "Decisions that moved a prospect sync into another state, by the state entered.",
	metrics.SyncErrors:       "Decisions that ended a prospect sync in SyncError, by error code.",
}

// Metrics is one worker's metrics: an OpenTelemetry meter provider exporting to its own
// Prometheus registry (no global state, so several workers in one process keep theirs apart).
type Metrics struct {
	registry *prometheus.Registry
	provider *sdkmetric.MeterProvider
	sdk      client.MetricsHandler
	calls    metric.Int64Counter
	sizes    metric.Int64Histogram
	lingers  metric.Float64Histogram
	now      func() time.Time

	mu    sync.Mutex
	feeds map[string]time.Time           // feed → the time up to which it has read everything
	usage map[string]func() budget.Usage // api → its clients' latest usage figures
	// paused reports the pause in force (prospect_sync_paused); nil: never paused.
	paused func() bool
}

// NewMetrics builds the registry and the meter provider; now is the clock of the change-feed
// lag (nil: time.Now).
func NewMetrics(log zerolog.Logger, now func() time.Time) (*Metrics, error) {
	if now == nil {
		now = time.Now
	}
	m := &Metrics{registry: prometheus.NewRegistry(), now: now, feeds: map[string]time.Time{}, usage: map[string]func() budget.Usage{}}
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exporter, err := otelprom.New(otelprom.WithRegisterer(m.registry), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, err
	}
	views := []sdkmetric.View{sdkmetric.NewView(sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram, Unit: "s"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: latencyBuckets}})}
	for name, help := range descriptions {
		views = append(views, sdkmetric.NewView(sdkmetric.Instrument{Name: name}, sdkmetric.Stream{Description: help}))
	}
	m.provider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter), sdkmetric.WithView(views...))
	meter := m.provider.Meter("github.com/prospect-sync/prospect-sync")
	m.sdk = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter: meter,
		// Prometheus counters (rate() works), not the gauges up-down counters become.
		UseMonotonicCounters: true,
		// The default panics; a metric that cannot be made is not worth a worker.
		OnError: func(err error) { log.Warn().Err(err).Msg("SDK metric") },
	})
	var errs [7]error
	_, errs[6] = meter.Int64ObservableGauge(metrics.Paused,
		metric.WithDescription("1 while an operator's pause holds every write to Salesforce and Account Engagement, else 0."),
		metric.WithInt64Callback(m.observePaused))
	m.calls, errs[0] = meter.Int64Counter(metrics.APICalls,
		metric.WithDescription("HTTP requests to Salesforce and Account Engagement, by API, kind and status class."))
	_, errs[1] = meter.Float64ObservableGauge(metrics.ChangeFeedLag,
		metric.WithDescription("Seconds since the time up to which a change feed's last successful poll read everything."),
		metric.WithFloat64Callback(m.observeLag))
	var used, limit metric.Int64ObservableGauge
	used, errs[2] = meter.Int64ObservableGauge(metrics.APIUsage,
		metric.WithDescription("API calls used today by the org (Salesforce: rolling 24 hours) or business unit (Account Engagement), as the latest answer reported."))
	limit, errs[3] = meter.Int64ObservableGauge(metrics.APILimit,
		metric.WithDescription("Daily API call allocation of the org or business unit, as the latest answer reported."))
	m.sizes, errs[4] = meter.Int64Histogram(metrics.BatchSize,
		metric.WithDescription("Syncs served by each shared Salesforce call, by batch (lookup, write)."),
		metric.WithExplicitBucketBoundaries(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000))
	// No unit: the seconds view is for the SDK's latencies; the name says seconds already.
	m.lingers, errs[5] = meter.Float64Histogram(metrics.BatchLinger,
		metric.WithDescription("Seconds the first request of each shared Salesforce call waited for others, by batch."),
		metric.WithExplicitBucketBoundaries(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	if _, err := meter.RegisterCallback(m.observeUsage(used, limit), used, limit); err != nil {
		return nil, err
	}
	return m, nil
}

// SDKHandler is the Temporal SDK's metrics handler (client.Options.MetricsHandler).
func (m *Metrics) SDKHandler() client.MetricsHandler { return m.sdk }

// Handler serves the registry in Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// APICall counts one request to Salesforce or Account Engagement (connect.APIObserver).
func (m *Metrics) APICall(api, kind, status string) {
	m.calls.Add(context.Background(), 1, metric.WithAttributes(
		attribute.String(metrics.LabelAPI, api), attribute.String(metrics.LabelKind, kind), attribute.String(metrics.LabelStatus, status)))
}

// BatchSent records one shared Salesforce call (activities.Activities.BatchSent).
func (m *Metrics) BatchSent(kind string, size int, waited time.Duration) {
	attrs := metric.WithAttributes(attribute.String(metrics.LabelBatch, kind))
	m.sizes.Record(context.Background(), int64(size), attrs)
	m.lingers.Record(context.Background(), waited.Seconds(), attrs)
}

// Usage makes the usage gauges of api read usage (a client's Usage) at each scrape.
func (m *Metrics) Usage(api string, usage func() budget.Usage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.usage[api] = usage
}

// observeUsage reports each API's latest figures; an API that has not answered yet has none.
func (m *Metrics) observeUsage(used, limit metric.Int64Observable) metric.Callback {
	return func(_ context.Context, o metric.Observer) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		for api, usage := range m.usage {
			u := usage()
			if u.At.IsZero() {
				continue
			}
			attrs := metric.WithAttributes(attribute.String(metrics.LabelAPI, api))
			o.ObserveInt64(used, int64(u.Used), attrs)
			o.ObserveInt64(limit, int64(u.Limit), attrs)
		}
		return nil
	}
}

// Paused makes prospect_sync_paused read paused at each scrape.
func (m *Metrics) Paused(paused func() bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.paused = paused
}

func (m *Metrics) observePaused(_ context.Context, o metric.Int64Observer) error {
	m.mu.Lock()
	paused := m.paused
	m.mu.Unlock()
	v := int64(0)
	if paused != nil && paused() {
		v = 1
	}
	o.Observe(v)
	return nil
}

// FeedRead records how far a change feed has read (activities.Activities.FeedRead).
func (m *Metrics) FeedRead(feed string, through time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.feeds[feed] = through
}

// observeLag reports each feed's lag at scrape time, so a feed that stopped polling shows a
// growing lag rather than its last value.
func (m *Metrics) observeLag(_ context.Context, o metric.Float64Observer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for feed, through := range m.feeds {
		o.Observe(max(now.Sub(through).Seconds(), 0), metric.WithAttributes(attribute.String(metrics.LabelFeed, feed)))
	}
	return nil
}

// Close stops the meter provider.
func (m *Metrics) Close() error {
	return m.provider.Shutdown(context.Background())
}

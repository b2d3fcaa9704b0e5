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
	usage    metric.Int64Gauge
	limit    metric.Int64Gauge
	now      func() time.Time

	mu    sync.Mutex
	feeds map[string]time.Time // feed → the time up to which it has read everything
}

// NewMetrics builds the registry and the meter provider; now is the clock of the change-feed
// lag (nil: time.Now).
func NewMetrics(log zerolog.Logger, now func() time.Time) (*Metrics, error) {
	if now == nil {
		now = time.Now
	}
	m := &Metrics{registry: prometheus.NewRegistry(), now: now, feeds: map[string]time.Time{}}
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
	var errs [4]error
	m.calls, errs[0] = meter.Int64Counter(metrics.APICalls,
		metric.WithDescription("HTTP requests to Salesforce and Account Engagement, by API, kind and status class."))
	m.usage, errs[1] = meter.Int64Gauge(metrics.SalesforceAPIUsage,
		metric.WithDescription("Salesforce API requests used in the rolling 24 hours, from the latest Sforce-Limit-Info header."))
	m.limit, errs[2] = meter.Int64Gauge(metrics.SalesforceAPILimit,
		metric.WithDescription("Salesforce daily API request allocation, from the latest Sforce-Limit-Info header."))
	_, errs[3] = meter.Float64ObservableGauge(metrics.ChangeFeedLag,
		metric.WithDescription("Seconds since the time up to which a change feed's last successful poll read everything."),
		metric.WithFloat64Callback(m.observeLag))
	if err := errors.Join(errs[:]...); err != nil {
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

// SalesforceUsage records the org's API usage and allocation (connect.APIObserver).
func (m *Metrics) SalesforceUsage(used, limit int) {
	m.usage.Record(context.Background(), int64(used))
	m.limit.Record(context.Background(), int64(limit))
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

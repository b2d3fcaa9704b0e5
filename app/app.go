// Package app wires the worker: the embedded Temporal server and the emulator when configured,
// the Salesforce and Account Engagement clients, and the Temporal worker itself.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/connect"
	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/internal/budget"
	"github.com/prospect-sync/prospect-sync/metrics"
	"github.com/prospect-sync/prospect-sync/monitor"
	"github.com/prospect-sync/prospect-sync/salesforce"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// App is a running worker with whatever local parts its configuration asked for.
type App struct {
	log zerolog.Logger
	// dev holds the embedded Temporal server and the emulator (see dev.go; none with -tags nodev).
	dev    devParts
	client client.Client
	worker worker.Worker
	// stopFeeds ends the background start of the change feeds and the share of Account
	// Engagement's limit.
	stopFeeds context.CancelFunc
	// aeShare is this worker's share of Account Engagement's requests in flight.
	aeShare atomic.Int64
	// metrics, http and ready are the worker's metrics and HTTP listener (http.go).
	metrics *monitor.Metrics
	http    *monitor.Server
	ready   readiness
	// pauses is the worker's view of the sync's pause (pause.go).
	pauses *pauseWatcher
	// codec is the codec server's own listener (http.go); nil when not served.
	codec *http.Server

	// TemporalAddress, UIURL and EmulatorURL say what runs where ("" when not local);
	// HTTPAddress is the worker's HTTP listener ("" when disabled).
	TemporalAddress string
	UIURL           string
	EmulatorURL     string
	HTTPAddress     string
	// CodecAddress is the codec server's listener ("" when not served).
	CodecAddress string
}

// Start starts the embedded server and emulator when configured, then the worker.
func Start(ctx context.Context, cfg Config, log zerolog.Logger) (_ *App, err error) {
	a := &App{log: log}
	defer func() {
		if err != nil {
			a.Stop()
		}
	}()

	if cfg.Embedded() || cfg.UseEmulator() {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	if cfg.UseEmulator() {
		url, err := a.dev.startEmulator(cfg, log)
		if err != nil {
			return nil, err
		}
		a.EmulatorURL = url
	}

	copts := cfg.Temporal
	if cfg.Embedded() {
		if err := a.dev.startTemporal(ctx, cfg, log); err != nil {
			return nil, err
		}
		a.TemporalAddress, a.UIURL = a.dev.temporalAddress(), a.dev.uiURL()
		copts = client.Options{HostPort: a.TemporalAddress, Namespace: workflows.Namespace}
	}
	a.TemporalAddress = copts.HostPort
	cfg.Encryption.Apply(&copts)
	if cfg.NoWorker {
		// The local services alone: workers run as separate processes (crash tests, or a
		// developer restarting a worker without restarting its server).
		return a, nil
	}
	if err := a.listen(cfg); err != nil {
		return nil, err
	}
	copts.MetricsHandler = a.metrics.SDKHandler()
	if loopback(copts.HostPort) {
		// Compressing gRPC to a server on this machine costs CPU and saves nothing.
		copts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	// The SDK logs at the process's level: LOG_LEVEL=debug shows its debug lines, and the
	// activities' info lines ("found the Lead an earlier attempt created") show at info.
	copts.Logger = SDKLogger{Z: log.With().Str("component", "temporal-sdk").Logger()}
	if copts.Identity == "" {
		copts.Identity = identity()
	}
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	a.client, err = client.DialContext(dialCtx, copts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", copts.HostPort, err)
	}

	a.ready.client = a.client
	sf, ae, err := cfg.Services.ObservedClients(a.EmulatorURL, a.metrics)
	if err != nil {
		return nil, err
	}
	a.metrics.Usage(metrics.APISalesforce, sf.Usage)
	a.metrics.Usage(metrics.APIEngagement, ae.Usage)
	if err := sf.CheckVersion(ctx); errors.Is(err, salesforce.ErrVersionNotOffered) {
		return nil, fmt.Errorf("SALESFORCE_API_VERSION: %w", err)
	} else if err != nil {
		// Salesforce unreachable or refusing now: the syncs retry; starting the worker still helps.
		log.Warn().Err(err).Msg("could not check the Salesforce API version at start")
	}
	// Waiting workflows fall out of this LRU cache, so worker memory stays bounded however many
	// prospects wait; a signal replays an evicted one from its (short) history.
	if cfg.StickyCacheSize > 0 {
		worker.SetStickyWorkflowCacheSize(cfg.StickyCacheSize)
	}
	a.worker = worker.New(a.client, workflows.TaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: cfg.MaxConcurrentActivities,
		// Let running activities finish on shutdown rather than abandon them mid-write.
		WorkerStopTimeout: connect.WorkerStopTimeout,
		DeploymentOptions: cfg.deploymentOptions(),
		OnFatalError:      func(err error) { a.ready.fatal.Store(&err) },
	})
	start := func(ctx context.Context, id int64, signal string, req *workflows.ChangeRequest) error {
		_, err := workflows.SignalSync(ctx, a.client, id, signal, req)
		return err
	}
	acts := activities.New(sf, ae, start)
	acts.Linked = func(ctx context.Context, recordIDs []string) ([]int64, error) {
		return workflows.LinkedProspects(ctx, a.client, recordIDs)
	}
	acts.Backlog = func(ctx context.Context) (int, error) { return workflows.Backlog(ctx, a.client) }
	acts.ProspectIDField = cfg.Services.ProspectIDField
	// The usage comes from answers every worker sees, so each keeps the same reserve.
	acts.SFBudget = &budget.Gate{API: "Salesforce", SpentCode: salesforce.CodeRequestLimitExceeded, Reserve: cfg.Services.SalesforceReserve, Usage: sf.Usage, Probe: cfg.Services.SalesforceLimitRetry}
	acts.AEBudget = &budget.Gate{API: "Account Engagement", SpentCode: fmt.Sprintf("code %d", engagement.CodeDailyLimit), Reserve: cfg.Services.EngagementReserve, Usage: ae.Usage, Probe: cfg.Services.EngagementLimitRetry}
	acts.FeedRead, acts.BatchSent = a.metrics.FeedRead, a.metrics.BatchSent
	if cfg.StartPaused {
		started, err := workflows.StartPaused(ctx, a.client, workflows.PauseRequest{By: "PROSPECT_SYNC_START_PAUSED",
			Reason: "a new deployment starts paused: review `starter plan`, then `starter resume`"})
		if err != nil {
			return nil, fmt.Errorf("PROSPECT_SYNC_START_PAUSED: %w", err)
		}
		if started {
			log.Warn().Msg("started paused (PROSPECT_SYNC_START_PAUSED): nothing is written until `starter resume`")
		}
	}
	pauses := &pauseWatcher{c: a.client, every: cfg.PausePoll, log: log}
	// The first read happens once the worker runs (the control workflow needs a worker to
	// answer): until then every write is held, so a pause set before the start holds from the
	// first activity.
	a.pauses = pauses
	acts.Paused = pauses.Paused
	a.metrics.Paused(pauses.IsPaused)
	activities.EnableBatching(acts, cfg.BatchLinger)
	Register(a.worker, acts, cfg.Settings)
	if err := a.worker.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	if cfg.Versioning {
		reportRouting(ctx, a.client, cfg, log)
	}
	var bg context.Context
	bg, a.stopFeeds = context.WithCancel(context.Background())
	go a.shareEngagement(bg, ae, cfg.Services.EngagementInFlight, cfg.EngagementShareEvery)
	go pauses.run(bg)
	if cfg.StartFeeds {
		go a.startFeeds(bg, cfg)
	}
	a.ready.started.Store(true)
	return a, nil
}

// startFeeds makes sure both change feeds run, as part of running the product: it starts each
// one that is not running (any worker may; the feeds' fixed ids keep them one each), from now,
// and retries with backoff while Temporal refuses. `starter watch` starts them by hand with
// other intervals or cursors.
func (a *App) startFeeds(ctx context.Context, cfg Config) {
	now := time.Now().UTC()
	feeds := []struct {
		name  string
		start func(context.Context) (bool, error)
	}{
		{"Account Engagement change feed", func(ctx context.Context) (bool, error) {
			return workflows.StartChangeFeed(ctx, a.client, workflows.ChangeFeedInput{Cursor: now, Interval: cfg.FeedInterval, Overlap: workflows.DefaultFeedOverlap})
		}},
		{"Salesforce change feed", func(ctx context.Context) (bool, error) {
			return workflows.StartCrmChangeFeed(ctx, a.client, workflows.CrmChangeFeedInput{Cursor: now, Interval: cfg.CRMFeedInterval})
		}},
	}
	for _, f := range feeds {
		for wait := time.Second; ; wait = min(2*wait, time.Minute) {
			started, err := f.start(ctx)
			if err == nil {
				if started {
					a.log.Info().Str("feed", f.name).Msg("started the change feed (PROSPECT_SYNC_START_FEEDS)")
				}
				break
			}
			a.log.Error().Err(err).Str("feed", f.name).Dur("retryIn", wait).Msg("could not start the change feed; retrying")
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}
}

// Register puts the workflows and activities on a worker under their contract names. All three
// workflows auto-upgrade under Worker Versioning: they live for months and continue as new, so
// pinning them would keep every old build running; their changes stay replay-safe through
// GetVersion and the replay tests instead.
func Register(w worker.Registry, acts *activities.Activities, s workflows.SyncSettings) {
	const auto = workflow.VersioningBehaviorAutoUpgrade
	w.RegisterWorkflowWithOptions(workflows.ProspectSync, workflow.RegisterOptions{Name: workflows.ProspectSyncWorkflow, VersioningBehavior: auto})
	w.RegisterWorkflowWithOptions(workflows.ChangeFeed, workflow.RegisterOptions{Name: workflows.ChangeFeedWorkflow, VersioningBehavior: auto})
	w.RegisterWorkflowWithOptions(workflows.CrmChangeFeed, workflow.RegisterOptions{Name: workflows.CrmChangeFeedWorkflow, VersioningBehavior: auto})
	w.RegisterWorkflowWithOptions(workflows.SyncControl, workflow.RegisterOptions{Name: workflows.SyncControlWorkflow, VersioningBehavior: auto})
	acts.Settings = s.Settings
	w.RegisterActivity(acts)
	w.RegisterActivityWithOptions(workflows.SettingsLoader(s), activity.RegisterOptions{Name: workflows.LoadSettingsActivity})
}

// Paused reports whether this worker holds its writes: an operator's pause, as it last read it.
func (a *App) Paused() bool { return a.pauses != nil && a.pauses.IsPaused() }

// Client is the Temporal client the worker uses.
func (a *App) Client() client.Client { return a.client }

// Stop shuts down in reverse order: the worker first, so activities finish against live services.
func (a *App) Stop() {
	if a.stopFeeds != nil {
		a.stopFeeds()
	}
	a.ready.started.Store(false)
	if a.worker != nil {
		a.worker.Stop()
	}
	a.stopHTTP()
	if a.client != nil {
		a.client.Close()
	}
	a.dev.stop(a.log)
}

// loopback reports whether a host:port names this machine.
func loopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

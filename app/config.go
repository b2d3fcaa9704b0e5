package app

import (
	"flag"
	"fmt"
	"github.com/prospect-sync/prospect-sync/config"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/connect"
	"github.com/prospect-sync/prospect-sync/monitor"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// DefaultMaxActivities is the default of PROSPECT_SYNC_MAX_ACTIVITIES. Batched Salesforce
// writes wait in their slots for others (SALESFORCE_BATCH_LINGER × the sync rate, ~75 at 25/s),
// so there are more slots than calls in flight; Account Engagement calls stay capped at 5.
const DefaultMaxActivities = 500

// Config is the worker's whole configuration: environment first, flags over it.
type Config struct {
	// Local development parts.
	Host         string
	DataDir      string
	TemporalPort int
	UIPort       int
	EmulatorPort int
	// TaskQueuePartitions is the embedded server's partitions per task queue; 0 keeps its
	// defaults (devserver.Options.TaskQueuePartitions says why the worker does).
	TaskQueuePartitions int
	// Temporal is the client configuration the SDK's way (TEMPORAL_*, temporal.toml profiles);
	// TemporalConfigured false means nothing names a server: the dev build embeds one.
	Temporal           client.Options
	TemporalConfigured bool

	// Services says how to reach Salesforce and Account Engagement (the emulator when unset).
	Services connect.Services
	// Encryption seals payloads when a key is configured, and configures the codec server.
	Encryption connect.Encryption

	// Settings are the sync's rules and Temporal knobs, handed to every run.
	Settings workflows.SyncSettings

	// NoWorker runs the embedded Temporal server, its UI and the emulator without a worker
	// (-no-worker): workers connect to them from other processes.
	NoWorker bool

	// Versioning makes the worker a Worker Deployment Version (DeploymentName, BuildID), so a
	// new build takes over running syncs only when the deployment says so (docs/deploy.md).
	Versioning     bool
	DeploymentName string
	BuildID        string

	// HTTPAddress is the worker's HTTP listener (/metrics, /healthz, /readyz); "off", "-1" or
	// empty disables it. Healthcheck asks that listener whether the worker is ready, and exits.
	HTTPAddress string
	Healthcheck bool

	MaxConcurrentActivities int
	StickyCacheSize         int
	// BatchLinger is how long a Salesforce lookup or write waits to share its call with other
	// syncs' (SALESFORCE_BATCH_LINGER); 0 gives every sync calls of its own.
	BatchLinger time.Duration
	// StartFeeds makes the worker start both change feeds if they are not running
	// (PROSPECT_SYNC_START_FEEDS), polling every FeedInterval and CRMFeedInterval.
	StartFeeds bool
	// EngagementShareEvery is how often the worker recounts the workers it shares Account
	// Engagement's requests in flight with.
	EngagementShareEvery time.Duration
	FeedInterval         time.Duration
	CRMFeedInterval      time.Duration
	// StartPaused starts a new deployment paused, as Account Engagement's connector is
	// provisioned (PROSPECT_SYNC_START_PAUSED): only when no pause state exists yet.
	StartPaused bool
	// PausePoll is how often the worker reads the pause state (PROSPECT_SYNC_PAUSE_POLL): a pause
	// holds every write of this worker within it.
	PausePoll time.Duration
	LogLevel  string
	LogFormat string
}

// Embedded reports whether the worker runs its own Temporal server.
func (c Config) Embedded() bool { return !c.TemporalConfigured }

// UseEmulator reports whether the worker runs the local Salesforce/Account Engagement emulator.
func (c Config) UseEmulator() bool { return c.Services.UseEmulator() }

// LoadConfig reads the environment (getenv) and then the flags in args.
func LoadConfig(args []string, getenv func(string) string) (Config, error) {
	env := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	var errs []string
	envBool := func(key string, def bool) bool {
		v := env(key, strconv.FormatBool(def))
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: want true or false", key, v))
		}
		return b
	}
	envDuration := func(key string, def time.Duration) time.Duration {
		v := env(key, def.String())
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Sprintf("%s=%q: want a duration such as 24h", key, v))
		}
		return d
	}
	envInt := func(key string, def int) int {
		v := env(key, strconv.Itoa(def))
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: want an integer", key, v))
		}
		return n
	}

	rules, err := config.SyncSettings(getenv)
	if err != nil {
		errs = append(errs, strings.Split(err.Error(), "\n")...)
	}
	s := workflows.SyncSettings{Settings: rules,
		ActivityTimeout:  envDuration("SYNC_ACTIVITY_TIMEOUT", workflows.DefaultActivityTimeout),
		MaxHistoryEvents: envInt("SYNC_MAX_HISTORY_EVENTS", workflows.DefaultMaxHistoryEvents)}
	if err == nil {
		if err := s.Validate(); err != nil {
			errs = append(errs, err.Error())
		}
	}

	c := Config{
		Host:                    env("PROSPECT_SYNC_HOST", "127.0.0.1"),
		DataDir:                 env("PROSPECT_SYNC_DATA_DIR", ".data"),
		TemporalPort:            envInt("PROSPECT_SYNC_TEMPORAL_PORT", 7233),
		UIPort:                  envInt("PROSPECT_SYNC_UI_PORT", 8233),
		EmulatorPort:            envInt("PROSPECT_SYNC_EMULATOR_PORT", 8280),
		Services:                connect.ServicesFromEnv(getenv),
		HTTPAddress:             env(monitor.EnvAddress, monitor.DefaultAddress),
		Settings:                s,
		MaxConcurrentActivities: envInt("PROSPECT_SYNC_MAX_ACTIVITIES", DefaultMaxActivities),
		StickyCacheSize:         envInt("PROSPECT_SYNC_STICKY_CACHE", 2000),
		BatchLinger:             envDuration("SALESFORCE_BATCH_LINGER", activities.DefaultBatchLinger),
		StartFeeds:              envBool("PROSPECT_SYNC_START_FEEDS", true),
		EngagementShareEvery:    DefaultEngagementShareEvery,
		FeedInterval:            envDuration("SYNC_FEED_INTERVAL", workflows.DefaultFeedInterval),
		CRMFeedInterval:         envDuration("SYNC_CRM_FEED_INTERVAL", workflows.DefaultCrmFeedInterval),
		StartPaused:             envBool("PROSPECT_SYNC_START_PAUSED", false),
		PausePoll:               envDuration("PROSPECT_SYNC_PAUSE_POLL", DefaultPausePoll),
		Versioning:              envBool(EnvWorkerVersioning, false),
		DeploymentName:          env(EnvDeploymentName, DefaultDeploymentName),
		BuildID:                 env(EnvBuildID, DefaultBuildID()),
		LogLevel:                env("LOG_LEVEL", "info"),
		LogFormat:               env("LOG_FORMAT", "auto"),
	}

	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.StringVar(&c.Host, "host", c.Host, "address the embedded Temporal, UI and emulator bind to (env PROSPECT_SYNC_HOST)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "where the embedded Temporal and the emulator keep their SQLite files (env PROSPECT_SYNC_DATA_DIR)")
	fs.IntVar(&c.TemporalPort, "temporal-port", c.TemporalPort, "embedded Temporal frontend port (env PROSPECT_SYNC_TEMPORAL_PORT)")
	fs.IntVar(&c.UIPort, "ui-port", c.UIPort, "embedded Temporal Web UI port; -1 disables it (env PROSPECT_SYNC_UI_PORT)")
	fs.IntVar(&c.EmulatorPort, "emulator-port", c.EmulatorPort, "emulator port (env PROSPECT_SYNC_EMULATOR_PORT)")
	fs.BoolVar(&c.NoWorker, "no-worker", c.NoWorker, "run the embedded Temporal server, UI and emulator only; workers connect from other processes (env PROSPECT_SYNC_NO_WORKER)")
	fs.StringVar(&c.HTTPAddress, "http-address", c.HTTPAddress, "the worker's HTTP listener (/metrics, /healthz, /readyz); off disables it (env "+monitor.EnvAddress+")")
	fs.BoolVar(&c.Healthcheck, "healthcheck", false, "ask the running worker's HTTP listener (-http-address) whether it is ready; exit 0 if so, else 1")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "trace, debug, info, warn or error (env LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "auto (console on a terminal, else json), console or json (env LOG_FORMAT)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	errs = append(errs, c.Services.Problems()...)
	if c.NoWorker && !c.UseEmulator() {
		errs = append(errs, "-no-worker runs the local emulator and server only: unset SALESFORCE_CLIENT_ID")
	}
	if c.Temporal, c.TemporalConfigured, err = connect.Temporal(getenv); err != nil {
		errs = append(errs, err.Error())
	}
	if c.Encryption, err = connect.EncryptionFromEnv(getenv); err != nil {
		errs = append(errs, err.Error())
	}
	if c.NoWorker && c.TemporalConfigured {
		errs = append(errs, "-no-worker runs the embedded Temporal server: unset TEMPORAL_ADDRESS (and TEMPORAL_PROFILE)")
	}
	if c.Versioning && c.BuildID == "" {
		errs = append(errs, EnvWorkerVersioning+" is on but this binary knows no build id (built without VCS information): set "+EnvBuildID)
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	return c, nil
}

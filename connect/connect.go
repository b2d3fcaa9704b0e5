// Package connect reads how to reach the services — Temporal, Salesforce and Account
// Engagement — from the environment, the same way for every command (worker, starter, bench),
// and builds their clients.
package connect

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/log"

	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/metrics"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

// Defaults and the local emulator's fixed credentials (emulator/doc.go; the emulator
// declares its own, since it shares no code with the clients).
const (
	DefaultLoginURL        = "https://login.salesforce.com"
	DefaultAPIVersion      = salesforce.DefaultAPIVersion
	DefaultEngagementURL   = "https://pi.pardot.com"
	DefaultEmulatorURL     = "http://127.0.0.1:8280"
	EmulatorClientID       = "emulator"
	EmulatorClientSecret   = "emulator"
	EmulatorBusinessUnitID = "0Uv000000000001AAA"
	// WorkerStopTimeout is how long a stopping worker lets its running activities finish rather
	// than abandon them mid-write; a container's stop grace period must be longer.
	WorkerStopTimeout = 30 * time.Second
	// DefaultAPIReserve is the share of each daily API allocation kept for the org's other
	// integrations.
	DefaultAPIReserve = 0.10
	// DefaultTemporalAddress is where the dev worker's embedded server listens.
	DefaultTemporalAddress = "127.0.0.1:7233"
)

// Services says how to reach Salesforce and Account Engagement.
type Services struct {
	LoginURL       string // SALESFORCE_LOGIN_URL
	ClientID       string // SALESFORCE_CLIENT_ID; unset means the local emulator
	ClientSecret   string // SALESFORCE_CLIENT_SECRET (client credentials)
	Username       string // SALESFORCE_USERNAME (JWT bearer)
	PrivateKeyFile string // SALESFORCE_PRIVATE_KEY_FILE (JWT bearer)
	APIVersion     string // SALESFORCE_API_VERSION
	// ProspectIDField, when set (SALESFORCE_PROSPECT_ID_FIELD), makes Lead creates upserts on
	// this external-id field.
	ProspectIDField string
	EngagementURL   string // ACCOUNT_ENGAGEMENT_URL
	BusinessUnitID  string // ACCOUNT_ENGAGEMENT_BUSINESS_UNIT_ID
	// EmulatorURL is where a command that does not run the emulator itself finds it
	// (PROSPECT_SYNC_EMULATOR_URL).
	EmulatorURL string
	// SalesforceLimitRetry and EngagementLimitRetry are how long a sync waits, once a daily
	// API limit is spent, before trying again (SALESFORCE_LIMIT_RETRY, default 1m;
	// ACCOUNT_ENGAGEMENT_LIMIT_RETRY, default 1h, and never past the next UTC midnight).
	SalesforceLimitRetry time.Duration
	EngagementLimitRetry time.Duration
	// SalesforceReserve and EngagementReserve are the shares of each daily allocation left to
	// the org's other integrations (SALESFORCE_API_RESERVE, ACCOUNT_ENGAGEMENT_API_RESERVE,
	// default 0.10; 0 turns the reserve off): past the rest, work waits for the window to free.
	SalesforceReserve float64
	EngagementReserve float64
	// EngagementInFlight is how many Account Engagement requests the business unit allows in
	// flight for all its clients together (ACCOUNT_ENGAGEMENT_MAX_IN_FLIGHT, default 5); the
	// workers share it (app: each takes its share of the workers polling the task queue).
	EngagementInFlight int
	// bad holds settings that did not parse.
	bad []string
}

// ServicesFromEnv reads the SALESFORCE_* and ACCOUNT_ENGAGEMENT_* variables, with defaults.
func ServicesFromEnv(getenv func(string) string) Services {
	env := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	var bad []string
	duration := func(key string, def time.Duration) time.Duration {
		v := env(key, def.String())
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bad = append(bad, fmt.Sprintf("%s=%q: want a positive duration such as 1m", key, v))
		}
		return d
	}
	share := func(key string, def float64) float64 {
		v := env(key, strconv.FormatFloat(def, 'f', -1, 64))
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f >= 1 {
			bad = append(bad, fmt.Sprintf("%s=%q: want a share of the daily allocation from 0 to 0.99, such as 0.10", key, v))
		}
		return f
	}
	count := func(key string, def int) int {
		v := env(key, strconv.Itoa(def))
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			bad = append(bad, fmt.Sprintf("%s=%q: want a positive number", key, v))
		}
		return n
	}
	return Services{
		EngagementInFlight:   count("ACCOUNT_ENGAGEMENT_MAX_IN_FLIGHT", engagement.DefaultMaxConcurrent),
		SalesforceReserve:    share("SALESFORCE_API_RESERVE", DefaultAPIReserve),
		EngagementReserve:    share("ACCOUNT_ENGAGEMENT_API_RESERVE", DefaultAPIReserve),
		SalesforceLimitRetry: duration("SALESFORCE_LIMIT_RETRY", salesforce.DefaultRateLimitDelay),
		EngagementLimitRetry: duration("ACCOUNT_ENGAGEMENT_LIMIT_RETRY", time.Hour),
		bad:                  bad,
		LoginURL:             env("SALESFORCE_LOGIN_URL", DefaultLoginURL),
		ClientID:             env("SALESFORCE_CLIENT_ID", ""),
		ClientSecret:         env("SALESFORCE_CLIENT_SECRET", ""),
		Username:             env("SALESFORCE_USERNAME", ""),
		PrivateKeyFile:       env("SALESFORCE_PRIVATE_KEY_FILE", ""),
		APIVersion:           env("SALESFORCE_API_VERSION", DefaultAPIVersion),
		ProspectIDField:      env("SALESFORCE_PROSPECT_ID_FIELD", ""),
		EngagementURL:        env("ACCOUNT_ENGAGEMENT_URL", DefaultEngagementURL),
		BusinessUnitID:       env("ACCOUNT_ENGAGEMENT_BUSINESS_UNIT_ID", ""),
		EmulatorURL:          env("PROSPECT_SYNC_EMULATOR_URL", DefaultEmulatorURL),
	}
}

// UseEmulator reports whether the services are the local emulator (no SALESFORCE_CLIENT_ID).
func (s Services) UseEmulator() bool { return s.ClientID == "" }

// Problems lists the settings real services need that are missing, naming each variable.
func (s Services) Problems() []string {
	out := s.bad
	if s.UseEmulator() {
		return out
	}
	if s.Username == "" && s.ClientSecret == "" {
		out = append(out, "SALESFORCE_CLIENT_ID is set: also set SALESFORCE_CLIENT_SECRET (client credentials) or SALESFORCE_USERNAME + SALESFORCE_PRIVATE_KEY_FILE (JWT bearer)")
	}
	if s.Username != "" && s.PrivateKeyFile == "" {
		out = append(out, "SALESFORCE_USERNAME is set: also set SALESFORCE_PRIVATE_KEY_FILE")
	}
	if s.BusinessUnitID == "" {
		out = append(out, "ACCOUNT_ENGAGEMENT_BUSINESS_UNIT_ID is required with real Salesforce")
	}
	if u, err := url.Parse(s.LoginURL); s.Username == "" && err == nil && (strings.EqualFold(u.Host, "login.salesforce.com") || strings.EqualFold(u.Host, "test.salesforce.com")) {
		out = append(out, "SALESFORCE_LOGIN_URL: the client-credentials flow needs the org's My Domain URL "+
			"(https://<MyDomain>.my.salesforce.com; sandboxes https://<MyDomain>--<Sandbox>.sandbox.my.salesforce.com), not "+u.Host)
	}
	return out
}

// Clients builds the Salesforce and Account Engagement clients: against the real services when
// configured, else against the emulator at emulatorURL ("" = s.EmulatorURL).
func (s Services) Clients(emulatorURL string) (*salesforce.Client, *engagement.Client, error) {
	return s.ObservedClients(emulatorURL, nil)
}

// ObservedClients is Clients whose every request obs is told of (none when obs is nil).
func (s Services) ObservedClients(emulatorURL string, obs APIObserver) (*salesforce.Client, *engagement.Client, error) {
	sfCfg := salesforce.Config{LoginURL: s.LoginURL, ClientID: s.ClientID, ClientSecret: s.ClientSecret,
		Username: s.Username, APIVersion: s.APIVersion, LimitRetry: s.SalesforceLimitRetry}
	aeURL, bu := s.EngagementURL, s.BusinessUnitID
	if s.UseEmulator() {
		if emulatorURL == "" {
			emulatorURL = s.EmulatorURL
		}
		sfCfg = salesforce.Config{LoginURL: emulatorURL, ClientID: EmulatorClientID, ClientSecret: EmulatorClientSecret,
			APIVersion: s.APIVersion, LimitRetry: s.SalesforceLimitRetry}
		aeURL, bu = emulatorURL, EmulatorBusinessUnitID
	} else if s.PrivateKeyFile != "" {
		key, err := salesforce.LoadPrivateKey(s.PrivateKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("SALESFORCE_PRIVATE_KEY_FILE: %w", err)
		}
		sfCfg.PrivateKey = key
	}
	var aeHTTP *http.Client
	if obs != nil {
		sfCfg.HTTPClient, aeHTTP = observedClient(metrics.APISalesforce, obs), observedClient(metrics.APIEngagement, obs)
	}
	sf, err := salesforce.New(sfCfg)
	if err != nil {
		return nil, nil, fmt.Errorf("salesforce client: %w", err)
	}
	ae, err := engagement.New(engagement.Config{BaseURL: aeURL, BusinessUnitID: bu, Tokens: sf, DailyLimitRetry: s.EngagementLimitRetry,
		MaxConcurrent: s.EngagementInFlight, HTTPClient: aeHTTP})
	if err != nil {
		return nil, nil, fmt.Errorf("account engagement client: %w", err)
	}
	return sf, ae, nil
}

// Temporal loads the Temporal client options the SDK's way (TEMPORAL_* variables, a profile in
// temporal.toml chosen by TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE). configured is false when
// nothing names a server: the dev worker then runs its own, and other commands dial
// DefaultTemporalAddress.
func Temporal(getenv func(string) string) (opts client.Options, configured bool, err error) {
	opts, err = envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{EnvLookup: lookup(getenv)})
	if err != nil {
		return client.Options{}, false, fmt.Errorf("temporal client config (TEMPORAL_*, temporal.toml): %w", err)
	}
	return opts, opts.HostPort != "", nil
}

// Dial connects a command to Temporal: the configured server, or the dev worker's, sealing
// payloads when a key is configured (the same data converter as the worker's).
func Dial(ctx context.Context, getenv func(string) string, logger log.Logger) (client.Client, error) {
	opts, configured, err := Temporal(getenv)
	if err != nil {
		return nil, err
	}
	if !configured {
		opts.HostPort = DefaultTemporalAddress
	}
	if opts.Namespace == "" {
		opts.Namespace = client.DefaultNamespace
	}
	opts.Logger = logger
	enc, err := EncryptionFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	enc.Apply(&opts)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Temporal at %s (is the worker running? start it with: go run ./worker): %w", opts.HostPort, err)
	}
	return c, nil
}

// Quiet is an SDK logger that drops everything: command-line tools print their own output.
var Quiet log.Logger = log.NewStructuredLogger(slog.New(slog.DiscardHandler))

// lookup lets envconfig read the environment through getenv, so tests can hand it their own.
type lookup func(string) string

// LookupEnv implements envconfig.EnvLookup; an empty value counts as unset.
func (l lookup) LookupEnv(key string) (string, bool) {
	v := l(key)
	return v, v != ""
}

// Environ implements envconfig.EnvLookup: the process's variable names, valued through l.
func (l lookup) Environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if v := l(k); v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

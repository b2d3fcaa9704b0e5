// Package salesforce is a small Salesforce REST API client: OAuth (client
// credentials and JWT bearer), SOQL queries with paging, sObject writes,
// composite requests and typed errors. It is written from the documented wire
// format on net/http only, so the emulator and the client cannot share a mistake.
package salesforce

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prospect-sync/prospect-sync/internal/budget"
)

// DefaultLoginURL is the production login host used when Config.LoginURL is empty.
const DefaultLoginURL = "https://login.salesforce.com"

// DefaultAPIVersion is the REST API version used when Config.APIVersion is empty: Summer '26,
// the newest release GA when this was written (docs/salesforce.md). CheckVersion tells
// whether an org offers it.
const DefaultAPIVersion = "67.0"

// maxBody bounds how much of a response we read; query pages are at most a few MB.
const maxBody = 64 << 20

// Config configures a Client. The client-credentials flow is used when Username
// is empty, the JWT bearer flow otherwise.
type Config struct {
	// LoginURL is the OAuth host (default https://login.salesforce.com); it is also the JWT audience.
	LoginURL string
	// ClientID is the connected app's consumer key (both flows; the JWT issuer).
	ClientID string
	// ClientSecret is the consumer secret (client-credentials flow).
	ClientSecret string
	// Username selects the JWT bearer flow and becomes the JWT subject.
	Username string
	// PrivateKey signs the JWT assertion (JWT bearer flow).
	PrivateKey *rsa.PrivateKey
	// APIVersion such as "62.0" (default DefaultAPIVersion); a leading "v" is accepted.
	APIVersion string
	// HTTPClient sends every request (default: a client with a 60 s timeout).
	HTTPClient *http.Client
	// QueryBatchSize, when > 0, asks for pages of this many records
	// (Sforce-Query-Options: batchSize=N; Salesforce honours 200..2000).
	QueryBatchSize int
	// LimitRetry is the wait after REQUEST_LIMIT_EXCEEDED without a Retry-After (default
	// DefaultRateLimitDelay): the daily limit is a rolling 24 h window that frees gradually.
	LimitRetry time.Duration
	// Now is the clock used for JWT expiry (default time.Now); tests with a fake server clock set it.
	Now func() time.Time
}

// Client talks to one Salesforce org. It is safe for concurrent use.
type Client struct {
	cfg      Config
	loginURL string
	version  string
	http     *http.Client
	now      func() time.Time

	mu       sync.Mutex
	token    string
	instance string
	inflight *tokenCall
	userID   string // the authenticated user, from the token response's identity URL

	limitMu   sync.Mutex
	limitUsed int
	limitMax  int
	limitAt   time.Time
}

// New validates cfg and returns a Client; no network call is made until first use.
func New(cfg Config) (*Client, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("salesforce: ClientID is required")
	}
	if cfg.Username == "" && cfg.ClientSecret == "" {
		return nil, errors.New("salesforce: ClientSecret is required for the client-credentials flow")
	}
	if cfg.Username != "" && cfg.PrivateKey == nil {
		return nil, errors.New("salesforce: PrivateKey is required for the JWT bearer flow")
	}
	login := strings.TrimRight(cfg.LoginURL, "/")
	if login == "" {
		login = DefaultLoginURL
	}
	u, err := url.Parse(login)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("salesforce: invalid LoginURL %q", cfg.LoginURL)
	}
	if cfg.Username == "" && isGenericLoginHost(u.Host) {
		return nil, fmt.Errorf("salesforce: the client-credentials flow needs the org's My Domain URL as LoginURL "+
			"(https://<MyDomain>.my.salesforce.com, sandboxes https://<MyDomain>--<Sandbox>.sandbox.my.salesforce.com); %s does not support it", u.Host)
	}
	version := strings.TrimPrefix(cfg.APIVersion, "v")
	if version == "" {
		version = DefaultAPIVersion
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Client{cfg: cfg, loginURL: login, version: version, http: hc, now: now}, nil
}

// Usage is the org's API usage from the last Sforce-Limit-Info header seen (zero before any):
// the calls of every client of the org in the rolling 24 hours.
func (c *Client) Usage() budget.Usage {
	c.limitMu.Lock()
	defer c.limitMu.Unlock()
	return budget.Usage{Used: c.limitUsed, Limit: c.limitMax, At: c.limitAt}
}

// recordLimits remembers "api-usage=USED/LIMIT" so callers can slow down before the org runs dry.
func (c *Client) recordLimits(h http.Header) {
	v := h.Get("Sforce-Limit-Info")
	if v == "" {
		return
	}
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k != "api-usage" {
			continue
		}
		u, ok := budget.ParseUsage(val, c.now())
		if !ok {
			continue
		}
		c.limitMu.Lock()
		c.limitUsed, c.limitMax, c.limitAt = u.Used, u.Limit, u.At
		c.limitMu.Unlock()
	}
}

// dataPath is the versioned REST root, e.g. "/services/data/v62.0".
func (c *Client) dataPath() string { return "/services/data/v" + c.version }

// QueryPath returns the instance-relative query URL for soql, usable as a composite subrequest URL.
func (c *Client) QueryPath(soql string) string {
	return c.dataPath() + "/query?q=" + encodeQueryValue(soql)
}

// SObjectPath returns "/services/data/vNN.N/sobjects/<sobject>[/part...]" with each
// part path-escaped, except composite references such as "@{newLead.id}", which
// Salesforce substitutes only when they appear verbatim.
func (c *Client) SObjectPath(sobject string, parts ...string) string {
	var b strings.Builder
	b.WriteString(c.dataPath())
	b.WriteString("/sobjects/")
	b.WriteString(url.PathEscape(sobject))
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(escapeKeepingRefs(p))
	}
	return b.String()
}

// escapeKeepingRefs path-escapes s but copies every "@{...}" reference unchanged.
func escapeKeepingRefs(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "@{")
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		b.WriteString(url.PathEscape(s[:i]))
		b.WriteString(s[i : i+j+1])
		s = s[i+j+1:]
	}
	b.WriteString(url.PathEscape(s))
	return b.String()
}

// encodeQueryValue escapes a query-string value with %20 for spaces, so that a
// literal '+' is sent as %2B and can never be read back as a space.
func encodeQueryValue(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// response is a fully read HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends an authenticated request to the instance. On 401 it drops the token,
// re-authenticates once (shared with concurrent callers) and retries once; a
// 401 is safe to retry because Salesforce rejected the request before running it.
// Statuses >= 400 come back as *APIError; 2xx and 3xx are returned to the caller.
func (c *Client) do(ctx context.Context, method, path string, body any, header map[string]string) (*response, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("salesforce: encode %s %s: %w", method, path, err)
		}
	}
	for attempt := 0; ; attempt++ {
		token, instance, err := c.AccessToken(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := c.send(ctx, method, instance+path, token, payload, header)
		if err != nil {
			return nil, err
		}
		c.recordLimits(resp.header)
		if resp.status == http.StatusUnauthorized && attempt == 0 {
			c.InvalidateToken(token)
			continue
		}
		if resp.status >= 400 {
			e := parseAPIError(resp.status, resp.header, resp.body)
			if e.Code == CodeRequestLimitExceeded && e.RetryAfter == 0 && c.cfg.LimitRetry > 0 {
				e.RetryAfter = c.cfg.LimitRetry
			}
			return nil, e
		}
		return resp, nil
	}
}

// send performs one HTTP exchange and reads the whole body.
func (c *Client) send(ctx context.Context, method, rawURL, token string, payload []byte, header map[string]string) (*response, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return nil, fmt.Errorf("salesforce: %s %s: %w", method, rawURL, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = redactURL(ue.URL)
		}
		return nil, fmt.Errorf("salesforce: %s %s: %w", method, redactURL(rawURL), err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("salesforce: %s %s: read body: %w", method, redactURL(rawURL), err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: b}, nil
}

// redactURL drops the query string from error messages: SOQL contains emails (PII).
func redactURL(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		return raw[:i] + "?…"
	}
	return raw
}

// Package engagement is a client for the Account Engagement (Pardot) API v5:
// prospects and users. Authentication is the Salesforce OAuth token (from a
// TokenSource such as *salesforce.Client) plus the Pardot-Business-Unit-Id header.
package engagement

import (
	"bytes"
	"context"
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

// DefaultBaseURL is the production Account Engagement host.
const DefaultBaseURL = "https://pi.pardot.com"

// DefaultMaxConcurrent is Account Engagement's limit of concurrent requests per business unit.
const DefaultMaxConcurrent = 5

// businessUnitHeader carries the business unit id on every request.
const businessUnitHeader = "Pardot-Business-Unit-Id"

// TokenSource supplies Salesforce OAuth access tokens; *salesforce.Client satisfies it.
type TokenSource interface {
	// AccessToken returns a cached token (fetching one if needed) and the Salesforce instance URL.
	AccessToken(ctx context.Context) (token, instanceURL string, err error)
	// InvalidateToken drops token if it is still current so the next AccessToken re-authenticates.
	InvalidateToken(token string)
}

// Config configures a Client.
type Config struct {
	BaseURL        string       // default DefaultBaseURL; http:// is accepted for emulators
	BusinessUnitID string       // required, "0Uv…"
	Tokens         TokenSource  // required
	HTTPClient     *http.Client // default: a client with a 60 s timeout
	MaxConcurrent  int          // in-flight requests per Client (default DefaultMaxConcurrent)
	// DailyLimitRetry caps the wait after code 122 (daily limit) before trying again: the
	// limit resets at the start of the account's day, whose time zone we do not know
	// (default 1 h).
	DailyLimitRetry time.Duration
}

// Client talks to one Account Engagement business unit. It is safe for concurrent
// use and never has more than MaxConcurrent requests in flight.
type Client struct {
	base   string
	bu     string
	tokens TokenSource
	http   *http.Client
	sem    *slots
	// dailyRetry caps the wait after code 122.
	dailyRetry time.Duration

	usageMu sync.Mutex
	usage   budget.Usage
}

// usageHeader carries the business unit's calls today and its daily allocation ("USED/MAX")
// when a request asks for it with X-Return-Api-Usage: 1 (§5.6).
const usageHeader = "x-api-usage"

// SetMaxInFlight changes how many requests this client keeps in flight. The business unit
// allows 5 for all its clients together, so N workers each take their share.
func (c *Client) SetMaxInFlight(n int) { c.sem.setLimit(n) }

// Usage is the business unit's API usage from the last answer (zero before any): the calls of
// every client of the business unit today.
func (c *Client) Usage() budget.Usage {
	c.usageMu.Lock()
	defer c.usageMu.Unlock()
	return c.usage
}

// recordUsage remembers the usage an answer reported; the documented shape is "used / daily
// max", so spaces around the slash are accepted.
func (c *Client) recordUsage(h http.Header) {
	u, ok := budget.ParseUsage(h.Get(usageHeader), time.Now())
	if !ok {
		return
	}
	c.usageMu.Lock()
	c.usage = u
	c.usageMu.Unlock()
}

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.BusinessUnitID == "" {
		return nil, errors.New("engagement: BusinessUnitID is required")
	}
	if cfg.Tokens == nil {
		return nil, errors.New("engagement: Tokens is required")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if u, err := url.Parse(base); err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("engagement: invalid BaseURL %q", cfg.BaseURL)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	n := cfg.MaxConcurrent
	if n <= 0 {
		n = DefaultMaxConcurrent
	}
	daily := cfg.DailyLimitRetry
	if daily <= 0 {
		daily = maxDailyLimitDelay
	}
	return &Client{base: base, bu: cfg.BusinessUnitID, tokens: cfg.Tokens, http: hc, sem: newSlots(n), dailyRetry: daily}, nil
}

// do sends one API request and decodes a JSON answer into out (if non-nil).
// On 401 it invalidates the token and retries once with a fresh one.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("engagement: encode %s %s: %w", method, path, err)
		}
	}
	rawURL := c.base + path
	if len(query) > 0 {
		rawURL += "?" + query.Encode()
	}
	for attempt := 0; ; attempt++ {
		token, _, err := c.tokens.AccessToken(ctx)
		if err != nil {
			return err
		}
		status, header, respBody, err := c.send(ctx, method, rawURL, token, payload)
		if err != nil {
			return err
		}
		if status == http.StatusUnauthorized && attempt == 0 {
			c.tokens.InvalidateToken(token)
			continue
		}
		if status >= 400 {
			e := parseAPIError(status, header, respBody)
			if e.Code == CodeDailyLimit && e.RetryAfter == 0 {
				e.RetryAfter = min(e.RetryDelay(), c.dailyRetry)
			}
			return e
		}
		if out == nil || len(bytes.TrimSpace(respBody)) == 0 {
			return nil
		}
		if err := json.Unmarshal(respBody, out); err != nil {
			return fmt.Errorf("engagement: decode %s %s: %w", method, path, err)
		}
		return nil
	}
}

// send performs one exchange while holding a concurrency slot; the token is
// fetched outside the slot because it comes from Salesforce, not from AE.
func (c *Client) send(ctx context.Context, method, rawURL, token string, payload []byte) (int, http.Header, []byte, error) {
	if err := c.sem.acquire(ctx); err != nil {
		return 0, nil, nil, err
	}
	defer c.sem.release()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("engagement: %s %s: %w", method, rawURL, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set(businessUnitHeader, c.bu)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Return-Api-Usage", "1")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("engagement: %s %s: %w", method, req.URL.Path, err)
	}
	defer res.Body.Close()
	c.recordUsage(res.Header)
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("engagement: %s %s: read body: %w", method, req.URL.Path, err)
	}
	return res.StatusCode, res.Header, b, nil
}

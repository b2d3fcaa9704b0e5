package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// Faults describes injected failures; the zero value injects none. Faults apply to the
// Salesforce data API and the AE API (and to the token endpoint only when Match selects
// it); they never apply to /emulator/*.
type Faults struct {
	// Match limits faults to requests whose path contains it, optionally preceded by a
	// method: "POST /sobjects/Lead" or "/api/v5". Empty means every API request.
	Match string `json:"match,omitempty"`
	// Rate500 is the probability of a 500 UNKNOWN_EXCEPTION.
	Rate500 float64 `json:"rate500,omitempty"`
	// Rate503 is the probability of a 503 SERVER_UNAVAILABLE.
	Rate503 float64 `json:"rate503,omitempty"`
	// RateLockRow is the probability of a 400 UNABLE_TO_LOCK_ROW (AE: 409 code 62).
	RateLockRow float64 `json:"rateLockRow,omitempty"`
	// Latency delays every matching request (JSON: nanoseconds or a string like "250ms").
	Latency time.Duration `json:"latency,omitempty"`
	// DropRate is the probability of closing the connection before processing.
	DropRate float64 `json:"dropRate,omitempty"`
	// DropAfterRate is the probability of processing (committing) and then closing the
	// connection without a response.
	DropAfterRate float64 `json:"dropAfterRate,omitempty"`
	// Next500 makes the next N matching requests fail with 500.
	Next500 int `json:"next500,omitempty"`
	// Next503 makes the next N matching requests fail with 503.
	Next503 int `json:"next503,omitempty"`
	// NextLockRow makes the next N matching requests fail with UNABLE_TO_LOCK_ROW.
	NextLockRow int `json:"nextLockRow,omitempty"`
	// NextDrop drops the connection of the next N matching requests before processing.
	NextDrop int `json:"nextDrop,omitempty"`
	// NextDropAfter processes the next N matching requests, then drops the connection.
	NextDropAfter int `json:"nextDropAfter,omitempty"`
	// NextRateLimit answers the next N matching requests with 403 REQUEST_LIMIT_EXCEEDED
	// (Salesforce) or 429 code 66 (AE).
	NextRateLimit int `json:"nextRateLimit,omitempty"`
}

// UnmarshalJSON accepts latency as nanoseconds or as a Go duration string.
func (f *Faults) UnmarshalJSON(b []byte) error {
	type plain Faults
	var aux struct {
		plain
		Latency json.RawMessage `json:"latency,omitempty"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*f = Faults(aux.plain)
	f.Latency = 0
	raw := bytes.TrimSpace(aux.Latency)
	switch {
	case len(raw) == 0 || string(raw) == "null":
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		f.Latency = d
	default:
		var n int64
		if err := json.Unmarshal(raw, &n); err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		f.Latency = time.Duration(n)
	}
	return nil
}

// matches reports whether the faults apply to r.
func (f *Faults) matches(r *http.Request, api apiKind) bool {
	if api == apiControl {
		return false
	}
	m := strings.TrimSpace(f.Match)
	if m == "" {
		return api != apiToken
	}
	method := ""
	if sp := strings.IndexByte(m, ' '); sp > 0 && isMethod(m[:sp]) {
		method, m = m[:sp], strings.TrimSpace(m[sp+1:])
	}
	if method != "" && !strings.EqualFold(method, r.Method) {
		return false
	}
	return strings.Contains(r.URL.Path, m)
}

func isMethod(s string) bool {
	switch strings.ToUpper(s) {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
		return true
	}
	return false
}

// apiKind is the family of endpoints a request belongs to.
type apiKind int

const (
	apiControl apiKind = iota
	apiToken
	apiSalesforce
	apiEngagement
)

type faultKind int

const (
	faultNone faultKind = iota
	faultDrop
	faultDropAfter
	faultRateLimit
	fault500
	fault503
	faultLockRow
)

// pickFault decides the fault for one request, consuming a Next* counter when one applies.
func (e *Emulator) pickFault(r *http.Request, api apiKind) (faultKind, time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := &e.faults
	if !f.matches(r, api) {
		return faultNone, 0
	}
	next := []struct {
		n    *int
		kind faultKind
	}{
		{&f.NextDrop, faultDrop},
		{&f.NextDropAfter, faultDropAfter},
		{&f.NextRateLimit, faultRateLimit},
		{&f.Next500, fault500},
		{&f.Next503, fault503},
		{&f.NextLockRow, faultLockRow},
	}
	for _, c := range next {
		if *c.n > 0 {
			*c.n--
			return c.kind, f.Latency
		}
	}
	rates := []struct {
		p    float64
		kind faultKind
	}{
		{f.DropRate, faultDrop},
		{f.DropAfterRate, faultDropAfter},
		{f.Rate500, fault500},
		{f.Rate503, fault503},
		{f.RateLockRow, faultLockRow},
	}
	for _, c := range rates {
		if c.p > 0 && rand.Float64() < c.p {
			return c.kind, f.Latency
		}
	}
	return faultNone, f.Latency
}

// Counters counts requests since start or the last ResetCounters.
type Counters struct {
	// Salesforce counts /services/data/vNN.N requests (a composite request counts once;
	// the version list at /services/data/ is no API call and is not counted).
	Salesforce APICounter `json:"salesforce"`
	// Engagement counts /api/v5 requests.
	Engagement APICounter `json:"engagement"`
	// Token counts /services/oauth2/token requests.
	Token int `json:"token"`
}

// APICounter counts the requests of one API in total and per endpoint ("GET query",
// "POST sobjects/Lead", "PATCH prospects", ...).
type APICounter struct {
	// Total is the number of requests.
	Total int `json:"total"`
	// ByEndpoint maps "METHOD endpoint" to its number of requests.
	ByEndpoint map[string]int `json:"byEndpoint"`
}

func newCounters() Counters {
	return Counters{
		Salesforce: APICounter{ByEndpoint: map[string]int{}},
		Engagement: APICounter{ByEndpoint: map[string]int{}},
	}
}

func (c Counters) clone() Counters {
	out := newCounters()
	out.Token = c.Token
	out.Salesforce.Total = c.Salesforce.Total
	out.Engagement.Total = c.Engagement.Total
	for k, v := range c.Salesforce.ByEndpoint {
		out.Salesforce.ByEndpoint[k] = v
	}
	for k, v := range c.Engagement.ByEndpoint {
		out.Engagement.ByEndpoint[k] = v
	}
	return out
}

// count records one request.
func (e *Emulator) count(api apiKind, endpoint string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch api {
	case apiToken:
		e.counters.Token++
	case apiSalesforce:
		e.counters.Salesforce.Total++
		e.counters.Salesforce.ByEndpoint[endpoint]++
	case apiEngagement:
		e.counters.Engagement.Total++
		e.counters.Engagement.ByEndpoint[endpoint]++
	}
}

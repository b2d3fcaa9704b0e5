package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Faults describes injected failures; the zero value injects none. Faults apply to the
// Salesforce data API and the AE API (and to the token endpoint only when Match selects
// it); they never apply to /emulator/*.
//
// A Faults is one rule, followed by the rules in Rules (in order, each of them with its
// own Rules after it). For a request, every rule whose Match applies adds its Latency and
// rolls for its spike; the first of those rules whose Next* counters or dice fire decides
// the failure.
type Faults struct {
	// Match limits faults to requests whose path contains it, optionally preceded by a
	// method: "POST /sobjects/Lead" or "/api/v5". Empty means every API request.
	Match string `json:"match,omitempty"`
	// Nested makes Match apply as well to the operations a Salesforce batch request
	// carries, as if each had come alone: a composite request's subrequests (their method
	// and URL), and the records of an sObject Collections write (POST or PATCH
	// .../composite/sobjects as "METHOD .../sobjects/{type}[/{id}]", an upsert as "PATCH
	// .../sobjects/{type}/{field}/{value}"). Each matching operation draws the rule's faults
	// as if it had come alone, and the whole batch request takes the first one drawn.
	// Without a Match it changes nothing.
	Nested bool `json:"nested,omitempty"`
	// Rate500 is the probability of a 500 UNKNOWN_EXCEPTION.
	Rate500 float64 `json:"rate500,omitempty"`
	// Rate503 is the probability of a 503 SERVER_UNAVAILABLE.
	Rate503 float64 `json:"rate503,omitempty"`
	// RateLockRow is the probability of a 400 UNABLE_TO_LOCK_ROW (AE: 409 code 62).
	RateLockRow float64 `json:"rateLockRow,omitempty"`
	// RateLimitRate is the probability of a 403 REQUEST_LIMIT_EXCEEDED (AE: 429 code 66).
	RateLimitRate float64 `json:"rateLimitRate,omitempty"`
	// Latency delays every matching request (JSON: nanoseconds or a string like "250ms").
	Latency time.Duration `json:"latency,omitempty"`
	// SpikeRate is the probability that a matching request is delayed by Spike on top of
	// Latency.
	SpikeRate float64 `json:"spikeRate,omitempty"`
	// Spike is the delay of a latency spike (JSON as Latency).
	Spike time.Duration `json:"spike,omitempty"`
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
	// Seed, when not 0, restarts the fault dice from this seed as the faults are set, so
	// that a run making the same requests in the same order meets the same faults (only
	// the outermost Seed counts).
	Seed uint64 `json:"seed,omitempty"`
	// Rules are further rules, tried after this one.
	Rules []Faults `json:"rules,omitempty"`
}

// UnmarshalJSON accepts latency and spike as nanoseconds or as Go duration strings.
func (f *Faults) UnmarshalJSON(b []byte) error {
	type plain Faults
	var aux struct {
		plain
		Latency json.RawMessage `json:"latency,omitempty"`
		Spike   json.RawMessage `json:"spike,omitempty"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*f = Faults(aux.plain)
	var err error
	if f.Latency, err = parseDuration(aux.Latency); err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	if f.Spike, err = parseDuration(aux.Spike); err != nil {
		return fmt.Errorf("spike: %w", err)
	}
	return nil
}

// parseDuration reads a JSON duration: nanoseconds, a Go duration string, or nothing (0).
func parseDuration(raw json.RawMessage) (time.Duration, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return 0, nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		return time.ParseDuration(s)
	default:
		var n int64
		err := json.Unmarshal(raw, &n)
		return time.Duration(n), err
	}
}

// clone copies f and its rules, so that counting down one copy's Next* leaves the other.
func (f Faults) clone() Faults {
	if f.Rules != nil {
		rules := make([]Faults, len(f.Rules))
		for i, r := range f.Rules {
			rules[i] = r.clone()
		}
		f.Rules = rules
	}
	return f
}

// rules lists f and its rules, depth first, in the order they are tried.
func (f *Faults) rules() []*Faults {
	out := []*Faults{f}
	for i := range f.Rules {
		out = append(out, f.Rules[i].rules()...)
	}
	return out
}

// operation is something a request asks for, as Match sees it: a method and a URL path.
type operation struct {
	method, path string
}

// matches counts the operations of a request of api asking for ops (the request itself
// first, then the operations nested in it) that the rule applies to: each draws the rule's
// faults as if it had come alone.
func (f *Faults) matches(ops []operation, api apiKind) int {
	if api == apiControl {
		return 0
	}
	m := strings.TrimSpace(f.Match)
	if m == "" {
		if api == apiToken {
			return 0
		}
		return 1
	}
	method := ""
	if sp := strings.IndexByte(m, ' '); sp > 0 && isMethod(m[:sp]) {
		method, m = m[:sp], strings.TrimSpace(m[sp+1:])
	}
	if !f.Nested {
		ops = ops[:1]
	}
	n := 0
	for _, op := range ops {
		if (method == "" || strings.EqualFold(method, op.method)) && strings.Contains(op.path, m) {
			n++
		}
	}
	return n
}

func isMethod(s string) bool {
	switch strings.ToUpper(s) {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
		return true
	}
	return false
}

// decide picks the failure this rule gives a request it matches: the first Next* counter
// left (consuming one), else one roll of the dice against the rates laid end to end, so
// that each kind fires with its own probability.
func (f *Faults) decide(rng *rand.Rand) faultKind {
	kinds := []struct {
		next *int
		rate float64
		kind faultKind
	}{
		{&f.NextDrop, f.DropRate, faultDrop},
		{&f.NextDropAfter, f.DropAfterRate, faultDropAfter},
		{&f.NextRateLimit, f.RateLimitRate, faultRateLimit},
		{&f.Next500, f.Rate500, fault500},
		{&f.Next503, f.Rate503, fault503},
		{&f.NextLockRow, f.RateLockRow, faultLockRow},
	}
	total := 0.0
	for _, k := range kinds {
		if *k.next > 0 {
			*k.next--
			return k.kind
		}
		total += max(k.rate, 0)
	}
	if total == 0 {
		return faultNone
	}
	roll := rng.Float64()
	for _, k := range kinds {
		if roll < max(k.rate, 0) {
			return k.kind
		}
		roll -= max(k.rate, 0)
	}
	return faultNone
}

// apiKind is the family of endpoints a request belongs to.
type apiKind int

const (
	apiControl apiKind = iota
	apiToken
	apiSalesforce
	apiEngagement
)

// apiNames name the APIs in the fault counters, as Counters' JSON does.
var apiNames = map[apiKind]string{apiToken: "token", apiSalesforce: "salesforce", apiEngagement: "engagement"}

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

// faultNames name the fault kinds in the fault counters.
var faultNames = map[faultKind]string{
	faultDrop: "drop", faultDropAfter: "drop-after", faultRateLimit: "rate-limit",
	fault500: "500", fault503: "503", faultLockRow: "lock-row",
}

// newFaultDice returns the fault dice started from seed, or from a random seed for 0.
func newFaultDice(seed uint64) *rand.Rand {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// wantsNested reports whether a rule would look into the operations nested in a request.
func (e *Emulator) wantsNested() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, f := range e.faults.rules() {
		if f.Nested && strings.TrimSpace(f.Match) != "" {
			return true
		}
	}
	return false
}

// pickFault decides the fault and the delay for a request of api asking for ops,
// consuming a Next* counter when one applies, and counts what it injects.
func (e *Emulator) pickFault(ops []operation, api apiKind) (faultKind, time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	kind, delay := faultNone, time.Duration(0)
	for _, f := range e.faults.rules() {
		n := f.matches(ops, api)
		if n == 0 {
			continue
		}
		delay += f.Latency
		if f.SpikeRate > 0 && e.dice.Float64() < f.SpikeRate {
			delay += f.Spike
			e.counters.Faults[apiNames[api]+" spike"]++
		}
		// A batch of n matching operations is as likely to fail as n requests, one of which
		// failing: the whole batch takes the first fault drawn.
		for range n {
			if kind != faultNone {
				break
			}
			kind = f.decide(e.dice)
		}
	}
	if kind != faultNone {
		e.counters.Faults[apiNames[api]+" "+faultNames[kind]]++
	}
	return kind, delay
}

// sfNested lists the operations nested in a Salesforce batch request for Faults.Nested:
// a composite request's subrequests and an sObject Collections write's records. It reads
// the body of those requests (and gives it back); other requests have none.
func sfNested(w http.ResponseWriter, r *http.Request) []operation {
	version, segs, ok := splitDataPath(r.URL.EscapedPath())
	if !ok || len(segs) == 0 || segs[0] != "composite" {
		return nil
	}
	var ops []operation
	switch {
	case len(segs) == 1 && r.Method == http.MethodPost:
		var in struct {
			CompositeRequest []compositeSub `json:"compositeRequest"`
		}
		_ = json.Unmarshal(peekBody(w, r), &in)
		for _, s := range in.CompositeRequest {
			path, _, _ := strings.Cut(s.URL, "?")
			if p, err := url.PathUnescape(path); err == nil {
				path = p
			}
			ops = append(ops, operation{strings.ToUpper(s.Method), path})
		}
	case (len(segs) == 2 || len(segs) == 4) && segs[1] == "sobjects" && (r.Method == http.MethodPost || r.Method == http.MethodPatch):
		var in struct {
			Records []map[string]any `json:"records"`
		}
		_ = json.Unmarshal(peekBody(w, r), &in)
		for _, rec := range in.Records {
			attrs, _ := rec["attributes"].(map[string]any)
			typ, _ := attrs["type"].(string)
			path := "/services/data/" + version + "/sobjects/"
			switch {
			case len(segs) == 4: // upsert: .../composite/sobjects/{type}/{field}
				path += segs[2] + "/" + segs[3] + "/" + fmt.Sprint(rec[segs[3]])
			case rec["id"] != nil:
				path += typ + "/" + fmt.Sprint(rec["id"])
			case rec["Id"] != nil:
				path += typ + "/" + fmt.Sprint(rec["Id"])
			default:
				path += typ
			}
			ops = append(ops, operation{r.Method, path})
		}
	}
	return ops
}

// Counters counts requests since start or the last ResetCounters.
type Counters struct {
	// Salesforce counts /services/data/vNN.N requests (a composite request counts once;
	// the version list at /services/data/ is no API call and is not counted).
	Salesforce APICounter `json:"salesforce"`
	// Engagement counts /api/v5 requests.
	Engagement APICounter `json:"engagement"`
	// EngagementPeakInFlight is the most /api/v5 requests in flight at once, refused ones
	// included: what the business unit's limit of 5 is about.
	EngagementPeakInFlight int `json:"engagementPeakInFlight"`
	// Token counts /services/oauth2/token requests.
	Token int `json:"token"`
	// Faults counts the injected faults by "API kind": the API is salesforce, engagement
	// or token, the kind drop, drop-after, rate-limit, 500, 503, lock-row or spike (a
	// latency spike, which may come with another fault): "salesforce 503": 12.
	Faults map[string]int `json:"faults"`
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
		Faults:     map[string]int{},
	}
}

func (c Counters) clone() Counters {
	out := newCounters()
	out.Token = c.Token
	out.EngagementPeakInFlight = c.EngagementPeakInFlight
	out.Salesforce.Total = c.Salesforce.Total
	out.Engagement.Total = c.Engagement.Total
	maps.Copy(out.Salesforce.ByEndpoint, c.Salesforce.ByEndpoint)
	maps.Copy(out.Engagement.ByEndpoint, c.Engagement.ByEndpoint)
	maps.Copy(out.Faults, c.Faults)
	return out
}

// inFlight marks an Account Engagement request as in flight until the returned func runs.
func (e *Emulator) inFlight(api apiKind) func() {
	if api != apiEngagement {
		return func() {}
	}
	e.mu.Lock()
	e.aeInFlight++
	e.counters.EngagementPeakInFlight = max(e.counters.EngagementPeakInFlight, e.aeInFlight)
	e.mu.Unlock()
	return func() {
		e.mu.Lock()
		e.aeInFlight--
		e.mu.Unlock()
	}
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

package reliability

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
)

// counters is the part of the emulator's /emulator/counters the suite reads.
type counters struct {
	Token  int            `json:"token"`
	Faults map[string]int `json:"faults"`
}

// faultMix is the failures real deployments see, on Salesforce and Account Engagement at
// once: 10 % 503, 5 % locked rows, 2 % 500, 2 % dropped connections, some rate-limit answers
// and latency spikes, and 10 % of Lead creates committed and then dropped (the response lost).
// With creates batched, a run of 200 prospects makes about 50 create attempts in a few calls;
// at 3 % a run had no lost response one time in five (0.97^50).
var faultMix = map[string]any{"seed": 42, "rules": []map[string]any{
	{"match": "POST /sobjects/Lead", "nested": true, "dropAfterRate": 0.10},
	{"rate503": 0.10, "rateLockRow": 0.05, "rate500": 0.02, "dropRate": 0.02, "rateLimitRate": 0.02, "spikeRate": 0.02, "spike": "1s"},
}}

// Faults on both services at once: every prospect settles, none duplicated, none lost.
func TestFaults(t *testing.T) {
	sz := runSize()
	c := newCluster(t)
	c.startServices()
	ps := c.seed(sz.prospects)
	c.control(http.MethodPost, "/counters/reset", nil, nil)
	c.control(http.MethodPut, "/faults", faultMix, nil)
	c.startWorker()
	start := time.Now()
	c.startSyncs(ps)
	c.waitSettled(ps, settleWithin(sz.prospects))
	settle := time.Since(start)
	var got counters
	c.control(http.MethodGet, "/counters", nil, &got)
	c.control(http.MethodPut, "/faults", map[string]any{}, nil) // the verdict's own reads see no faults
	total, kinds := 0, make([]string, 0, len(got.Faults))
	for k, n := range got.Faults {
		total += n
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	if got.Faults["salesforce drop-after"] == 0 || got.Faults["engagement 503"] == 0 || got.Faults["salesforce 503"] == 0 {
		t.Errorf("faults injected %v: want lost create responses and 503s on both services", got.Faults)
	}
	c.report("faults", c.verify(ps), 0, settle, fmt.Sprintf("%d faults injected (%s)", total, strings.Join(kinds, ", ")))
}

// Access tokens expire every few seconds mid-run: no sync fails, and the worker asks for one
// token per expiry, not one per request in flight.
func TestTokenExpiry(t *testing.T) {
	// Short enough that even a load through in a few seconds (batched, it is) outlives several
	// tokens; set before the worker starts, so its first token expires too.
	const ttl = time.Second
	sz := runSize()
	c := newCluster(t)
	c.startServices()
	ps := c.seed(sz.prospects)
	c.control(http.MethodPut, "/token-ttl", map[string]string{"ttl": ttl.String()}, nil)
	var before counters
	c.control(http.MethodGet, "/counters", nil, &before)
	c.startWorker()
	start := time.Now()
	c.startSyncs(ps)
	c.waitSettled(ps, settleWithin(sz.prospects))
	elapsed := time.Since(start)
	var after counters
	c.control(http.MethodGet, "/counters", nil, &after)
	tokens := after.Token - before.Token
	// Each expiry costs the worker one request (and the test's own reads one more at the end):
	// elapsed/ttl expiries, rounded up, plus the worker's first token and the test's.
	most := int(elapsed/ttl) + 3
	if tokens < 2 || tokens > most {
		t.Errorf("%d token requests in %s with tokens living %s: want between 2 and %d (one per expiry)", tokens, elapsed.Round(time.Millisecond), ttl, most)
	}
	c.report("token expiry", c.verify(ps), 0, elapsed, fmt.Sprintf("tokens expiring every %s, %d token requests", ttl, tokens))
}

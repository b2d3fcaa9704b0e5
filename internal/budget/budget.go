// Package budget keeps an API's daily allocation for everyone who shares it: past a share of
// the allocation, work waits instead of spending what the org's other integrations need.
//
// The usage comes from the API's own answers (Salesforce's Sforce-Limit-Info, Account
// Engagement's x-api-usage), which count the calls of every client of the org or business
// unit, so every worker sees the same figures and keeps the same reserve.
package budget

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Usage is an API's daily usage as its last answer reported it.
type Usage struct {
	Used, Limit int
	// At is when the answer came; zero before any.
	At time.Time
}

// Gate holds work back once the usage passes 1 − Reserve of the limit.
type Gate struct {
	// API names the API in messages ("Salesforce").
	API string
	// SpentCode is how the API itself refuses once the allocation is spent
	// ("REQUEST_LIMIT_EXCEEDED", "code 122"), named when the gate holds work back for that.
	SpentCode string
	// Reserve is the share of the allocation left to others, e.g. 0.10; 0 turns the gate off.
	Reserve float64
	// Usage reports the API's last known usage.
	Usage func() Usage
	// Probe is how often, while over the line, one call is let through to learn whether the
	// rolling window has freed calls (answers are the only source of the figures).
	Probe time.Duration

	mu        sync.Mutex
	lastProbe time.Time
}

// Wait is the gate's answer when work must wait: the figures, and when to try again.
type Wait struct {
	API         string
	Used, Limit int
	Reserve     float64
	RetryIn     time.Duration
	// Spent is set when the whole allocation is used, not only the share for this product:
	// the API would refuse the call itself (with SpentCode).
	Spent     bool
	SpentCode string
}

// Error says what waits and why, with the figures.
func (w *Wait) Error() string {
	if w.Spent {
		return fmt.Sprintf("%s daily API limit spent (%s): %d of %d calls used; trying again in %s",
			w.API, w.SpentCode, w.Used, w.Limit, w.RetryIn)
	}
	return fmt.Sprintf("waiting for %s API budget: %d of %d daily calls used, %.0f%% kept for the org's other integrations; trying again in %s",
		w.API, w.Used, w.Limit, w.Reserve*100, w.RetryIn)
}

// Check returns nil when a call may go now, or the Wait to report.
func (g *Gate) Check(now time.Time) *Wait {
	if g == nil || g.Reserve <= 0 || g.Usage == nil {
		return nil
	}
	u := g.Usage()
	if u.Limit <= 0 || float64(u.Used) < float64(u.Limit)*(1-g.Reserve) {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Sub(u.At) >= g.Probe && now.Sub(g.lastProbe) >= g.Probe {
		g.lastProbe = now // one call a period goes, and brings fresh figures
		return nil
	}
	return &Wait{API: g.API, Used: u.Used, Limit: u.Limit, Reserve: g.Reserve, RetryIn: g.Probe,
		Spent: u.Used >= u.Limit, SpentCode: g.SpentCode}
}

// ParseUsage reads "USED/LIMIT" (spaces around the slash allowed), as both APIs report it, into
// a Usage seen at at.
func ParseUsage(s string, at time.Time) (Usage, bool) {
	used, limit, ok := strings.Cut(s, "/")
	if !ok {
		return Usage{}, false
	}
	u, err1 := strconv.Atoi(strings.TrimSpace(used))
	l, err2 := strconv.Atoi(strings.TrimSpace(limit))
	if err1 != nil || err2 != nil {
		return Usage{}, false
	}
	return Usage{Used: u, Limit: l, At: at}, true
}

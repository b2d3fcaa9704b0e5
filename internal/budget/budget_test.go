package budget

import (
	"strings"
	"testing"
	"time"
)

func TestGate(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	u := Usage{Used: 89_999, Limit: 100_000, At: t0}
	g := &Gate{API: "Salesforce", Reserve: 0.10, Usage: func() Usage { return u }, Probe: time.Minute}
	if w := g.Check(t0); w != nil {
		t.Fatalf("under the line: %v", w)
	}
	u.Used = 90_000
	w := g.Check(t0.Add(time.Second))
	if w == nil || w.RetryIn != time.Minute || !strings.Contains(w.Error(), "90000 of 100000") || !strings.Contains(w.Error(), "10%") {
		t.Fatalf("at the line: %v, want a wait with the figures", w)
	}
	// A minute after the last answer one call goes to learn the new figures; the next waits.
	if w := g.Check(t0.Add(time.Minute)); w != nil {
		t.Fatalf("probe held back: %v", w)
	}
	if w := g.Check(t0.Add(time.Minute + time.Second)); w == nil {
		t.Fatal("a second probe in the same minute went")
	}
	u = Usage{Used: 80_000, Limit: 100_000, At: t0.Add(time.Minute)}
	if w := g.Check(t0.Add(time.Minute + 2*time.Second)); w != nil {
		t.Fatalf("the window freed calls: %v", w)
	}
	u = Usage{Used: 100_000, Limit: 100_000, At: t0.Add(2 * time.Minute)}
	g.SpentCode = "REQUEST_LIMIT_EXCEEDED"
	if w := g.Check(t0.Add(2*time.Minute + time.Second)); w == nil || !w.Spent || !strings.Contains(w.Error(), "REQUEST_LIMIT_EXCEEDED") {
		t.Fatalf("spent: %v, want the API's own refusal named", w)
	}
	off := &Gate{API: "Salesforce", Usage: func() Usage { return Usage{Used: 100, Limit: 100} }}
	if w := off.Check(t0); w != nil {
		t.Fatalf("reserve 0 is off: %v", w)
	}
	if w := (&Gate{Reserve: 0.1, Usage: func() Usage { return Usage{} }}).Check(t0); w != nil {
		t.Fatalf("no figures yet: %v", w)
	}
}

func TestParseUsage(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if u, ok := ParseUsage("25 / 5000", at); !ok || u != (Usage{Used: 25, Limit: 5000, At: at}) {
		t.Fatalf("ParseUsage = %+v, %v", u, ok)
	}
	for _, bad := range []string{"", "25", "x/5000", "25/"} {
		if _, ok := ParseUsage(bad, at); ok {
			t.Errorf("ParseUsage(%q) accepted", bad)
		}
	}
}

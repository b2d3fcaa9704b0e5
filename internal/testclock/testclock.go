// Package testclock is a controllable time source for tests that share one clock between the
// emulator and a client (token expiry, change cursors).
package testclock

import (
	"sync"
	"time"
)

// Clock is a time source that moves only when told; safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock at a fixed, far-future instant, so no test depends on the real date.
func New() *Clock { return &Clock{now: time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// At returns a clock at t.
func At(t time.Time) *Clock { return &Clock{now: t} }

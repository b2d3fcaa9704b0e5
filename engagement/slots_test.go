package engagement

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// The limit holds for concurrent callers, and a lowered limit holds once requests in flight
// finish; a raised one lets waiters go at once.
func TestSlotsLimitChanges(t *testing.T) {
	s := newSlots(3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var mu sync.Mutex
	cur, peak := 0, 0
	run := func(n int, hold chan struct{}) *sync.WaitGroup {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if err := s.acquire(ctx); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				cur++
				peak = max(peak, cur)
				mu.Unlock()
				<-hold
				mu.Lock()
				cur--
				mu.Unlock()
				s.release()
			})
		}
		return &wg
	}
	hold := make(chan struct{})
	wg := run(10, hold)
	waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.inUse == 3 && len(s.waiters) == 7 })
	s.setLimit(1)
	close(hold)
	wg.Wait()
	if peak != 3 {
		t.Fatalf("peak %d in flight, want 3", peak)
	}
	// Lowered to 1: one at a time now.
	peak = 0
	hold = make(chan struct{})
	wg = run(4, hold)
	waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.inUse == 1 && len(s.waiters) == 3 })
	s.setLimit(4) // raised: the waiters go at once
	waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.inUse == 4 })
	close(hold)
	wg.Wait()
	// A caller that gives up leaves no slot taken.
	s.setLimit(1)
	if err := s.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	gone, stop := context.WithCancel(ctx)
	stop()
	if err := s.acquire(gone); !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire on a done context: %v", err)
	}
	s.release()
	if s.inUse != 0 || len(s.waiters) != 0 {
		t.Fatalf("in use %d, waiting %d after all released", s.inUse, len(s.waiters))
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond) // polling interval
	}
}

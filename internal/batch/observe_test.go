package batch

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/internal/testclock"
)

// Observe is told of each call as it goes: its size, and how long its first request waited.
func TestObserveSizesAndWaits(t *testing.T) {
	clock := testclock.New()
	var mu sync.Mutex
	var seen []string
	r := &recorder{}
	b := New(Options{Max: 2, Linger: time.Hour, Quiet: time.Hour, Observe: func(size int, waited time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmt.Sprintf("%d after %s", size, waited))
	}}, r.call)
	b.now = clock.Now
	c := ctx(t)
	if _, err := b.Do(c, "k", 0); err != nil { // idle: alone, at once
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() {
		_, err := b.Do(c, "k", 1)
		first <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); ; {
		b.mu.Lock()
		queued := b.queues["k"] != nil && len(b.queues["k"].pending) == 1
		b.mu.Unlock()
		if queued {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second request was never queued")
		}
		time.Sleep(time.Millisecond) // polling interval, not a wait for an outcome
	}
	clock.Advance(250 * time.Millisecond)
	if _, err := b.Do(c, "k", 2); err != nil { // fills the batch: both go
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := fmt.Sprint(seen); got != "[1 after 0s 2 after 250ms]" {
		t.Errorf("observed %s, want a lone call at once, then two after the first waited 250ms", got)
	}
}

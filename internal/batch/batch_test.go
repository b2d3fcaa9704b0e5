package batch

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// recorder is a call that records the batches it was given and echoes its requests.
type recorder struct {
	mu      sync.Mutex
	batches map[string][][]int
	err     error
}

func (r *recorder) call(_ context.Context, key string, reqs []int) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.batches == nil {
		r.batches = map[string][][]int{}
	}
	r.batches[key] = append(r.batches[key], slices.Clone(reqs))
	if r.err != nil {
		return nil, r.err
	}
	out := make([]string, len(reqs))
	for i, q := range reqs {
		out[i] = key + strconv.Itoa(q)
	}
	return out, nil
}

func (r *recorder) sizes(key string) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for _, b := range r.batches[key] {
		out = append(out, len(b))
	}
	return out
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// A request on an idle batcher goes at once, however long the linger: a lone caller waits for
// nothing (the test would time out on the hour-long linger).
func TestLoneRequestGoesAtOnce(t *testing.T) {
	r := &recorder{}
	b := New(Options{Max: 10, Linger: time.Hour, Quiet: time.Hour}, r.call)
	got, err := b.Do(ctx(t), "k", 7)
	if err != nil || got != "k7" {
		t.Fatalf("Do = %q, %v", got, err)
	}
	if s := r.sizes("k"); !slices.Equal(s, []int{1}) {
		t.Fatalf("batches %v, want [1]", s)
	}
}

// Requests arriving while the batcher is busy gather until the batch is full, and each caller
// gets its own result.
func TestFullBatchFlushes(t *testing.T) {
	r := &recorder{}
	b := New(Options{Max: 5, Linger: time.Hour, Quiet: time.Hour}, r.call)
	c := ctx(t)
	if _, err := b.Do(c, "k", 0); err != nil { // the idle request: alone
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]string, 5)
	errs := make([]error, 5)
	for i := range 5 {
		wg.Go(func() { results[i], errs[i] = b.Do(c, "k", i+1) })
	}
	wg.Wait()
	for i := range 5 {
		if errs[i] != nil || results[i] != "k"+strconv.Itoa(i+1) {
			t.Fatalf("caller %d: %q, %v", i, results[i], errs[i])
		}
	}
	if s := r.sizes("k"); !slices.Equal(s, []int{1, 5}) {
		t.Fatalf("batches %v, want [1 5]", s)
	}
}

// A batch no request joins for Quiet goes without waiting out the linger.
func TestQuietFlushes(t *testing.T) {
	r := &recorder{}
	b := New(Options{Max: 100, Linger: time.Hour, Quiet: 20 * time.Millisecond}, r.call)
	c := ctx(t)
	for i := range 2 {
		if _, err := b.Do(c, "k", i); err != nil {
			t.Fatal(err)
		}
	}
	if s := r.sizes("k"); !slices.Equal(s, []int{1, 1}) {
		t.Fatalf("batches %v, want [1 1]", s)
	}
}

// A request after a pause shorter than Idle gathers with the next (a load arriving in clumps
// is still a load); after a pause of Idle it goes alone at once (the hour-long linger and
// quiet time would time the test out otherwise).
func TestIdleIsAPauseOfIdle(t *testing.T) {
	r := &recorder{}
	b := New(Options{Max: 2, Linger: time.Hour, Quiet: time.Hour, Idle: time.Second}, r.call)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	b.now = func() time.Time { return now }
	c := ctx(t)
	if _, err := b.Do(c, "k", 0); err != nil { // the first request: alone
		t.Fatal(err)
	}
	now = t0.Add(500 * time.Millisecond) // a pause shorter than Idle
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			if _, err := b.Do(c, "k", i+1); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	now = now.Add(time.Second) // a pause of Idle
	if _, err := b.Do(c, "k", 3); err != nil {
		t.Fatal(err)
	}
	if s := r.sizes("k"); !slices.Equal(s, []int{1, 2, 1}) {
		t.Fatalf("batches %v, want [1 2 1]", s)
	}
}

// Keys never share a call, and a failed call fails each of its callers, only them.
func TestKeysAndErrors(t *testing.T) {
	r := &recorder{}
	b := New(Options{Max: 2, Linger: time.Hour, Quiet: time.Hour}, r.call)
	c := ctx(t)
	for _, k := range []string{"a", "b"} {
		if _, err := b.Do(c, k, 0); err != nil {
			t.Fatal(err)
		}
	}
	r.mu.Lock()
	r.err = errors.New("outage")
	r.mu.Unlock()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			_, err := b.Do(c, "a", 1)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err == nil || err.Error() != "outage" {
			t.Fatalf("err %v, want the call's", err)
		}
	}
	if a, bb := r.sizes("a"), r.sizes("b"); !slices.Equal(a, []int{1, 2}) || !slices.Equal(bb, []int{1}) {
		t.Fatalf("batches a %v b %v", a, bb)
	}
}

// A caller that gives up returns at once with its context's error.
func TestCallerGivesUp(t *testing.T) {
	r := &recorder{}
	b := New(Options{Max: 10, Linger: time.Hour, Quiet: time.Hour}, r.call)
	if _, err := b.Do(ctx(t), "k", 0); err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Do(c, "k", 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want canceled", err)
	}
}

// With no linger every request goes alone.
func TestNoLinger(t *testing.T) {
	r := &recorder{}
	b := New(Options{Max: 10}, r.call)
	for i := range 3 {
		if _, err := b.Do(ctx(t), "k", i); err != nil {
			t.Fatal(err)
		}
	}
	if s := r.sizes("k"); !slices.Equal(s, []int{1, 1, 1}) {
		t.Fatalf("batches %v", s)
	}
}

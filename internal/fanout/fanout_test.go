package fanout

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
)

func TestEachBoundsConcurrencyAndReportsEveryOutcome(t *testing.T) {
	const n, items = 3, 50
	var inFlight, peak atomic.Int32
	entered := make(chan struct{}, items)
	release := make(chan struct{})
	var failed []int
	// Release one call only once as many as allowed (or all that remain) are in flight, so the
	// peak is exactly n: above n the bound failed, below it the calls did not overlap.
	go func() {
		held := 0
		for released := range items {
			for held-released < min(items-released, n) {
				<-entered
				held++
			}
			release <- struct{}{}
		}
	}()
	Each(context.Background(), n, slices.Values(rangeOf(items)), func(_ context.Context, i int) error {
		cur := inFlight.Add(1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		entered <- struct{}{}
		<-release
		inFlight.Add(-1)
		if i%10 == 0 {
			return errors.New("boom")
		}
		return nil
	}, func(i int, err error) {
		if err != nil {
			failed = append(failed, i)
		}
	})
	slices.Sort(failed)
	if !slices.Equal(failed, []int{0, 10, 20, 30, 40}) {
		t.Errorf("failed = %v", failed)
	}
	if p := peak.Load(); p != n {
		t.Errorf("peak in flight %d, want %d", p, n)
	}
}

func TestEachStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	Each(ctx, 1, slices.Values(rangeOf(10)), func(context.Context, int) error {
		calls++
		if calls == 3 {
			cancel()
		}
		return nil
	}, nil)
	if calls != 3 {
		t.Errorf("calls = %d after cancel at 3, want 3", calls)
	}
}

func TestChan(t *testing.T) {
	ch := make(chan int, 3)
	ch <- 1
	ch <- 2
	close(ch)
	if got := slices.Collect(Chan(context.Background(), ch)); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("Chan = %v", got)
	}
}

func rangeOf(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

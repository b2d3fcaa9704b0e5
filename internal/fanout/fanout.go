// Package fanout runs one function over many items with bounded concurrency: how the change
// feed, the starter and the benchmark signal thousands of syncs without opening thousands of
// requests at once.
package fanout

import (
	"context"
	"iter"
	"sync"
)

// Each calls fn for every item, at most n at a time, and done (when not nil) with each
// outcome, one call of done at a time. It stops taking items once ctx is done and returns
// when every call it started has finished.
func Each[T any](ctx context.Context, n int, items iter.Seq[T], fn func(context.Context, T) error, done func(T, error)) {
	sem := make(chan struct{}, max(n, 1))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for item := range items {
		select {
		case <-ctx.Done():
		case sem <- struct{}{}:
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			err := fn(ctx, item)
			if done != nil {
				mu.Lock()
				done(item, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// Chan yields what ch delivers until it is closed or ctx is done.
func Chan[T any](ctx context.Context, ch <-chan T) iter.Seq[T] {
	return func(yield func(T) bool) {
		for {
			select {
			case <-ctx.Done():
				return
			case v, ok := <-ch:
				if !ok || !yield(v) {
					return
				}
			}
		}
	}
}

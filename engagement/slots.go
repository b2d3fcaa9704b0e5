package engagement

import (
	"context"
	"sync"
)

// slots bounds requests in flight with a limit that can change while requests wait: the
// business unit's 5 are shared among however many workers run (see SetMaxInFlight).
type slots struct {
	mu      sync.Mutex
	limit   int
	inUse   int
	waiters []chan struct{}
}

func newSlots(limit int) *slots { return &slots{limit: max(limit, 1)} }

// acquire takes a slot, waiting for one while ctx lasts.
func (s *slots) acquire(ctx context.Context) error {
	s.mu.Lock()
	if s.inUse < s.limit && len(s.waiters) == 0 {
		s.inUse++
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, w := range s.waiters {
			if w == ch {
				s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
				return ctx.Err()
			}
		}
		// Granted as ctx ended: hand the slot on.
		s.inUse--
		s.grant()
		return ctx.Err()
	}
}

// release returns a slot.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inUse--
	s.grant()
}

// setLimit changes the limit; requests in flight finish, new ones wait for the new limit.
func (s *slots) setLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit = max(n, 1)
	s.grant()
}

// grant hands free slots to waiters in arrival order. Called with s.mu held.
func (s *slots) grant() {
	for s.inUse < s.limit && len(s.waiters) > 0 {
		s.inUse++
		close(s.waiters[0])
		s.waiters = s.waiters[1:]
	}
}

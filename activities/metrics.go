package activities

import "time"

// feedRead tells FeedRead how far a feed's poll has read: everything up to the moment it asked
// when nothing more is waiting, else up to the newest change on the full page it got (a backlog
// is read page by page, and the lag is then how old that change is).
func (a *Activities) feedRead(feed string, asked time.Time, more bool, newest time.Time) {
	if a.FeedRead == nil {
		return
	}
	through := asked
	if more {
		through = newest
	}
	a.FeedRead(feed, through)
}

// batchSent is a batcher's Observe: it tells BatchSent, when set, of each call of kind.
func (a *Activities) batchSent(kind string) func(size int, waited time.Duration) {
	return func(size int, waited time.Duration) {
		if a.BatchSent != nil {
			a.BatchSent(kind, size, waited)
		}
	}
}

// later is the later of two times.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

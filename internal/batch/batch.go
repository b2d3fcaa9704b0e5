// Package batch gathers requests from concurrent callers into shared calls (the "data loader"
// pattern): each caller hands its request over and waits for its own result.
//
// A request on an idle batcher (nothing pending, nothing arrived for Idle, by default the
// Linger) goes out at once, so a lone caller is not slowed. Otherwise requests gather until the
// batch is full, until none has arrived for Quiet, or until the first has waited Linger: under
// a sustained load a call carries about Linger × the arrival rate, and a burst goes out as soon
// as it ends. Idle is long on purpose: a load arrives unevenly (here, workflow tasks come in
// clumps with pauses of a second or two), and a shorter idle time sent the first request after
// each pause alone, a call for one record.
package batch

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Options sizes the batches.
type Options struct {
	// Max is the most requests one call carries.
	Max int
	// Linger is the longest a request waits for others; 0 sends each request alone.
	Linger time.Duration
	// Quiet flushes a batch no request joined for this long; 0 means Linger / 8.
	Quiet time.Duration
	// Idle: a request arriving when nothing is pending and nothing arrived for this long goes
	// alone at once; 0 means Linger.
	Idle time.Duration
	// Timeout bounds one call, which serves several callers and so cannot use any one's context.
	Timeout time.Duration
	// Observe, when set, is told of each call as it goes: how many requests it carries and how
	// long the oldest of them waited for the others (the worker's batch metrics).
	Observe func(size int, waited time.Duration)
}

// Func makes one call for a batch: one result per request, in order, or one error for all.
type Func[Req, Res any] func(ctx context.Context, key string, reqs []Req) ([]Res, error)

// Batcher gathers requests by key: requests with different keys (different headers, say)
// never share a call.
type Batcher[Req, Res any] struct {
	opts Options
	call Func[Req, Res]

	mu     sync.Mutex
	queues map[string]*queue[Req, Res]
	now    func() time.Time
}

type queue[Req, Res any] struct {
	pending  []waiter[Req, Res]
	first    time.Time // when the oldest pending request arrived
	last     time.Time // when the latest request arrived, pending or not
	timer    *time.Timer
	timerGen int
}

type waiter[Req, Res any] struct {
	req  Req
	done chan outcome[Res]
	at   time.Time // when it was handed over
}

type outcome[Res any] struct {
	res Res
	err error
}

// New returns a batcher that sends batches through call.
func New[Req, Res any](opts Options, call Func[Req, Res]) *Batcher[Req, Res] {
	if opts.Max < 1 {
		opts.Max = 1
	}
	if opts.Quiet <= 0 {
		opts.Quiet = opts.Linger / 8
	}
	if opts.Idle <= 0 {
		opts.Idle = opts.Linger
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	return &Batcher[Req, Res]{opts: opts, call: call, queues: map[string]*queue[Req, Res]{}, now: time.Now}
}

// Do hands req over under key and waits for its result. A caller that gives up (ctx done)
// gets ctx's error; its request may still be sent with the others.
func (b *Batcher[Req, Res]) Do(ctx context.Context, key string, req Req) (Res, error) {
	w := waiter[Req, Res]{req: req, done: make(chan outcome[Res], 1)}
	b.mu.Lock()
	q := b.queues[key]
	if q == nil {
		q = &queue[Req, Res]{}
		b.queues[key] = q
	}
	now := b.now()
	w.at = now
	// Idle: nothing pending and nothing arrived for Idle (a burst or a stream would have).
	idle := len(q.pending) == 0 && now.Sub(q.last) >= b.opts.Idle
	q.last = now
	if idle || b.opts.Linger <= 0 {
		b.mu.Unlock()
		go b.send(key, []waiter[Req, Res]{w})
		return wait(ctx, w)
	}
	if len(q.pending) == 0 {
		q.first = now
	}
	q.pending = append(q.pending, w)
	if len(q.pending) >= b.opts.Max {
		batch := b.take(q)
		b.mu.Unlock()
		go b.send(key, batch)
		return wait(ctx, w)
	}
	b.arm(key, q, now)
	b.mu.Unlock()
	return wait(ctx, w)
}

// arm (re)sets the queue's timer to the earlier of Quiet after the latest arrival and Linger
// after the first. Called with b.mu held.
func (b *Batcher[Req, Res]) arm(key string, q *queue[Req, Res], now time.Time) {
	due := min(q.last.Add(b.opts.Quiet).Sub(now), q.first.Add(b.opts.Linger).Sub(now))
	if q.timer != nil {
		q.timer.Stop()
	}
	q.timerGen++
	gen := q.timerGen
	q.timer = time.AfterFunc(max(due, 0), func() {
		b.mu.Lock()
		if q.timerGen != gen || len(q.pending) == 0 {
			b.mu.Unlock()
			return
		}
		batch := b.take(q)
		b.mu.Unlock()
		b.send(key, batch)
	})
}

// take empties the queue. Called with b.mu held.
func (b *Batcher[Req, Res]) take(q *queue[Req, Res]) []waiter[Req, Res] {
	batch := q.pending
	q.pending = nil
	q.timerGen++
	if q.timer != nil {
		q.timer.Stop()
		q.timer = nil
	}
	return batch
}

// send makes the call and hands each waiter its result.
func (b *Batcher[Req, Res]) send(key string, batch []waiter[Req, Res]) {
	if b.opts.Observe != nil {
		b.opts.Observe(len(batch), b.now().Sub(batch[0].at))
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.Timeout)
	defer cancel()
	reqs := make([]Req, len(batch))
	for i, w := range batch {
		reqs[i] = w.req
	}
	res, err := b.call(ctx, key, reqs)
	if err == nil && len(res) != len(reqs) {
		err = fmt.Errorf("batch: %d results for %d requests", len(res), len(reqs))
	}
	for i, w := range batch {
		if err != nil {
			w.done <- outcome[Res]{err: err}
		} else {
			w.done <- outcome[Res]{res: res[i]}
		}
	}
}

func wait[Req, Res any](ctx context.Context, w waiter[Req, Res]) (Res, error) {
	select {
	case o := <-w.done:
		return o.res, o.err
	case <-ctx.Done():
		var zero Res
		return zero, ctx.Err()
	}
}

package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// DefaultEngagementShareEvery is how often a worker counts the workers polling its task queue
// to take its share of Account Engagement's requests in flight.
const DefaultEngagementShareEvery = 30 * time.Second

// pollerWindow is how recently a worker must have polled to count: a long poll lasts up to
// about a minute, so two minutes covers a live worker and forgets a stopped one.
const pollerWindow = 2 * time.Minute

// identity names this worker to Temporal uniquely, even with several in one process (tests):
// the workers sharing Account Engagement's limit are counted by it.
func identity() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%d@%s@%s", os.Getpid(), host, hex.EncodeToString(b))
}

// shareEngagement keeps this worker to its share of the business unit's Account Engagement
// requests in flight (total, 5 by default): total over the workers polling the task queue, at
// least one. A worker leaving is seen within pollerWindow; until then the others keep the
// smaller share it left them. With more workers than requests, each keeps one and the business
// unit answers the excess with code 66, which the client backs off from briefly.
func (a *App) shareEngagement(ctx context.Context, ae *engagement.Client, total int, every time.Duration) {
	// A worker that just joined holds one request until the others have counted it (they
	// recount every `every`); a counted worker keeps its share of one request fewer than the
	// business unit's limit, the one a joiner takes meanwhile. So the limit holds while workers
	// join one at a time, at the cost of one request for a lone worker.
	joined := time.Now()
	a.aeShare.Store(1)
	ae.SetMaxInFlight(1)
	for {
		resp, err := a.client.DescribeTaskQueue(ctx, workflows.TaskQueue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		if err == nil {
			workers := map[string]bool{}
			for _, p := range resp.GetPollers() {
				if time.Since(p.GetLastAccessTime().AsTime()) < pollerWindow {
					workers[p.GetIdentity()] = true
				}
			}
			n := max(len(workers), 1)
			share := max((total-1)/n, 1)
			if time.Since(joined) < every+time.Second {
				share = 1
			}
			if old := a.aeShare.Swap(int64(share)); old != int64(share) {
				ae.SetMaxInFlight(share)
				a.log.Info().Int("workers", n).Int("inFlight", share).Int("businessUnitLimit", total).
					Msg("Account Engagement requests in flight: this worker's share")
			}
		} else if ctx.Err() == nil {
			a.log.Warn().Err(err).Msg("could not count the workers sharing Account Engagement's limit; keeping the current share")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// EngagementShare is how many Account Engagement requests this worker keeps in flight now.
func (a *App) EngagementShare() int { return int(a.aeShare.Load()) }

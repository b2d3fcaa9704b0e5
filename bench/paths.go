package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// Scaled intervals of the steady-state and change-latency measurements.
const (
	// recheckScaled stands for today's 24 h SYNC_RECHECK_INTERVAL: a window of one interval
	// holds exactly one re-check of every synced prospect, which is their cost for a day.
	recheckScaled = time.Minute
	// steadyPrevious is how many prospects today's re-checks are measured on: 1,000 re-checks a
	// minute is what one embedded server keeps up with on 2 cores.
	steadyPrevious = 1000
	// crmFeedScaled is the Salesforce change feed's interval during the measurements; the
	// figures per day are for its default interval, workflows.DefaultCrmFeedInterval.
	crmFeedScaled = 5 * time.Second
	steadyWindow  = time.Minute
	loneSyncs     = 10
	// changes made in Salesforce for the latency measurement, of each kind.
	changesPerKind = 10
)

// path is one way of running the same first load, measured in this run.
type path struct {
	Name                  string  `json:"name"`
	Prospects             int     `json:"prospects"`
	Seconds               float64 `json:"seconds"`
	SyncsPerSecond        float64 `json:"syncsPerSecond"`
	Ratio                 float64 `json:"ratioToBaseline"`
	SalesforcePerProspect float64 `json:"salesforceCallsPerProspect"`
	EngagementPerProspect float64 `json:"engagementCallsPerProspect"`
	// SalesforceCalls is where the load's Salesforce calls went, by endpoint.
	SalesforceCalls map[string]int `json:"salesforceCallsByEndpoint"`
	// CrmFeed is the Salesforce change feed's status after the load: its polls, and the
	// changes it signalled or passed over as the syncs' own writes.
	CrmFeed       *workflows.CrmChangeFeedStatus `json:"crmFeed,omitempty"`
	LoneSyncP50Ms float64                        `json:"loneSyncP50Ms"`
	Steady        []steady                       `json:"steady"`
}

// steady is the Salesforce calls a day that keep N synced prospects current.
type steady struct {
	Synced           int     `json:"synced"`
	SalesforcePerDay float64 `json:"salesforceCallsPerDay"`
	How              string  `json:"how"`
}

// changeLatency is how long a change made in Salesforce takes to reach the sync.
type changeLatency struct {
	Kind         string  `json:"kind"`
	Changes      int     `json:"changes"`
	FeedInterval string  `json:"feedInterval"`
	P50Seconds   float64 `json:"p50Seconds"`
	P99Seconds   float64 `json:"p99Seconds"`
}

// runningSynced counts the syncs Synced now (terminated ones keep their last state).
var runningSynced = workflows.StateQuery(prospect.StateSynced) + " AND ExecutionStatus = 'Running'"

// workerEnv is the measured worker's configuration for each path.
var (
	previousEnv = []string{"SALESFORCE_BATCH_LINGER=0", "PROSPECT_SYNC_START_FEEDS=false", "SYNC_RECHECK_INTERVAL=0"}
	batchedEnv  = []string{"PROSPECT_SYNC_START_FEEDS=false"} // the bench starts the feeds from its own cursors
)

// previousPath measures today's per-prospect path: every sync reads, looks up and writes in
// calls of its own, started one signal each (as `starter sync` does), and re-checks both sides
// every SYNC_RECHECK_INTERVAL to notice changes made in Salesforce.
func (b *bench) previousPath(ctx context.Context, ceiling float64) (path, error) {
	p := path{Name: "per prospect, re-checks (before)"}
	// Re-checks, on a set of their own: they would load the throughput phase.
	if err := b.restartWorker(ctx, append(slices.Clone(previousEnv[:2]), "SYNC_RECHECK_INTERVAL="+recheckScaled.String())...); err != nil {
		return p, err
	}
	small := min(steadyPrevious, b.cfg.N)
	b.logf("previous path: %d prospects re-checked every %s (standing for 24 h)", small, recheckScaled)
	ids, err := b.prepareSyncs(ctx, "steady", small)
	if err != nil {
		return p, err
	}
	if err := b.syncAndWait(ctx, ids); err != nil {
		return p, err
	}
	calls := b.sfCallsOver(ctx, recheckScaled)
	p.Steady = append(p.Steady,
		steady{Synced: small, SalesforcePerDay: float64(calls), How: fmt.Sprintf("measured: one %s re-check interval", recheckScaled)},
		steady{Synced: b.cfg.N, SalesforcePerDay: float64(calls) * float64(b.cfg.N) / float64(small),
			How: fmt.Sprintf("%d/%d × the figure measured on %d: one re-check per prospect a day", b.cfg.N, small, small)})
	if err := b.terminate(ctx, ids); err != nil {
		return p, err
	}

	if err := b.restartWorker(ctx, previousEnv...); err != nil {
		return p, err
	}
	if p.LoneSyncP50Ms, err = b.loneLatency(ctx, "lone-before"); err != nil {
		return p, err
	}
	b.logf("previous path: first load of %d prospects, one signal each", b.cfg.N)
	ids, err = b.prepareSyncs(ctx, "before", b.cfg.N)
	if err != nil {
		return p, err
	}
	before := b.emu.Counters()
	start := time.Now()
	if err := b.syncAndWait(ctx, ids); err != nil {
		return p, err
	}
	b.measured(&p, len(ids), time.Since(start), before, ceiling)
	return p, b.terminate(ctx, ids)
}

// batchedPath measures the path of today: the change feed reads the first load in pages of
// 1,000 and hands each sync its snapshot and matches; syncs share Salesforce calls; the
// Salesforce change feed replaces re-checks.
func (b *bench) batchedPath(ctx context.Context, ceiling float64) (path, []changeLatency, error) {
	p := path{Name: "batched, change feeds (now)"}
	if err := b.restartWorker(ctx, batchedEnv...); err != nil {
		return p, nil, err
	}
	var err error
	if p.LoneSyncP50Ms, err = b.loneLatency(ctx, "lone-now"); err != nil {
		return p, nil, err
	}
	b.logf("batched path: first load of %d prospects through the change feed", b.cfg.N)
	cursor := time.Now().UTC().Truncate(time.Second)
	ids, err := b.prepareSyncs(ctx, "now", b.cfg.N)
	if err != nil {
		return p, nil, err
	}
	// Both feeds run through the load, as in production: the Salesforce feed also reports the
	// load's own creates and updates, and what that costs is counted.
	crm := workflows.CrmChangeFeedInput{Cursor: time.Now().UTC(), Interval: crmFeedScaled}
	if _, err := workflows.StartCrmChangeFeed(ctx, b.c, crm); err != nil {
		return p, nil, err
	}
	before := b.emu.Counters()
	start := time.Now()
	feed := workflows.ChangeFeedInput{Cursor: cursor, Interval: 2 * time.Second}
	if _, err := workflows.StartChangeFeed(ctx, b.c, feed); err != nil {
		return p, nil, err
	}
	if err := b.waitSynced(ctx, ids); err != nil {
		return p, nil, err
	}
	// The feed's report of the load's own writes comes within an interval or two after it.
	b.sfCallsOver(ctx, 2*crmFeedScaled)
	b.measured(&p, len(ids), time.Since(start)-2*crmFeedScaled, before, ceiling)
	st, err := workflows.QueryCrmFeed(ctx, b.c)
	if err != nil {
		return p, nil, err
	}
	p.CrmFeed = &st
	b.logf("Salesforce calls by endpoint %v; Salesforce feed: %d polls, %d changes signalled, %d own writes passed over",
		p.SalesforceCalls, st.Polls, st.Changes, st.OwnWrites)
	for _, keep := range []int{len(ids), min(steadyPrevious, len(ids))} {
		if err := b.terminate(ctx, ids[keep:]); err != nil {
			return p, nil, err
		}
		calls := b.sfCallsOver(ctx, steadyWindow)
		polls := float64(steadyWindow / crmFeedScaled)
		perDay := float64(calls) / polls * float64(24*time.Hour/workflows.DefaultCrmFeedInterval)
		p.Steady = append(p.Steady, steady{Synced: keep, SalesforcePerDay: perDay,
			How: fmt.Sprintf("measured: %d calls in %s of polls every %s, per day at the default %s", calls, steadyWindow, crmFeedScaled, workflows.DefaultCrmFeedInterval)})
	}
	lat, err := b.changeLatency(ctx, ids[:min(steadyPrevious, len(ids))])
	return p, lat, err
}

// measured fills a path's throughput and API cost from a finished load.
func (b *bench) measured(p *path, n int, took time.Duration, before emulator.Counters, ceiling float64) {
	after := b.emu.Counters()
	p.Prospects, p.Seconds = n, took.Seconds()
	p.SyncsPerSecond = float64(n) / took.Seconds()
	p.Ratio = p.SyncsPerSecond / ceiling
	p.SalesforcePerProspect = float64(after.Salesforce.Total-before.Salesforce.Total) / float64(n)
	p.EngagementPerProspect = float64(after.Engagement.Total-before.Engagement.Total) / float64(n)
	p.SalesforceCalls = map[string]int{}
	for k, v := range after.Salesforce.ByEndpoint {
		if d := v - before.Salesforce.ByEndpoint[k]; d > 0 {
			p.SalesforceCalls[k] = d
		}
	}
	b.logf("%s: %.1f syncs/s (ratio %.2f), %.3f Salesforce and %.3f Account Engagement calls a prospect",
		p.Name, p.SyncsPerSecond, p.Ratio, p.SalesforcePerProspect, p.EngagementPerProspect)
}

// syncAndWait signals each prospect's sync and waits until all are Synced.
func (b *bench) syncAndWait(ctx context.Context, ids []int64) error {
	if err := b.signalAll(ctx, ids); err != nil {
		return err
	}
	return b.waitSynced(ctx, ids)
}

// waitSynced waits until every one of ids is Synced (and as many in all as are running).
func (b *bench) waitSynced(ctx context.Context, ids []int64) error {
	if err := b.waitCount(ctx, runningSynced, b.synced+len(ids)); err != nil {
		return err
	}
	b.synced += len(ids)
	return nil
}

// terminate ends syncs (they stop re-checking and leave the counts).
func (b *bench) terminate(ctx context.Context, ids []int64) error {
	err := b.startMany(ctx, len(ids), func(ctx context.Context, i int) error {
		return b.c.TerminateWorkflow(ctx, workflows.ProspectWorkflowID(ids[i]), "", "benchmark: phase done")
	})
	b.synced -= len(ids)
	return err
}

// sfCallsOver counts the Salesforce calls made in a window.
func (b *bench) sfCallsOver(ctx context.Context, d time.Duration) int {
	before := b.emu.Counters().Salesforce.Total
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	return b.emu.Counters().Salesforce.Total - before
}

// loneLatency is the median time from signal to Synced of syncs started one at a time on an
// idle worker (each creates a Lead).
func (b *bench) loneLatency(ctx context.Context, prefix string) (float64, error) {
	lat := make([]float64, 0, loneSyncs)
	for i := range loneSyncs {
		pr, err := b.ae.CreateProspect(ctx, map[string]any{"email": fmt.Sprintf("%s%02d@bench.example.com", prefix, i), "lastName": "Lone", "company": "Bench Inc", "userId": emulator.AEUserBob})
		if err != nil {
			return 0, err
		}
		start := time.Now()
		if err := b.signalAll(ctx, []int64{pr.ID}); err != nil {
			return 0, err
		}
		err = poll(ctx, time.Minute, 5*time.Millisecond, func() (bool, error) {
			st, err := b.status(ctx, pr.ID)
			return err == nil && st.State == prospect.StateSynced, nil
		})
		if err != nil {
			return 0, fmt.Errorf("lone sync %d: %w", pr.ID, err)
		}
		lat = append(lat, float64(time.Since(start).Milliseconds()))
		b.synced++
		// Lone: the next sync comes to an idle worker (nothing for the batch linger), not as
		// part of a stream.
		time.Sleep(activities.DefaultBatchLinger + time.Second)
	}
	slices.Sort(lat)
	return lat[len(lat)/2], nil
}

// status queries one sync's state.
func (b *bench) status(ctx context.Context, id int64) (workflows.SyncStatus, error) {
	var st workflows.SyncStatus
	v, err := b.c.QueryWorkflow(ctx, workflows.ProspectWorkflowID(id), "", workflows.QuerySyncState)
	if err == nil {
		err = v.Get(&st)
	}
	return st, err
}

// changeLatency makes changes in Salesforce to records synced prospects are linked to, at a
// steady pace, and measures each until its sync reflects it: a new owner (assigned in Account
// Engagement to the owner's user), a deleted record (CrmDeleted), an edited mapped field (the
// sync writes Account Engagement's value back, Account Engagement being its master).
func (b *bench) changeLatency(ctx context.Context, ids []int64) ([]changeLatency, error) {
	type change struct {
		kind string
		id   int64
		st   workflows.SyncStatus
		at   time.Time
		done time.Duration
	}
	var changes []*change
	for _, id := range ids {
		st, err := b.status(ctx, id)
		if err != nil {
			return nil, err
		}
		if st.CRMRecordType != prospect.TypeLead || st.OwnerID != emulator.UserBobID {
			continue // the created half: Leads owned by Bob
		}
		kind := []string{"owner", "delete", "field"}[len(changes)%3]
		changes = append(changes, &change{kind: kind, id: id, st: st})
		if len(changes) == 3*changesPerKind {
			break
		}
	}
	b.logf("changing %d records in Salesforce, Salesforce change feed every %s", len(changes), crmFeedScaled)
	for _, c := range changes {
		var err error
		switch c.kind {
		case "owner":
			err = b.person.Update(ctx, "Lead", c.st.CRMRecordID, map[string]any{"OwnerId": emulator.UserAliceID})
		case "delete":
			err = b.person.Delete(ctx, "Lead", c.st.CRMRecordID)
		case "field":
			err = b.person.Update(ctx, "Lead", c.st.CRMRecordID, map[string]any{"LastName": "Changed in Salesforce"})
		}
		if err != nil {
			return nil, err
		}
		c.at = time.Now()
		time.Sleep(100 * time.Millisecond) // a steady pace, as people make changes
	}
	var mu sync.Mutex
	err := poll(ctx, 5*time.Minute, 100*time.Millisecond, func() (bool, error) {
		pending := 0
		for _, c := range changes {
			if c.done > 0 {
				continue
			}
			reflected := false
			switch c.kind {
			case "owner":
				st, err := b.status(ctx, c.id)
				reflected = err == nil && st.OwnerID == emulator.UserAliceID && st.AssignedUserID == emulator.AEUserAlice
			case "delete":
				st, err := b.status(ctx, c.id)
				reflected = err == nil && st.State == prospect.StateCRMDeleted
			case "field":
				rec, err := b.sf.Get(ctx, "Lead", c.st.CRMRecordID, "LastName")
				reflected = err == nil && rec.String("LastName") != "Changed in Salesforce"
			}
			mu.Lock()
			if reflected {
				c.done = time.Since(c.at)
			} else {
				pending++
			}
			mu.Unlock()
		}
		return pending == 0, nil
	})
	if err != nil {
		return nil, fmt.Errorf("changes made in Salesforce not reflected: %w", err)
	}
	var out []changeLatency
	for _, kind := range []string{"owner", "delete", "field", "all"} {
		var lat []float64
		for _, c := range changes {
			if kind == "all" || c.kind == kind {
				lat = append(lat, c.done.Seconds())
			}
		}
		slices.Sort(lat)
		out = append(out, changeLatency{Kind: kind, Changes: len(lat), FeedInterval: crmFeedScaled.String(),
			P50Seconds: lat[len(lat)/2], P99Seconds: lat[min(len(lat)-1, len(lat)*99/100)]})
	}
	return out, nil
}

// restartWorker stops the measured worker, if running, and starts it with extra settings.
func (b *bench) restartWorker(ctx context.Context, env ...string) error {
	b.stopWorker()
	b.worker = b.workerCmd(ctx, env)
	if err := b.worker.Start(); err != nil {
		return err
	}
	// Ready when it answers: a sync of an unknown prospect ends at once.
	id := int64(900000000 + b.restarts)
	b.restarts++
	if _, err := workflows.SignalSync(ctx, b.c, id, workflows.SignalProspectChanged, nil); err != nil {
		return err
	}
	run := b.c.GetWorkflow(ctx, workflows.ProspectWorkflowID(id), "")
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return run.Get(wctx, nil)
}

package reliability

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// pauseLog is what a worker logs once it holds its writes.
const pauseLog = "the sync is paused"

// An operator pauses in the middle of a load; a worker is killed and another starts while
// paused. Nothing is written to either service while the pause holds, the syncs that reach a
// write wait there, and after the resume every prospect reaches its due state with one record.
func TestPauseMidLoad(t *testing.T) {
	sz := runSize()
	c := newCluster(t)
	c.startServices()
	// The load arrives in two halves, the second while paused: `starter sync` still queues
	// work, and a load of this size would otherwise be through before the pause is seen. The
	// second half is made after the pause, so that the change feed's first read (which looks a
	// little back in time) does not start it early.
	first := c.seed(sz.prospects / 2)
	c.startWorker()
	began := time.Now()
	c.startSyncs(first)
	c.waitSynced(expected(first)[syncedState]/3, settleWithin(sz.prospects))
	ctx := context.Background()
	if err := workflows.Pause(ctx, c.tc, workflows.PauseRequest{By: "reliability", Reason: "a Salesforce data migration"}); err != nil {
		t.Fatal(err)
	}
	c.waitLogged(pauseLog)
	second := c.seed(sz.prospects - len(first))
	ps := append(slices.Clone(first), second...)
	// Writes a worker admitted just before it saw the pause may still land: the window starts
	// once those have had time to finish (and after the test's own seeding).
	from := time.Now().Add(2 * time.Second)
	c.startSyncs(second)
	c.killWorker() // the new worker reads the pause before its first activity
	held := c.waitHeld(ps)
	if held == 0 {
		t.Fatal("no sync was held by the pause: the test paused nothing")
	}
	c.wantNoWrites(ctx, from)
	t.Logf("paused: %d syncs held at a write, 0 writes to either service across a worker kill", held)
	if err := workflows.Resume(ctx, c.tc, workflows.PauseRequest{By: "reliability"}); err != nil {
		t.Fatal(err)
	}
	settle := c.waitSettled(ps, settleWithin(sz.prospects))
	c.report("pause mid-load", c.verify(ps), 1, time.Since(began), fmt.Sprintf("paused, one worker killed while paused, resumed; settled %s after the resume", settle.Round(100*time.Millisecond)))
}

// A pause set before any worker starts holds from the first activity: nothing is written.
func TestPauseBeforeWorkerStarts(t *testing.T) {
	c := newCluster(t)
	c.startServices()
	ctx := context.Background()
	if err := workflows.Pause(ctx, c.tc, workflows.PauseRequest{By: "reliability", Reason: "provisioned paused"}); err != nil {
		t.Fatal(err)
	}
	ps := c.seed(20)
	from := time.Now()
	c.startWorker()
	c.startSyncs(ps)
	held := c.waitHeld(ps)
	c.wantNoWrites(ctx, from)
	t.Logf("paused before start: %d syncs held at their first write, 0 writes", held)
	if err := workflows.Resume(ctx, c.tc, workflows.PauseRequest{By: "reliability"}); err != nil {
		t.Fatal(err)
	}
	settle := c.waitSettled(ps, settleWithin(len(ps)))
	c.report("pause before start", c.verify(ps), 0, settle, "resumed")
}

// waitLogged waits until the newest worker logged the line.
func (c *cluster) waitLogged(line string) {
	c.t.Helper()
	c.waitFor(fmt.Sprintf("a worker logging %q", line), time.Minute, func(context.Context) (bool, error) {
		return strings.Contains(c.workers[len(c.workers)-1].output(), line), nil
	})
}

// waitHeld waits until every prospect due a record that is not Synced yet is held at its
// write by the pause, and returns how many are.
func (c *cluster) waitHeld(ps []seeded) int {
	c.t.Helper()
	held := 0
	c.waitFor("every unsynced prospect held at its write", settleWithin(len(ps)), func(ctx context.Context) (bool, error) {
		held = 0
		for _, p := range ps {
			if p.kind != createsLead && p.kind != matchesLead {
				continue
			}
			st, err := workflows.QueryStatus(ctx, c.tc, p.id)
			if err != nil {
				return false, err
			}
			switch {
			case st.Paused != "":
				held++
			case st.State != prospect.StateSynced:
				return false, nil
			}
		}
		return true, nil
	})
	return held
}

// wantNoWrites fails unless no Lead or Contact and no prospect was written since from: every
// write moves a Lead's or Contact's SystemModstamp, or a prospect's updatedAt.
func (c *cluster) wantNoWrites(ctx context.Context, from time.Time) {
	c.t.Helper()
	for _, obj := range []string{prospect.TypeLead, prospect.TypeContact} {
		recs, err := c.sf.Select(ctx, salesforce.Select{Object: obj, Fields: []string{"Id", "SystemModstamp"},
			Where: []salesforce.Cond{salesforce.AtOrAfter("SystemModstamp", from.Add(time.Second).Truncate(time.Second))}, All: true})
		if err != nil {
			c.t.Fatal(err)
		}
		if len(recs) > 0 {
			c.t.Errorf("%d %ss written while paused, first %v", len(recs), obj, recs[0])
		}
	}
	page, err := c.ae.QueryProspects(ctx, engagement.ProspectQuery{UpdatedAfter: from.Add(time.Second).Truncate(time.Second), IncludeDeleted: true, Limit: 10})
	if err != nil {
		c.t.Fatal(err)
	}
	if len(page.Prospects) > 0 {
		c.t.Errorf("%d prospects written while paused, first %d at %s", len(page.Prospects), page.Prospects[0].ID, page.Prospects[0].UpdatedAt)
	}
}

//go:build !nodev

package app

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"

	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// TestRecordHistoriesOfFeeds records two-poll runs of both change feeds and replays them, as
// TestRecordHistories does for syncs (change-feed.json, crm-change-feed.json): the Account
// Engagement feed hands two new prospects to their syncs; the Salesforce feed asks the sync of
// a Lead whose owner changed in Salesforce to re-read it.
func TestRecordHistoriesOfFeeds(t *testing.T) {
	dir := historiesDir(t)
	sealed, plain := historyReplayers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := app().Client()

	// Account Engagement's updatedAt counts whole seconds: a cursor in this second sees the
	// prospects made below.
	cursor := time.Now().Truncate(time.Second)
	var ids []int64
	for range 2 {
		p, err := testAE.CreateProspect(ctx, map[string]any{"email": unique("replay.feed@example.com"), "lastName": "Feed", "company": "Acme"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	awaitClosed(ctx, t, workflows.ChangeFeedWorkflowID)
	in := workflows.ChangeFeedInput{Cursor: cursor, Interval: time.Second, Overlap: time.Second, Polls: 2}
	if started, err := workflows.StartChangeFeed(ctx, c, in); err != nil || !started {
		t.Fatalf("start the change feed: %v, started %v", err, started)
	}
	var res workflows.ChangeFeedResult
	if err := c.GetWorkflow(ctx, workflows.ChangeFeedWorkflowID, "").Get(ctx, &res); err != nil {
		t.Fatalf("change feed: %v", err)
	}
	if res.Signalled < len(ids) {
		t.Fatalf("change feed result %+v: want at least the %d new prospects signalled", res, len(ids))
	}
	for _, id := range ids {
		waitStatus(t, id, inState(prospect.StateWaitingForAssignment))
	}
	events := keepHistory(t, sealed, plain, workflows.ChangeFeedWorkflowID, filepath.Join(dir, "change-feed.json"))
	if acts := activityTypes(events); !slices.Contains(acts, "FeedPage") || slices.Contains(acts, "PollChanges") {
		t.Errorf("change feed ran %v: want the hand-off version (FeedPage)", acts)
	}

	// Salesforce: a synced Lead's owner changes before the first poll, which must find it.
	p, err := testAE.CreateProspect(ctx, map[string]any{"email": unique("replay.crmfeed@example.com"), "lastName": "Feed", "company": "Acme", "userId": emulator.AEUserBob})
	if err != nil {
		t.Fatal(err)
	}
	startSync(t, workflows.SignalProspectChanged, p.ID)
	st := waitStatus(t, p.ID, func(st workflows.SyncStatus) bool {
		return st.State == prospect.StateSynced && st.OwnerID == emulator.UserBobID
	})
	crmCursor := time.Now().UTC().Truncate(time.Millisecond) // SystemModstamp counts milliseconds
	if err := testPerson.Update(ctx, prospect.TypeLead, st.CRMRecordID, map[string]any{"OwnerId": emulator.UserAliceID}); err != nil {
		t.Fatal(err)
	}
	awaitClosed(ctx, t, workflows.CrmChangeFeedWorkflowID)
	crmIn := workflows.CrmChangeFeedInput{Cursor: crmCursor, Interval: time.Second, Polls: 2}
	if started, err := workflows.StartCrmChangeFeed(ctx, c, crmIn); err != nil || !started {
		t.Fatalf("start the CRM change feed: %v, started %v", err, started)
	}
	var crmRes workflows.CrmChangeFeedResult
	if err := c.GetWorkflow(ctx, workflows.CrmChangeFeedWorkflowID, "").Get(ctx, &crmRes); err != nil {
		t.Fatalf("CRM change feed: %v", err)
	}
	if crmRes.Signalled < 1 {
		t.Fatalf("CRM change feed result %+v: want the changed Lead", crmRes)
	}
	waitStatus(t, p.ID, func(st workflows.SyncStatus) bool { return st.OwnerID == emulator.UserAliceID })
	events = keepHistory(t, sealed, plain, workflows.CrmChangeFeedWorkflowID, filepath.Join(dir, "crm-change-feed.json"))
	if acts := activityTypes(events); !slices.Contains(acts, "SignalLinked") {
		t.Errorf("CRM change feed ran %v: want the changed Lead's sync signalled (SignalLinked)", acts)
	}
}

// awaitClosed waits until workflow id's last run, if any, has closed, however it ended: the
// feeds are singletons, and another test's run bounded by Polls may still be finishing.
func awaitClosed(ctx context.Context, t *testing.T, id string) {
	t.Helper()
	err := app().Client().GetWorkflow(ctx, id, "").Get(ctx, nil)
	if ctxErr := ctx.Err(); ctxErr != nil {
		t.Fatalf("%s still running: %v (%v)", id, ctxErr, err)
	}
}

// activityTypes are the types of the activities events schedule, in order.
func activityTypes(events []*historypb.HistoryEvent) []string {
	var out []string
	for _, e := range events {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			out = append(out, a.GetActivityType().GetName())
		}
	}
	return out
}

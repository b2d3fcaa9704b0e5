//go:build !nodev

package app

import (
	"context"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// Changes made in Salesforce reach the sync through the Salesforce change feed, without a
// re-check or a change in Account Engagement: a new owner flows back as the assigned user, a
// deleted Lead flags the prospect.
func TestCrmChangeFeedReflectsSalesforceChanges(t *testing.T) {
	ctx := context.Background()
	c := app().Client()
	p, err := testAE.CreateProspect(ctx, map[string]any{"email": unique("crmfeed@example.com"), "lastName": "Feed", "company": "Acme", "userId": emulator.AEUserBob})
	if err != nil {
		t.Fatal(err)
	}
	startSync(t, workflows.SignalProspectChanged, p.ID)
	st := waitStatus(t, p.ID, func(st workflows.SyncStatus) bool {
		return st.State == prospect.StateSynced && st.OwnerID == emulator.UserBobID
	})

	if _, err := workflows.StartCrmChangeFeed(ctx, c, workflows.CrmChangeFeedInput{Cursor: time.Now().UTC(), Interval: time.Second}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.TerminateWorkflow(context.Background(), workflows.CrmChangeFeedWorkflowID, "", "test done"); err != nil {
			t.Errorf("stop the CRM feed: %v", err)
		}
	})

	changed := time.Now()
	if err := testSF.Update(ctx, prospect.TypeLead, st.CRMRecordID, map[string]any{"OwnerId": emulator.UserAliceID}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, p.ID, func(st workflows.SyncStatus) bool { return st.OwnerID == emulator.UserAliceID })
	t.Logf("owner changed in Salesforce → sync state in %s", time.Since(changed).Round(time.Millisecond))
	if got := prospectOf(t, p.ID); got.AssignedToID != emulator.AEUserAlice {
		t.Errorf("assignedToId = %d, want Alice's %d: the owner flows back", got.AssignedToID, emulator.AEUserAlice)
	}

	deleted := time.Now()
	if err := app().Emulator().DeleteRecord(ctx, st.CRMRecordID); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, p.ID, inState(prospect.StateCRMDeleted))
	t.Logf("Lead deleted in Salesforce → CrmDeleted in %s", time.Since(deleted).Round(time.Millisecond))
}

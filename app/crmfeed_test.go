//go:build !nodev

package app

import (
	"context"
	"fmt"
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

	// The sync's own write (a field changed in Account Engagement, written to the Lead) comes
	// back through the feed as a change by the integration user: passed over, nobody signalled.
	if _, err := testAE.UpdateProspect(ctx, p.ID, map[string]any{"lastName": "Feed Two"}); err != nil {
		t.Fatal(err)
	}
	startSync(t, workflows.SignalProspectChanged, p.ID)
	eventually(t, 60*time.Second, "the sync's own write passed over by the feed", func() error {
		if recs := leadsByEmail(t, p.Email); len(recs) != 1 || recs[0].String("LastName") != "Feed Two" {
			return fmt.Errorf("Lead %v, want LastName Feed Two", recs)
		}
		st, err := workflows.QueryCrmFeed(ctx, c)
		if err != nil || st.OwnWrites < 1 {
			return fmt.Errorf("feed status %+v, %v: want an own write", st, err)
		}
		if st.Changes != 0 || st.Signalled != 0 {
			return fmt.Errorf("feed status %+v: the own write was signalled", st)
		}
		return nil
	})

	// A person's change (Alice, through the API) is signalled.
	changed := time.Now()
	if err := testPerson.Update(ctx, prospect.TypeLead, st.CRMRecordID, map[string]any{"OwnerId": emulator.UserAliceID}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, p.ID, func(st workflows.SyncStatus) bool { return st.OwnerID == emulator.UserAliceID })
	t.Logf("owner changed in Salesforce → sync state in %s", time.Since(changed).Round(time.Millisecond))
	if st, err := workflows.QueryCrmFeed(ctx, c); err != nil || st.Changes < 1 || st.Signalled < 1 {
		t.Errorf("feed status %+v, %v: want Alice's change signalled", st, err)
	}
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

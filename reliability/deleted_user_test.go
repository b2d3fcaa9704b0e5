package reliability

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// A prospect's assigned user is deleted in Account Engagement (v5 users are read-only, so
// through the emulator's control): the user no longer maps to a Salesforce user, and the rule
// for an unmapped user applies: the Lead is created, owned by the integration user; no panic,
// no stuck sync, no error.
func TestDeletedAssignedUser(t *testing.T) {
	c := newCluster(t)
	c.startServices()
	ctx := context.Background()
	var ids []int64
	emails := map[int64]string{}
	for i := range 5 {
		email := fmt.Sprintf("deleted-user-%d-%d@example.com", time.Now().UnixNano()%1e6, i)
		p, err := c.ae.CreateProspect(ctx, map[string]any{"email": email, "lastName": "Orphan", "company": "Acme", "userId": emulator.AEUserAlice})
		if err != nil {
			t.Fatal(err)
		}
		ids, emails[p.ID] = append(ids, p.ID), email
	}
	c.control(http.MethodDelete, fmt.Sprintf("/users/%d", emulator.AEUserAlice), nil, nil)
	c.startWorker()
	ch := make(chan int64, len(ids))
	for _, id := range ids {
		ch <- id
	}
	close(ch)
	if f := workflows.SignalMany(ctx, c.tc, ch, workflows.SignalProspectChanged, nil, 8, nil); len(f) > 0 {
		t.Fatal(f[0].Err)
	}
	c.waitFor("all Synced", 2*time.Minute, func(ctx context.Context) (bool, error) {
		n, err := c.count(ctx, prospect.StateSynced)
		return n >= len(ids), err
	})
	for _, id := range ids {
		st, err := workflows.QueryStatus(ctx, c.tc, id)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := c.sf.Select(ctx, salesforce.Select{Object: prospect.TypeLead, Fields: []string{"Id", "OwnerId"},
			Where: []salesforce.Cond{salesforce.Eq("Email", emails[id])}})
		if err != nil {
			t.Fatal(err)
		}
		if st.State != prospect.StateSynced || st.LastError != nil || len(recs) != 1 || recs[0].String("Id") != st.CRMRecordID || recs[0].String("OwnerId") != emulator.IntegrationUserID {
			t.Errorf("prospect %d: status %+v, Leads %v: want Synced to one Lead owned by the integration user %s", id, st, recs, emulator.IntegrationUserID)
		}
	}
}

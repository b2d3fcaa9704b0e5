//go:build !nodev

package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/connect"
	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
	"github.com/prospect-sync/prospect-sync/workflows"
)

func TestCreateProspectsConfig(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want bool
		bad  bool
	}{{"", false, false}, {"true", true, false}, {"false", false, false}, {"maybe", false, true}} {
		cfg, err := LoadConfig(nil, func(k string) string {
			if k == "SYNC_CREATE_PROSPECTS" {
				return tc.env
			}
			return ""
		})
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), "SYNC_CREATE_PROSPECTS") {
				t.Errorf("SYNC_CREATE_PROSPECTS=%q: %v, want it refused", tc.env, err)
			}
			continue
		}
		if err != nil || cfg.Settings.CreateProspects != tc.want {
			t.Errorf("SYNC_CREATE_PROSPECTS=%q: %v, %v; want %v", tc.env, cfg.Settings.CreateProspects, err, tc.want)
		}
	}
}

// crmFeed is a Salesforce change feed run on a task queue of its own by a worker whose settings
// are the shared app's but for CreateProspects (the shared worker keeps the default, off). The
// syncs it starts or signals run on the shared worker, as they would from any worker's feed.
type crmFeed struct {
	c       client.Client
	id      string
	stopped bool
}

// stop ends the feed (its worker stays until the test ends).
func (f *crmFeed) stop(t *testing.T) {
	t.Helper()
	if err := f.c.TerminateWorkflow(context.Background(), f.id, "", "test done"); err != nil {
		t.Errorf("stop the feed: %v", err)
	}
	f.stopped = true
}

func startCrmFeed(t *testing.T, createProspects bool) *crmFeed {
	t.Helper()
	ctx := context.Background()
	copts := client.Options{HostPort: app().TemporalAddress, Namespace: workflows.Namespace, Logger: connect.Quiet}
	testCfg.Encryption.Apply(&copts) // payloads sealed as the shared worker's
	c, err := client.DialContext(ctx, copts)
	if err != nil {
		t.Fatal(err)
	}
	queue := fmt.Sprintf("crm-feed-create-%t-%d", createProspects, runSeq.Add(1))
	acts := activities.New(testSF, testAE, func(ctx context.Context, id int64, signal string, arg *workflows.ChangeRequest) error {
		_, err := workflows.SignalSync(ctx, c, id, signal, arg)
		return err
	})
	acts.Linked = func(ctx context.Context, ids []string) ([]int64, error) {
		return workflows.LinkedProspects(ctx, c, ids)
	}
	settings := testCfg.Settings
	settings.CreateProspects = createProspects
	w := worker.New(c, queue, worker.Options{})
	Register(w, acts, settings)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	f := &crmFeed{c: c, id: "crm-change-feed-" + queue}
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: f.id, TaskQueue: queue}, workflows.CrmChangeFeedWorkflow,
		workflows.CrmChangeFeedInput{Cursor: time.Now().UTC(), Interval: time.Second}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !f.stopped {
			f.stop(t)
		}
		w.Stop()
		c.Close()
	})
	return f
}

func (f *crmFeed) status(t *testing.T) workflows.CrmChangeFeedStatus {
	t.Helper()
	var st workflows.CrmChangeFeedStatus
	v, err := f.c.QueryWorkflow(context.Background(), f.id, "", workflows.QuerySyncState)
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil {
		t.Fatalf("query the feed: %v", err)
	}
	return st
}

// awaitPast waits until the feed has handled the records: its cursor at or past their
// SystemModstamp.
func (f *crmFeed) awaitPast(t *testing.T, ids ...string) workflows.CrmChangeFeedStatus {
	t.Helper()
	recs, err := testSF.Query(context.Background(), "SELECT Id, SystemModstamp FROM Lead WHERE Id IN ('"+strings.Join(ids, "','")+"')")
	if err != nil || len(recs) != len(ids) {
		t.Fatalf("read the Leads' stamps: %v, %v", recs, err)
	}
	var newest time.Time
	for _, r := range recs {
		if s := r.Time("SystemModstamp"); s.After(newest) {
			newest = s
		}
	}
	var st workflows.CrmChangeFeedStatus
	eventually(t, 60*time.Second, "the feed past the new Leads", func() error {
		if st = f.status(t); st.Cursor.Before(newest) || st.LastError != "" {
			return fmt.Errorf("feed %+v, want its cursor at %v", st, newest)
		}
		return nil
	})
	return st
}

// prospectsWith lists the prospects with an email, deleted ones too.
func prospectsWith(t *testing.T, email string) []engagement.Prospect {
	t.Helper()
	page, err := testAE.QueryProspects(context.Background(), engagement.ProspectQuery{Email: email, IncludeDeleted: true})
	if err != nil {
		t.Fatal(err)
	}
	return page.Prospects
}

// personLead creates a Lead as Alice, a person.
func personLead(t *testing.T, fields map[string]any) string {
	t.Helper()
	id, err := testPerson.Create(context.Background(), prospect.TypeLead, fields)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// SYNC_CREATE_PROSPECTS, as the connector's "Automatically create prospects": off (the default),
// a Lead a person creates makes no prospect; on, it becomes a prospect assigned to the Lead
// owner's Account Engagement user, whose sync is Synced with exactly that Lead at once (handed
// it: no read, no lookup of its own). A Lead the integration creates, one whose email a prospect
// has already, and one created before the feed's cursor (not retroactive) make none.
func TestCreateProspectsFromSalesforce(t *testing.T) {
	ctx := context.Background()

	off := startCrmFeed(t, false)
	offEmail := unique("create.off@example.com")
	offLead := personLead(t, map[string]any{"Email": offEmail, "LastName": "Off", "Company": "Acme", "OwnerId": emulator.UserBobID})
	if st := off.awaitPast(t, offLead); st.Changes < 1 || st.ProspectsCreated != 0 {
		t.Errorf("option off: feed %+v, want the change seen and no prospect created", st)
	}
	if ps := prospectsWith(t, offEmail); len(ps) != 0 {
		t.Fatalf("option off: prospects %+v for a person's new Lead, want none", ps)
	}
	off.stop(t)

	// A prospect that has its email before the Lead is made, in an earlier second (Account
	// Engagement keeps whole seconds).
	hadEmail := unique("create.had@example.com")
	had, err := testAE.CreateProspect(ctx, map[string]any{"email": hadEmail, "lastName": "Had", "company": "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))

	on := startCrmFeed(t, true)
	newEmail := unique("create.new@example.com")
	started := time.Now()
	newLead := personLead(t, map[string]any{"Email": newEmail, "FirstName": "Nora", "LastName": "New", "Company": "Acme", "OwnerId": emulator.UserBobID})
	ownEmail := unique("create.own@example.com")
	ownLead, err := testSF.Create(ctx, prospect.TypeLead, map[string]any{"Email": ownEmail, "LastName": "Own", "Company": "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	hadLead := personLead(t, map[string]any{"Email": hadEmail, "LastName": "Had Lead", "Company": "Other", "OwnerId": emulator.UserBobID})
	// Created before this feed's cursor, changed after it: not retroactive.
	if err := testPerson.Update(ctx, prospect.TypeLead, offLead, map[string]any{"Title": "CTO"}); err != nil {
		t.Fatal(err)
	}
	st := on.awaitPast(t, newLead, ownLead, hadLead, offLead)
	if st.ProspectsCreated != 1 {
		t.Errorf("feed %+v: want exactly one prospect created", st)
	}

	ps := prospectsWith(t, newEmail)
	if len(ps) != 1 {
		t.Fatalf("prospects %+v for the person's new Lead, want one", ps)
	}
	p := ps[0]
	if p.AssignedToID != emulator.AEUserBob || p.FirstName != "Nora" || p.LastName != "New" || p.Company != "Acme" || p.IsDeleted {
		t.Errorf("new prospect %+v: want the Lead's names and company, assigned to Bob's Account Engagement user", p)
	}
	sync := waitStatus(t, p.ID, func(st workflows.SyncStatus) bool { return st.State == prospect.StateSynced })
	t.Logf("Lead created by a person → prospect Synced with it in %s", time.Since(started).Round(time.Millisecond))
	if sync.CRMRecordType != prospect.TypeLead || !salesforce.SameID(sync.CRMRecordID, newLead) || sync.OwnerID != emulator.UserBobID {
		t.Errorf("sync %+v: want Synced with Lead %s owned by Bob", sync, newLead)
	}
	if leads := leadsByEmail(t, newEmail); len(leads) != 1 || !salesforce.SameID(leads[0].String("Id"), newLead) {
		t.Errorf("Leads with the email %v, want only %s", leads, newLead)
	}
	acts := activityTypes(history(t, workflows.ProspectWorkflowID(p.ID)))
	if slices.Contains(acts, "FetchProspect") || slices.Contains(acts, "FindMatches") {
		t.Errorf("the new prospect's sync ran %v: want the prospect and the Lead handed over", acts)
	}
	t.Logf("the new prospect's sync ran the activities %v", acts)

	if ps := prospectsWith(t, ownEmail); len(ps) != 0 {
		t.Errorf("prospects %+v for a Lead the integration created, want none", ps)
	}
	if ps := prospectsWith(t, offEmail); len(ps) != 0 {
		t.Errorf("prospects %+v for a Lead created before the feed's cursor, want none", ps)
	}
	if ps := prospectsWith(t, hadEmail); len(ps) != 1 || ps[0].ID != had.ID || ps[0].LastName != "Had" || ps[0].Company != "Acme" ||
		!ps[0].UpdatedAt.Equal(had.UpdatedAt) || ps[0].AssignedToID != 0 {
		t.Errorf("prospects with the email a prospect had %+v, want only that one, untouched (%+v)", ps, had)
	}
}

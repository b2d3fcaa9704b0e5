package reliability

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/internal/sftest"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// edit is what the people of the org do to one synced prospect's Lead.
type edit int

const (
	editEmail   edit = iota // a person fixes the Lead's email: the prospect's email follows
	editMerge               // a person merges the Lead into another: relinked to the survivor
	editRestore             // a person deletes the Lead, then restores it: relinked
	editNone                // nobody touches it
)

func (e edit) String() string {
	return [...]string{"email edited", "merged", "deleted and restored", "untouched"}[e]
}

// edited is one prospect of the scenario and where it must end.
type edited struct {
	id      int64
	edit    edit
	email   string // the prospect's email at the start
	lead    string // its Lead at the start
	final   string // the email the prospect and its record end with
	endLead string // the record it ends linked to
}

// People edit emails, merge Leads and delete and restore some, in Salesforce, while both
// services fail now and then and a worker is killed: the Salesforce change feed brings every
// edit to its sync, and each ends linked to the right record, with the right email, exactly
// one Lead per email and never a record created for an edit.
func TestPeopleEditBothSides(t *testing.T) {
	n := runSize().prospects / 2
	c := newCluster(t)
	c.workerEnv = []string{"SYNC_CRM_FEED_INTERVAL=2s", "SYNC_FEED_INTERVAL=2s"}
	c.startServices()
	ctx := context.Background()
	person, err := sftest.Person(c.emulatorURL())
	if err != nil {
		t.Fatal(err)
	}
	tag := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	ps := make([]edited, n)
	for i := range ps {
		p := &ps[i]
		p.edit = edit(i % 4)
		p.email = fmt.Sprintf("b%s-%d@example.com", tag, i)
		p.final = p.email
		created, err := c.ae.CreateProspect(ctx, map[string]any{"email": p.email, "lastName": fmt.Sprintf("Both %d", i), "company": "Both Inc", "userId": emulator.AEUserBob})
		if err != nil {
			t.Fatal(err)
		}
		p.id = created.ID
		if p.edit == editMerge {
			// The survivor, a Lead a person made before the faults begin (a lost response to a
			// person's create would make the person's own duplicate).
			p.final = fmt.Sprintf("w%s-%d@example.com", tag, i)
			if p.endLead, err = person.Create(ctx, prospect.TypeLead, map[string]any{"Email": p.final, "LastName": "Winner", "Company": "Both Inc", "OwnerId": emulator.UserBobID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.control(http.MethodPut, "/faults", faultMix, nil)
	c.startWorker()
	start := time.Now()
	ids := make(chan int64, n)
	for _, p := range ps {
		ids <- p.id
	}
	close(ids)
	if f := workflows.SignalMany(ctx, c.tc, ids, workflows.SignalProspectChanged, nil, 16, nil); len(f) > 0 {
		t.Fatalf("%d starts failed, first: %v", len(f), f[0].Err)
	}
	// Every one of ours Synced (a visibility count would also count the syncs the feeds start
	// for the emulator's own prospects).
	c.waitFor(fmt.Sprintf("%d prospects Synced", n), settleWithin(n), func(ctx context.Context) (bool, error) {
		for _, p := range ps {
			st, err := workflows.QueryStatus(ctx, c.tc, p.id)
			if err != nil || st.State != prospect.StateSynced || st.CRMRecordID == "" {
				return false, err
			}
		}
		return true, nil
	})
	for i := range ps {
		st, err := workflows.QueryStatus(ctx, c.tc, ps[i].id)
		if err != nil || st.CRMRecordID == "" {
			t.Fatalf("prospect %d: %+v, %v", ps[i].id, st, err)
		}
		ps[i].lead = st.CRMRecordID
		if ps[i].endLead == "" {
			ps[i].endLead = st.CRMRecordID
		}
	}

	// The people's edits, half before and half after a worker is killed.
	do := func(p *edited) {
		switch p.edit {
		case editEmail:
			p.final = strings.Replace(p.email, "@example.com", "@fixed.example.com", 1)
			retry(t, "edit an email", func() error {
				return person.Update(ctx, prospect.TypeLead, p.lead, map[string]any{"Email": p.final})
			})
		case editMerge:
			c.control(http.MethodPost, "/merge", emulator.MergeRequest{Object: prospect.TypeLead, MasterID: p.endLead, MergedIDs: []string{p.lead}}, nil)
		case editRestore:
			c.control(http.MethodDelete, "/records/"+p.lead, nil, nil)
		}
	}
	for i := range ps[:n/2] {
		do(&ps[i])
	}
	c.killWorker()
	for i := range ps[n/2:] {
		do(&ps[n/2+i])
	}
	// Restore once each deletion was seen (the sync flagged CrmDeleted): the restore must undo it.
	var restored []edited
	for _, p := range ps {
		if p.edit == editRestore {
			restored = append(restored, p)
		}
	}
	c.waitFor(fmt.Sprintf("%d deletions seen", len(restored)), settleWithin(n), func(ctx context.Context) (bool, error) {
		for _, p := range restored {
			if st, err := workflows.QueryStatus(ctx, c.tc, p.id); err != nil || st.State != prospect.StateCRMDeleted {
				return false, err
			}
		}
		return true, nil
	})
	for _, p := range restored {
		c.control(http.MethodPost, "/records/"+p.lead+"/undelete", nil, nil)
	}
	c.waitFor("every edit followed", settleWithin(n), func(ctx context.Context) (bool, error) {
		for _, p := range ps {
			st, err := workflows.QueryStatus(ctx, c.tc, p.id)
			if err != nil || st.State != prospect.StateSynced || st.CRMRecordID != p.endLead || st.Base == nil || !strings.EqualFold(st.Base.Email, p.final) {
				return false, err
			}
		}
		return true, nil
	})
	settle := time.Since(start)
	c.control(http.MethodPut, "/faults", map[string]any{}, nil) // the verdict's own reads see no faults
	c.report("people edit both sides", c.verifyEdited(ctx, ps), 1, settle, fmt.Sprintf("%d email edits, %d merges, %d deletes restored, faults on both services",
		count(ps, editEmail), count(ps, editMerge), count(ps, editRestore)))
}

func count(ps []edited, e edit) int {
	n := 0
	for _, p := range ps {
		if p.edit == e {
			n++
		}
	}
	return n
}

// verifyEdited checks every prospect: exactly one live Lead with its final email and none left
// with its first (unless unchanged), the sync linked to it, and Account Engagement's email.
func (c *cluster) verifyEdited(ctx context.Context, ps []edited) verdict {
	v := verdict{prospects: len(ps)}
	var emails []string
	for _, p := range ps {
		emails = append(emails, p.email, p.final)
	}
	leads := map[string][]string{}
	for start := 0; start < len(emails); start += 100 {
		recs, err := c.sf.Select(ctx, salesforce.Select{Object: prospect.TypeLead, Fields: []string{"Id", "Email"},
			Where: []salesforce.Cond{salesforce.In("Email", emails[start:min(start+100, len(emails))]...)}})
		if err != nil {
			c.t.Fatal(err)
		}
		for _, r := range recs {
			e := strings.ToLower(r.String("Email"))
			leads[e] = append(leads[e], r.String("Id"))
		}
	}
	for _, p := range ps {
		final, first := leads[strings.ToLower(p.final)], leads[strings.ToLower(p.email)]
		if len(final) > 1 || p.final != p.email && len(first) > 0 {
			v.duplicates++
			v.problems = append(v.problems, fmt.Sprintf("prospect %d (%v): Leads %v with %s and %v with %s", p.id, p.edit, final, p.final, first, p.email))
			continue
		}
		st, err := workflows.QueryStatus(ctx, c.tc, p.id)
		got, aeErr := c.ae.GetProspect(ctx, p.id)
		switch {
		case err != nil || aeErr != nil:
			v.lost++
			v.problems = append(v.problems, fmt.Sprintf("prospect %d: %v %v", p.id, err, aeErr))
		case len(final) != 1 || final[0] != p.endLead || st.CRMRecordID != p.endLead || st.State != prospect.StateSynced:
			v.lost++
			v.problems = append(v.problems, fmt.Sprintf("prospect %d (%v): %s linked %s, Leads %v, want Synced with %s", p.id, p.edit, st.State, st.CRMRecordID, final, p.endLead))
		case !strings.EqualFold(got.Email, p.final):
			v.lost++
			v.problems = append(v.problems, fmt.Sprintf("prospect %d (%v): email %s in Account Engagement, want %s", p.id, p.edit, got.Email, p.final))
		}
	}
	return v
}

// retry runs a person's API call until it goes through: the faults hit people's calls too.
func retry(t *testing.T, what string, f func() error) {
	t.Helper()
	var err error
	for range 20 {
		if err = f(); err == nil {
			return
		}
	}
	t.Fatalf("%s: %v", what, err)
}

package prospect

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"
)

// synced is a prospect linked to leadA with a base: both sides as synced, ann@example.com,
// Title "CTO" on both sides.
func synced(mut ...func(*Prospect)) Prospect {
	p := newProspect(assignedTo(alice), func(p *Prospect) {
		p.Email, p.JobTitle = "ann@example.com", "CTO"
		p.Link = Link{Type: TypeLead, ID: leadA, OwnerID: alice}
	})
	p.Link.Base = BaseOfRead(p, syncedLead(), DefaultSettings())
	for _, m := range mut {
		m(&p)
	}
	return p
}

func syncedLead(mut ...func(*Record)) Record {
	return lead(leadA, 0, append([]func(*Record){func(r *Record) { r.Fields["Title"] = "CTO" }}, mut...)...)
}

// Every cell of "changed in AE / in SF / both / neither" for the email, under each setting.
func TestDecideEmailEdits(t *testing.T) {
	unlink := DefaultSettings()
	unlink.SalesforceEmailChanges = EmailUnlink
	aeEdit := func(p *Prospect) { p.Email = "ann@new.example.com" }
	sfEdit := func(r *Record) { r.Email = "ann@fixed.example.com" }
	bMatch := lead(leadB, time.Hour, func(r *Record) { r.Email = "ann@new.example.com" })

	tests := []struct {
		name     string
		p        Prospect
		m        Matches
		s        Settings
		action   Action
		state    SyncState
		recordID string
		email    string // the prospect's email written to Account Engagement; "" for none
		code     string
		flag     string
	}{
		{name: "neither changed: in step", p: synced(), m: Matches{Linked: ptr(syncedLead())},
			s: DefaultSettings(), action: ActionLink, state: StateSynced, recordID: leadA},
		{name: "changed in Salesforce: the prospect follows, no create", p: synced(), m: Matches{Linked: ptr(syncedLead(sfEdit))},
			s: DefaultSettings(), action: ActionLink, state: StateSynced, recordID: leadA, email: "ann@fixed.example.com"},
		{name: "changed in Salesforce, only case and spaces: in step", p: synced(), m: Matches{Linked: ptr(syncedLead(func(r *Record) { r.Email = " ANN@example.com" }))},
			s: DefaultSettings(), action: ActionLink, state: StateSynced, recordID: leadA},
		{name: "changed in Salesforce, unlink: stops, never creates", p: synced(), m: Matches{Linked: ptr(syncedLead(sfEdit))},
			s: unlink, action: ActionStop, state: StateCRMDeleted, flag: FlagUnlinked},
		{name: "changed in Account Engagement: create for the new email", p: synced(aeEdit), m: Matches{Linked: ptr(syncedLead())},
			s: DefaultSettings(), action: ActionCreateLead, state: StateSynced},
		{name: "changed in Account Engagement: match the new email", p: synced(aeEdit), m: Matches{Linked: ptr(syncedLead()), Leads: []Record{bMatch}},
			s: DefaultSettings(), action: ActionLink, state: StateSynced, recordID: leadB},
		{name: "changed in Account Engagement, unlink changes nothing", p: synced(aeEdit), m: Matches{Linked: ptr(syncedLead()), Leads: []Record{bMatch}},
			s: unlink, action: ActionLink, state: StateSynced, recordID: leadB},
		{name: "changed on both sides: conflict, no write", p: synced(aeEdit), m: Matches{Linked: ptr(syncedLead(sfEdit))},
			s: DefaultSettings(), action: ActionError, state: StateSyncError, code: CodeEmailConflict},
		{name: "changed on both sides to the same address: in step", p: synced(func(p *Prospect) { p.Email = "ann@fixed.example.com" }),
			m: Matches{Linked: ptr(syncedLead(sfEdit))}, s: DefaultSettings(), action: ActionLink, state: StateSynced, recordID: leadA},
		{name: "base read when they already differed: conflict", p: synced(func(p *Prospect) { p.Link.Base.RecordEmail = "ann@fixed.example.com" }),
			m: Matches{Linked: ptr(syncedLead(sfEdit))}, s: DefaultSettings(), action: ActionError, state: StateSyncError, code: CodeEmailConflict},
		{name: "no base (recorded before bases): as before, the prospect's email is matched", p: synced(func(p *Prospect) { p.Link.Base = nil }),
			m: Matches{Linked: ptr(syncedLead(sfEdit))}, s: DefaultSettings(), action: ActionCreateLead, state: StateSynced},
		{name: "converted, Contact with another email changed in Salesforce: follows the Contact",
			p: synced(), m: Matches{Linked: ptr(syncedLead(func(r *Record) { r.IsConverted, r.ConvertedContactID = true, contact })),
				Contacts: []Record{func() Record { c := contactRec(contact, 0); c.Email = "ann@corp.example.com"; return c }()}},
			s: DefaultSettings(), action: ActionLink, state: StateSynced, recordID: contact, email: "ann@corp.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.p, &tt.m, tt.s)
			if d.Action != tt.action || d.State != tt.state {
				t.Fatalf("Decide = %s/%s (%s), want %s/%s", d.Action, d.State, d.Reason, tt.action, tt.state)
			}
			if tt.recordID != "" && (d.Record == nil || d.Record.ID != tt.recordID) {
				t.Errorf("linked %+v, want %s", d.Record, tt.recordID)
			}
			if got := d.ProspectUpdates["email"]; got != tt.email {
				t.Errorf("prospect email written = %q, want %q", got, tt.email)
			}
			if tt.code != "" && (d.Error == nil || d.Error.Code != tt.code) {
				t.Errorf("error = %+v, want %s", d.Error, tt.code)
			}
			if tt.code == CodeEmailConflict && (!strings.Contains(d.Reason, "ann@fixed.example.com") || d.RecordUpdates != nil || d.ProspectUpdates != nil) {
				t.Errorf("conflict %q: want both addresses named and no write", d.Reason)
			}
			if d.Flag != tt.flag {
				t.Errorf("flag = %q, want %q", d.Flag, tt.flag)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// Merges and restores in Salesforce.
func TestDecideMergesAndRestores(t *testing.T) {
	winner := lead(leadB, time.Hour, func(r *Record) { r.Email = "ann@winner.example.com"; r.OwnerID = bob })
	t.Run("merged away: relinked to the survivor, its email followed", func(t *testing.T) {
		d := Decide(synced(), &Matches{LinkedGone: true, MergedInto: &winner}, DefaultSettings())
		if d.Action != ActionLink || d.Record.ID != leadB || d.ProspectUpdates["email"] != "ann@winner.example.com" || d.AssignOwner != bob {
			t.Fatalf("Decide = %s %+v %v owner %q (%s)", d.Action, d.Record, d.ProspectUpdates, d.AssignOwner, d.Reason)
		}
	})
	t.Run("merged away, survivor keeps our email: only repointed", func(t *testing.T) {
		w := winner
		w.Email = "ANN@example.com"
		d := Decide(synced(), &Matches{LinkedGone: true, MergedInto: &w}, DefaultSettings())
		if d.Action != ActionLink || d.Record.ID != leadB || d.ProspectUpdates["email"] != "" {
			t.Fatalf("Decide = %s %+v %v", d.Action, d.Record, d.ProspectUpdates)
		}
	})
	t.Run("merged into a record another prospect syncs with: stops", func(t *testing.T) {
		d := Decide(synced(), &Matches{LinkedGone: true, MergedInto: &winner, SurvivorSyncedBy: 42}, DefaultSettings())
		if d.Action != ActionStop || d.State != StateCRMDeleted || d.Flag != FlagMerged || !strings.Contains(d.Reason, "prospect 42") {
			t.Fatalf("Decide = %s/%s %q %q", d.Action, d.State, d.Flag, d.Reason)
		}
	})
	t.Run("deleted outright: flagged", func(t *testing.T) {
		if d := Decide(synced(), &Matches{LinkedGone: true}, DefaultSettings()); d.Action != ActionMarkDeleted {
			t.Fatalf("Decide = %s", d.Action)
		}
	})
	deleted := synced(func(p *Prospect) { p.Link.Deleted, p.Link.Flag = true, FlagDeleted })
	t.Run("restored: relinked", func(t *testing.T) {
		d := Decide(deleted, &Matches{Linked: ptr(syncedLead())}, DefaultSettings())
		if d.Action != ActionLink || d.Record.ID != leadA || d.State != StateSynced {
			t.Fatalf("Decide = %s/%s %+v", d.Action, d.State, d.Record)
		}
	})
	t.Run("deleted, not looked up: stays flagged", func(t *testing.T) {
		if d := Decide(deleted, nil, DefaultSettings()); d.Action != ActionNone || d.State != StateCRMDeleted {
			t.Fatalf("Decide = %s/%s", d.Action, d.State)
		}
	})
	t.Run("deleted, still gone: stays flagged", func(t *testing.T) {
		if d := Decide(deleted, &Matches{LinkedGone: true}, DefaultSettings()); d.Action != ActionNone {
			t.Fatalf("Decide = %s", d.Action)
		}
	})
	for _, flag := range []string{FlagEmailTaken, FlagUnlinked, FlagMerged} {
		t.Run("a "+flag+" stop is not undone by a live record", func(t *testing.T) {
			p := synced(func(p *Prospect) { p.Link.Deleted, p.Link.Flag = true, flag })
			if d := Decide(p, &Matches{Linked: ptr(syncedLead())}, DefaultSettings()); d.Action != ActionNone || d.State != StateCRMDeleted {
				t.Fatalf("Decide = %s/%s", d.Action, d.State)
			}
		})
	}
}

// Every cell of "changed in AE / in SF / both / neither" for a mapped field, under each
// behaviour; a non-empty value beats an empty one in all of them.
func TestFieldBehaviours(t *testing.T) {
	const base, aeNew, sfNew = "CTO", "CEO", "VP"
	aeLater, sfLater := t0.Add(2*time.Hour), t0.Add(time.Hour)
	type cell struct{ ae, sf string }
	cells := map[string]cell{
		"neither": {base, base}, "ae": {aeNew, base}, "sf": {base, sfNew}, "both": {aeNew, sfNew},
		"ae emptied": {"", base}, "sf emptied": {base, ""},
	}
	want := map[string]map[string]string{ // behaviour → cell → the value both sides end with
		MasterEngagement: {"neither": base, "ae": aeNew, "sf": base, "both": aeNew, "ae emptied": base, "sf emptied": base},
		MasterSalesforce: {"neither": base, "ae": base, "sf": sfNew, "both": sfNew, "ae emptied": base, "sf emptied": base},
		MasterRecent:     {"neither": base, "ae": aeNew, "sf": sfNew, "both": aeNew, "ae emptied": base, "sf emptied": base},
	}
	for _, master := range []string{MasterEngagement, MasterSalesforce, MasterRecent} {
		for name, c := range cells {
			t.Run(master+"/"+name, func(t *testing.T) {
				s := DefaultSettings()
				s.FieldMapping = []FieldMapping{{Engagement: "jobTitle", Salesforce: "Title", Master: master}}
				p := synced(func(p *Prospect) { p.JobTitle, p.UpdatedAt = c.ae, aeLater })
				p.Link.Base = BaseOfRead(synced(), syncedLead(), s)
				rec := syncedLead(func(r *Record) { r.Fields["Title"], r.LastModified = c.sf, sfLater })
				d := Decide(p, &Matches{Linked: &rec}, s)
				if d.Action != ActionLink {
					t.Fatalf("Decide = %s (%s)", d.Action, d.Reason)
				}
				gotAE, gotSF := c.ae, c.sf
				if v, ok := d.ProspectUpdates["jobTitle"]; ok {
					gotAE = v
				}
				if v, ok := d.RecordUpdates["Title"]; ok {
					gotSF = v
				}
				w := want[master][name]
				if gotAE != w || gotSF != w {
					t.Errorf("ends AE %q SF %q, want %q on both", gotAE, gotSF, w)
				}
				if (c.ae != c.sf) != (len(d.Fields) == 1) {
					t.Errorf("field notes %v for values %q/%q", d.Fields, c.ae, c.sf)
				}
			})
		}
	}
	// Both changed under :recent: the later side wins, whichever it is, and the note says why.
	s := DefaultSettings()
	s.FieldMapping = []FieldMapping{{Engagement: "jobTitle", Salesforce: "Title", Master: MasterRecent}}
	p := synced(func(p *Prospect) { p.JobTitle, p.UpdatedAt = aeNew, sfLater })
	p.Link.Base = BaseOfRead(synced(), syncedLead(), s)
	rec := syncedLead(func(r *Record) { r.Fields["Title"], r.LastModified = sfNew, aeLater })
	d := Decide(p, &Matches{Linked: &rec}, s)
	if d.ProspectUpdates["jobTitle"] != sfNew || len(d.Fields) != 1 || d.Fields[0].Winner != MasterSalesforce || !strings.Contains(d.Fields[0].Why, "LastModifiedDate") {
		t.Errorf("Salesforce modified later: %v %+v", d.ProspectUpdates, d.Fields)
	}
}

// Both sides changed under :recent: Salesforce's field history, when the lookup read it, says
// when the field itself changed and decides against Account Engagement's updatedAt; without it
// the record's LastModifiedDate does. The note says which decided.
func TestRecentUsesFieldHistory(t *testing.T) {
	s := DefaultSettings()
	s.FieldMapping = []FieldMapping{{Engagement: "jobTitle", Salesforce: "Title", Master: MasterRecent}}
	aeAt := t0.Add(2 * time.Hour)
	tests := []struct {
		name     string
		modified time.Time            // the record's LastModifiedDate
		changed  map[string]time.Time // Record.FieldChanged
		winner   string
		why      string
		notInWhy string
	}{
		{name: "no history, record modified later: LastModifiedDate decides", modified: aeAt.Add(time.Hour),
			winner: MasterSalesforce, why: "Salesforce's LastModifiedDate " + aeAt.Add(time.Hour).Format(time.RFC3339)},
		{name: "no history, record modified earlier: LastModifiedDate decides", modified: aeAt.Add(-time.Hour),
			winner: MasterEngagement, why: "is not before Salesforce's LastModifiedDate"},
		{name: "history later than Account Engagement: Salesforce", modified: aeAt.Add(time.Hour),
			changed: map[string]time.Time{"Title": aeAt.Add(30 * time.Minute)}, winner: MasterSalesforce,
			why:      "Salesforce's field history has Title changed at " + aeAt.Add(30*time.Minute).Format(time.RFC3339) + ", after Account Engagement's updatedAt " + aeAt.Format(time.RFC3339),
			notInWhy: "LastModifiedDate"},
		{name: "history earlier than Account Engagement, record modified later: history decides", modified: aeAt.Add(time.Hour),
			changed: map[string]time.Time{"Title": aeAt.Add(-time.Hour)}, winner: MasterEngagement,
			why:      "Account Engagement's updatedAt " + aeAt.Format(time.RFC3339) + " is not before Salesforce's field history, which has Title changed at " + aeAt.Add(-time.Hour).Format(time.RFC3339),
			notInWhy: "LastModifiedDate"},
		{name: "history at the same second as Account Engagement: Account Engagement", modified: aeAt.Add(time.Hour),
			changed: map[string]time.Time{"Title": aeAt}, winner: MasterEngagement, why: "field history"},
		{name: "history of another field only: LastModifiedDate decides", modified: aeAt.Add(time.Hour),
			changed: map[string]time.Time{"Phone": aeAt.Add(-time.Hour)}, winner: MasterSalesforce, why: "LastModifiedDate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := synced(func(p *Prospect) { p.JobTitle, p.UpdatedAt = "CEO", aeAt })
			p.Link.Base = BaseOfRead(synced(), syncedLead(), s)
			rec := syncedLead(func(r *Record) { r.Fields["Title"], r.LastModified, r.FieldChanged = "VP", tt.modified, tt.changed })
			d := Decide(p, &Matches{Linked: &rec}, s)
			if d.Action != ActionLink || len(d.Fields) != 1 {
				t.Fatalf("Decide = %s %+v (%s)", d.Action, d.Fields, d.Reason)
			}
			n := d.Fields[0]
			if n.Winner != tt.winner || !strings.Contains(n.Why, tt.why) || (tt.notInWhy != "" && strings.Contains(n.Why, tt.notInWhy)) {
				t.Errorf("note %+v, want %s's value because %q", n, tt.winner, tt.why)
			}
			wantAE, wantSF := "CEO", "CEO"
			if tt.winner == MasterSalesforce {
				wantAE, wantSF = "VP", "VP"
			}
			if got, ok := d.ProspectUpdates["jobTitle"]; ok != (tt.winner == MasterSalesforce) || (ok && got != wantAE) {
				t.Errorf("prospect updates %v", d.ProspectUpdates)
			}
			if got, ok := d.RecordUpdates["Title"]; ok != (tt.winner == MasterEngagement) || (ok && got != wantSF) {
				t.Errorf("record updates %v", d.RecordUpdates)
			}
		})
	}
	// Changed on one side only, the history changes nothing.
	p := synced(func(p *Prospect) { p.UpdatedAt = aeAt })
	p.Link.Base = BaseOfRead(synced(), syncedLead(), s)
	rec := syncedLead(func(r *Record) {
		r.Fields["Title"], r.LastModified, r.FieldChanged = "VP", aeAt.Add(-time.Hour), map[string]time.Time{"Title": aeAt.Add(-time.Hour)}
	})
	if d := Decide(p, &Matches{Linked: &rec}, s); len(d.Fields) != 1 || d.Fields[0].Winner != MasterSalesforce || d.Fields[0].Why != "changed in Salesforce only" {
		t.Errorf("changed in Salesforce only, with history: %+v", d.Fields)
	}
}

func TestBaseAfter(t *testing.T) {
	s := DefaultSettings()
	p := newProspect(func(p *Prospect) { p.JobTitle = "" })
	rec := lead(leadA, 0, func(r *Record) { r.Fields["Title"] = "CTO"; r.Email = "ANN@example.com" })
	b := BaseAfter(p, rec, map[string]string{"FirstName": "Annie"}, map[string]string{"jobTitle": "CTO", "email": "ann@x.example.com"}, s)
	if b.Email != "ann@x.example.com" || b.RecordEmail != "ANN@example.com" || b.Engagement["jobTitle"] != "CTO" || b.Salesforce["FirstName"] != "Annie" {
		t.Errorf("BaseAfter = %+v", b)
	}
	if _, ok := b.Salesforce["Company"]; !ok || !maps.Equal(b.Engagement, map[string]string{"firstName": "Ann", "lastName": "Lee", "company": "Acme", "jobTitle": "CTO", "phone": ""}) {
		t.Errorf("BaseAfter fields = %v / %v", b.Engagement, b.Salesforce)
	}
	if fmt.Sprint(FieldNote{Field: "jobTitle/Title", Winner: MasterSalesforce}) == "" {
		t.Error("empty note")
	}
}

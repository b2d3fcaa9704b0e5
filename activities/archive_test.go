package activities

import (
	"context"
	"testing"

	"github.com/prospect-sync/prospect-sync/internal/httperror"
)

// Archive and unarchive against the emulator: the prospect goes to the recycle bin and comes
// back with its id; each is safe to retry; a pause holds both without a call.
func TestArchiveAndUnarchive(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p, err := f.acts.AE.CreateProspect(ctx, map[string]any{"email": "archived@example.com", "lastName": "A"})
	if err != nil {
		t.Fatal(err)
	}
	in := ArchiveInput{ProspectID: p.ID, Email: p.Email}
	for range 2 { // the retry finds it archived already
		if _, err := f.acts.ArchiveProspect(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.acts.AE.GetProspect(ctx, p.ID); httperror.KindOf(err) != httperror.Gone {
		t.Fatalf("archived prospect read: %v, want gone (in the recycle bin)", err)
	}
	for range 2 { // the retry finds it back already
		back, err := f.acts.UnarchiveProspect(ctx, in)
		if err != nil || back.Prospect.ID != p.ID || back.Prospect.Deleted {
			t.Fatalf("unarchive: %+v, %v", back, err)
		}
	}
	f.acts.Paused = func() *Pause { return &Pause{By: "test", Reason: "held"} }
	f.emu.ResetCounters()
	if res, err := f.acts.ArchiveProspect(ctx, in); err != nil || res.Held == nil {
		t.Fatalf("paused archive: %+v, %v: want held", res, err)
	}
	if n := f.emu.Counters().Engagement.Total; n != 0 {
		t.Errorf("a held archive made %d calls", n)
	}
}

//go:build !nodev

package app

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// get reads a URL of the worker's listener.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// pauseSync pauses the whole sync and waits until the shared worker holds its writes; the
// test's cleanup resumes it.
func pauseSync(t *testing.T, reason string) {
	t.Helper()
	ctx := context.Background()
	if err := workflows.Pause(ctx, app().Client(), workflows.PauseRequest{By: "e2e", Reason: reason}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resumeSync(t) })
	eventually(t, 30*time.Second, "the worker holds its writes", func() error {
		if !app().Paused() {
			return errNotYet
		}
		return nil
	})
}

func resumeSync(t *testing.T) {
	t.Helper()
	if err := workflows.Resume(context.Background(), app().Client(), workflows.PauseRequest{By: "e2e"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the worker writes again", func() error {
		if app().Paused() {
			return errNotYet
		}
		return nil
	})
}

// While paused, a sync that reaches a write waits at that step, its state unchanged, saying
// why; `starter sync` still queues work; on resume it goes on and creates exactly one Lead.
func TestPauseHoldsWritesUntilResume(t *testing.T) {
	ctx := context.Background()
	email := unique("paused@example.com")
	p, err := testAE.CreateProspect(ctx, map[string]any{"email": email, "lastName": "Paused", "company": "Acme", "userId": emulator.AEUserBob})
	if err != nil {
		t.Fatal(err)
	}
	pauseSync(t, "a data migration")
	st, err := workflows.Control(ctx, app().Client())
	if err != nil || !st.Paused || st.By != "e2e" || st.Reason != "a data migration" || st.Since.IsZero() {
		t.Fatalf("control %+v, %v", st, err)
	}
	// A pause is no fault: the worker stays ready, and its metric says it is paused.
	base := "http://" + app().HTTPAddress
	if code, _ := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz while paused: %d, want 200", code)
	}
	if _, body := get(t, base+"/metrics"); !strings.Contains(body, "\nprospect_sync_paused 1\n") {
		t.Errorf("/metrics while paused lacks prospect_sync_paused 1")
	}
	startSync(t, workflows.SignalProspectChanged, p.ID)
	held := waitStatus(t, p.ID, func(s workflows.SyncStatus) bool { return s.Paused != "" })
	if held.State != prospect.StateEvaluating || !strings.Contains(held.Paused, "Paused since") || !strings.Contains(held.Paused, "by e2e: a data migration") {
		t.Errorf("held sync %+v: want Evaluating, held with the pause's who and why", held)
	}
	wantLeads(t, email, 0)
	if d := details(t, p.ID); !strings.Contains(d, "Paused since") {
		t.Errorf("UI details %q: want the pause shown", d)
	}
	resumeSync(t)
	done := waitStatus(t, p.ID, inState(prospect.StateSynced))
	if done.Paused != "" {
		t.Errorf("still shows %q after resume", done.Paused)
	}
	wantLeads(t, email, 1)
	if _, body := get(t, base+"/metrics"); !strings.Contains(body, "\nprospect_sync_paused 0\n") {
		t.Errorf("/metrics after the resume lacks prospect_sync_paused 0")
	}
	if st, _ := workflows.Control(ctx, app().Client()); st.Paused || len(st.Log) < 2 {
		t.Errorf("control after resume %+v: want running, with the pause and the resume logged", st)
	}
}

// PROSPECT_SYNC_START_PAUSED starts a deployment paused only if it never had a pause state: a
// worker restarting after a resume does not pause it again.
func TestStartPausedOnlyOnce(t *testing.T) {
	ctx := context.Background()
	c := app().Client()
	if err := workflows.Resume(ctx, c, workflows.PauseRequest{By: "e2e"}); err != nil {
		t.Fatal(err)
	}
	started, err := workflows.StartPaused(ctx, c, workflows.PauseRequest{By: "PROSPECT_SYNC_START_PAUSED"})
	if err != nil || started {
		t.Fatalf("StartPaused with a control running: started %v, %v; want left alone", started, err)
	}
	if st, err := workflows.Control(ctx, c); err != nil || st.Paused {
		t.Fatalf("control %+v, %v: want still running", st, err)
	}
}

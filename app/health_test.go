//go:build !nodev

package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prospect-sync/prospect-sync/connect"
	"github.com/prospect-sync/prospect-sync/emulator"
	"github.com/prospect-sync/prospect-sync/health"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// The health report against the syncs the suite made: its counts equal what visibility counts
// on its own, errors are grouped by code with a sample message and the command that retries
// them, the oldest waiting prospect is the one that started first, and the export lists every
// failing prospect.
func TestHealthReport(t *testing.T) {
	ctx := context.Background()
	var bad []int64
	for i := range 3 {
		p, err := testAE.CreateProspect(ctx, map[string]any{"email": strings.Replace(unique(fmt.Sprintf("health.%d@example.com", i)), "@", ",x@", 1),
			"lastName": "Health", "company": "Acme", "userId": emulator.AEUserBob})
		if err != nil {
			t.Fatal(err)
		}
		bad = append(bad, p.ID)
	}
	waiting, err := testAE.CreateProspect(ctx, map[string]any{"email": unique("health.wait@example.com"), "lastName": "Health", "company": "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	startSync(t, workflows.SignalProspectChanged, append(bad, waiting.ID)...)
	for _, id := range bad {
		waitStatus(t, id, inState(prospect.StateSyncError))
	}
	waitStatus(t, waiting.ID, inState(prospect.StateWaitingForAssignment))
	sf, ae, err := connect.ServicesFromEnv(func(string) string { return "" }).Clients(app().EmulatorURL)
	if err != nil {
		t.Fatal(err)
	}
	r := health.Reporter{Temporal: app().Client(), SF: sf, AE: ae, SFReserve: 0.1, AEReserve: 0.1}
	c := app().Client()
	var rep health.Report
	eventually(t, 30*time.Second, "the report matches visibility's own counts", func() error {
		if rep, err = r.Report(ctx); err != nil {
			return err
		}
		for _, st := range prospect.States {
			n, err := workflows.Count(ctx, c, workflows.StateQuery(st))
			if err != nil || n != rep.States[st] {
				return fmt.Errorf("%s: report %d, visibility %d (%v)", st, rep.States[st], n, err)
			}
		}
		i := slices.IndexFunc(rep.Errors, func(g health.ErrorGroup) bool { return g.Code == prospect.CodeInvalidEmail })
		if i < 0 {
			return fmt.Errorf("no %s group in %+v", prospect.CodeInvalidEmail, rep.Errors)
		}
		n, err := workflows.Count(ctx, c, workflows.Filter{State: prospect.StateSyncError, ErrorCode: prospect.CodeInvalidEmail}.Query())
		if g := rep.Errors[i]; err != nil || int64(g.Count) != n || g.Count < 3 {
			return fmt.Errorf("group %+v, visibility counts %d (%v)", g, n, err)
		}
		return nil
	})
	g := rep.Errors[slices.IndexFunc(rep.Errors, func(g health.ErrorGroup) bool { return g.Code == prospect.CodeInvalidEmail })]
	if g.SampleProspect == 0 || !strings.Contains(g.SampleMessage, "not a valid address") || g.Newest.IsZero() ||
		g.Retry != "starter sync --state SyncError --code INVALID_EMAIL" {
		t.Errorf("group %+v: want a sample with its message, the newest time and the retry command", g)
	}
	if rep.States[prospect.StateWaitingForAssignment] > 0 {
		var first workflows.Listed
		err := workflows.ListQuery(ctx, c, workflows.StateQuery(prospect.StateWaitingForAssignment)+" AND ExecutionStatus = 'Running'", func(l workflows.Listed) bool {
			if first.ProspectID == "" || l.Started.Before(first.Started) {
				first = l
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if o := rep.OldestWaiting; o == nil || fmt.Sprint(o.ProspectID) != first.ProspectID {
			t.Errorf("oldest waiting %+v, want prospect %s (started %s)", o, first.ProspectID, first.Started)
		}
	}
	if len(rep.Usage) != 2 || rep.Usage[0].Limit == 0 || rep.Usage[1].Limit == 0 {
		t.Errorf("usage %+v: want both APIs' allocations", rep.Usage)
	}
	if len(rep.Feeds) != 2 {
		t.Errorf("feeds %+v", rep.Feeds)
	}
	failing, err := r.Failures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range bad {
		i := slices.IndexFunc(failing, func(f health.Failing) bool { return f.ProspectID == id })
		if i < 0 || failing[i].Code != prospect.CodeInvalidEmail || failing[i].Message == "" || failing[i].Since.IsZero() {
			t.Errorf("export: prospect %d as %+v, want its code, message and since", id, failing)
		}
	}
	t.Logf("health report in %s (%v): %d states, %d error groups", rep.Took, rep.Parts, len(rep.States), len(rep.Errors))
}

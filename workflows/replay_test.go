package workflows

import (
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistories replays histories recorded from real runs (embedded server +
// emulator) of all three workflows against the current workflow code: a change that would
// break running workflows (a reordered or removed activity, timer or side effect) fails here.
// Record new fixtures with
// RECORD_HISTORIES=$PWD/workflows/testdata/histories go test ./app/ -run TestRecordHistories.
// The v0-* … v3-* fixtures were recorded by older code and are kept as they are (v3: before
// the sync kept its base, sync-base).
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/histories/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/histories")
	}
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(ProspectSync, workflow.RegisterOptions{Name: ProspectSyncWorkflow})
	r.RegisterWorkflowWithOptions(ChangeFeed, workflow.RegisterOptions{Name: ChangeFeedWorkflow})
	r.RegisterWorkflowWithOptions(CrmChangeFeed, workflow.RegisterOptions{Name: CrmChangeFeedWorkflow})
	r.RegisterWorkflowWithOptions(SyncControl, workflow.RegisterOptions{Name: SyncControlWorkflow})
	ran := map[string]map[string]bool{} // workflow type → activity types its fixtures ran
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			h, err := client.HistoryFromJSON(b, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatalf("read %s: %v", f, err)
			}
			typ := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
			if ran[typ] == nil {
				ran[typ] = map[string]bool{}
			}
			for _, e := range h.GetEvents() {
				if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
					ran[typ][a.GetActivityType().GetName()] = true
				}
			}
			if err := r.ReplayWorkflowHistory(nil, h); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
	if _, err := os.Stat("testdata/histories/control.json"); err != nil {
		t.Errorf("no recorded %s history: %v", SyncControlWorkflow, err)
	}
	// The fixtures must go on covering every workflow, and both sides of feed-page-handoff: runs
	// from before it (PollChanges, SignalProspects) and after (FeedPage).
	for typ, acts := range map[string][]string{
		ProspectSyncWorkflow:  {"FetchProspect", "FindMatches", "WriteBack", "SignalProspects"},
		ChangeFeedWorkflow:    {"PollChanges", "SignalProspects", "FeedPage"},
		CrmChangeFeedWorkflow: {"PollCRMChanges", "SignalLinked"},
	} {
		for _, a := range acts {
			if !ran[typ][a] {
				t.Errorf("no recorded %s history runs %s", typ, a)
			}
		}
	}
}

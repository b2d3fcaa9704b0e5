package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistories replays histories recorded from real runs (embedded server +
// emulator) against the current workflow code: a change that would break running workflows
// (a reordered or removed activity, timer or side effect) fails here. Record new fixtures with
// RECORD_HISTORIES=$PWD/workflows/testdata/histories go test ./app/ -run TestRecordHistories.
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
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/prospect-sync/prospect-sync/metrics"
	"github.com/prospect-sync/prospect-sync/prospect"
)

// countDecision counts a decision about to be recorded over a sync in state from. The SDK's
// workflow metrics handler emits nothing during replay, so each decision counts once however
// often its history is replayed.
func countDecision(ctx workflow.Context, from prospect.SyncState, d prospect.Decision) {
	code := ""
	if d.State == prospect.StateSyncError && d.Error != nil {
		code = d.Error.Code
	}
	metrics.Decision(workflow.GetMetricsHandler(ctx), string(from), string(d.State), string(d.Action), code)
}

package main

import (
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// actions counts the billable Temporal Cloud actions a history shows, as the Cloud "Actions"
// documentation defines them: a workflow started (or continued as new), a signal received, a
// timer started, a search-attribute upsert, each activity attempt (an attempt retried after a
// failure is another), a signal or cancellation sent to another workflow, a child started, and
// the local activities and side effects of a workflow task, one action per task. Queries and
// activity heartbeats are actions too but leave nothing in a history: they are not counted here
// (an estimate from below).
func actions(events []*historypb.HistoryEvent) int {
	n := 0
	localInTask := false // a workflow task's local activities count once together
	for _, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
			enumspb.EVENT_TYPE_TIMER_STARTED,
			enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
			enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
			enumspb.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
			enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			n++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			// The started event carries the attempt it ended with: every attempt is an action.
			n += max(int(e.GetActivityTaskStartedEventAttributes().GetAttempt()), 1)
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if name := e.GetMarkerRecordedEventAttributes().GetMarkerName(); (name == "LocalActivity" || name == "SideEffect") && !localInTask {
				n++
				localInTask = true
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			localInTask = false
		}
	}
	return n
}

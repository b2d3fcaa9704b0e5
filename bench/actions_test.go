package main

import (
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

func ev(t enumspb.EventType, attrs any) *historypb.HistoryEvent {
	e := &historypb.HistoryEvent{EventType: t}
	switch a := attrs.(type) {
	case *historypb.ActivityTaskStartedEventAttributes:
		e.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: a}
	case *historypb.MarkerRecordedEventAttributes:
		e.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: a}
	}
	return e
}

// A sync's first evaluation as its history shows it: started with a signal, settings read by a
// local activity and a version marker in the first task, a search-attribute upsert, a read, a
// lookup, a create retried once, a last upsert.
func TestActionsCountedAsCloudBills(t *testing.T) {
	local := &historypb.MarkerRecordedEventAttributes{MarkerName: "LocalActivity"}
	version := &historypb.MarkerRecordedEventAttributes{MarkerName: "Version"}
	h := []*historypb.HistoryEvent{
		ev(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, nil),                                                  // 1
		ev(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, nil),                                                 // 2
		ev(enumspb.EVENT_TYPE_MARKER_RECORDED, local),                                                           // 3: the task's local activities
		ev(enumspb.EVENT_TYPE_MARKER_RECORDED, local),                                                           //   same task
		ev(enumspb.EVENT_TYPE_MARKER_RECORDED, version),                                                         //   not billed
		ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, nil),                                                     //
		ev(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, nil),                                           // 4
		ev(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, &historypb.ActivityTaskStartedEventAttributes{Attempt: 1}), // 5
		ev(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, &historypb.ActivityTaskStartedEventAttributes{Attempt: 1}), // 6
		ev(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, &historypb.ActivityTaskStartedEventAttributes{Attempt: 2}), // 7, 8
		ev(enumspb.EVENT_TYPE_TIMER_STARTED, nil),                                                               // 9
		ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, nil),                                                     //
		ev(enumspb.EVENT_TYPE_MARKER_RECORDED, local),                                                           // 10: a new task
	}
	if got := actions(h); got != 10 {
		t.Errorf("actions = %d, want 10", got)
	}
}

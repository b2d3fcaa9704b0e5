package workflows

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/prospect-sync/prospect-sync/activities"
)

// Records stamped exactly at the cursor are read again (>=) and skipped once handled; the
// cursor moves to the newest stamp.
func TestNewChanges(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	ids, next, atNext := newChanges([]activities.CRMChange{{ID: "a", Stamp: at(0)}, {ID: "b", Stamp: at(1)}, {ID: "c", Stamp: at(1)}}, at(0), []string{"a"})
	if !slices.Equal(ids, []string{"b", "c"}) || !next.Equal(at(1)) || !slices.Equal(atNext, []string{"b", "c"}) {
		t.Errorf("got %v, %v, %v", ids, next, atNext)
	}
	ids, next, atNext = newChanges([]activities.CRMChange{{ID: "b", Stamp: at(1)}, {ID: "c", Stamp: at(1)}, {ID: "d", Stamp: at(1)}}, at(1), []string{"b", "c"})
	if !slices.Equal(ids, []string{"d"}) || !next.Equal(at(1)) || !slices.Equal(atNext, []string{"b", "c", "d"}) {
		t.Errorf("same stamp: got %v, %v, %v", ids, next, atNext)
	}
	if ids, next, _ := newChanges(nil, at(5), nil); ids != nil || !next.Equal(at(5)) {
		t.Errorf("nothing new: %v, %v", ids, next)
	}
}

// The feed signals each changed record's syncs once, with a re-sync request, and polls again at
// once after a full page.
func TestCrmChangeFeedSignalsChangedRecords(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(CrmChangeFeed, workflow.RegisterOptions{Name: CrmChangeFeedWorkflow})
	var a *activities.Activities
	env.RegisterActivity(a)
	polls := []activities.PollCRMChangesResult{
		{Changes: []activities.CRMChange{{ID: "00QA", Stamp: t0.Add(time.Second)}}, More: true},
		{Changes: []activities.CRMChange{{ID: "00QA", Stamp: t0.Add(time.Second)}, {ID: "003B", Stamp: t0.Add(2 * time.Second), Deleted: true}}},
		{Changes: []activities.CRMChange{{ID: "003B", Stamp: t0.Add(2 * time.Second), Deleted: true}}},
	}
	var since []time.Time
	env.OnActivity(a.PollCRMChanges, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PollCRMChangesInput) (activities.PollCRMChangesResult, error) {
			since = append(since, in.Since)
			p := polls[0]
			polls = polls[1:]
			return p, nil
		})
	var signalled [][]string
	env.OnActivity(a.SignalLinked, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SignalLinkedInput) (activities.SignalLinkedResult, error) {
			signalled = append(signalled, in.RecordIDs)
			if m, ok := in.Arg.(map[string]any); !ok || m["resync"] != true {
				t.Errorf("signal arg %#v, want a re-sync request", in.Arg)
			}
			return activities.SignalLinkedResult{Signalled: len(in.RecordIDs)}, nil
		})
	env.ExecuteWorkflow(CrmChangeFeedWorkflow, CrmChangeFeedInput{Cursor: t0, Interval: time.Minute, Polls: 3})
	var res CrmChangeFeedResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(signalled) != 2 || !slices.Equal(signalled[0], []string{"00QA"}) || !slices.Equal(signalled[1], []string{"003B"}) {
		t.Errorf("signalled %v, want [00QA] then [003B] (each once)", signalled)
	}
	if len(since) != 3 || !since[0].Equal(t0) || !since[1].Equal(t0.Add(time.Second)) || !since[2].Equal(t0.Add(2*time.Second)) {
		t.Errorf("polled since %v", since)
	}
	if res.Signalled != 2 || !res.Cursor.Equal(t0.Add(2*time.Second)) {
		t.Errorf("result %+v", res)
	}
}

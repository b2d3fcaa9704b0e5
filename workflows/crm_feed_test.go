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
	ids, _, next, atNext := newChanges([]activities.CRMChange{{ID: "a", Stamp: at(0)}, {ID: "b", Stamp: at(1)}, {ID: "c", Stamp: at(1)}}, at(0), []string{"a"}, true)
	if !slices.Equal(ids, []string{"b", "c"}) || !next.Equal(at(1)) || !slices.Equal(atNext, []string{"b", "c"}) {
		t.Errorf("got %v, %v, %v", ids, next, atNext)
	}
	ids, _, next, atNext = newChanges([]activities.CRMChange{{ID: "b", Stamp: at(1)}, {ID: "c", Stamp: at(1)}, {ID: "d", Stamp: at(1)}}, at(1), []string{"b", "c"}, true)
	if !slices.Equal(ids, []string{"d"}) || !next.Equal(at(1)) || !slices.Equal(atNext, []string{"b", "c", "d"}) {
		t.Errorf("same stamp: got %v, %v, %v", ids, next, atNext)
	}
	if ids, _, next, _ := newChanges(nil, at(5), nil, true); ids != nil || !next.Equal(at(5)) {
		t.Errorf("nothing new: %v, %v", ids, next)
	}
	// Salesforce reads the cursor to the second: what was stamped earlier in that second comes
	// back, handled already. Runs from before the fix signalled it again.
	ms := func(n int) time.Time { return at(1).Add(time.Duration(n) * time.Millisecond) }
	back := []activities.CRMChange{{ID: "e", Stamp: ms(100)}, {ID: "f", Stamp: ms(700)}}
	if ids, _, next, _ := newChanges(back, ms(700), []string{"f"}, true); ids != nil || !next.Equal(ms(700)) {
		t.Errorf("earlier in the cursor's second: %v, %v, want nothing new", ids, next)
	}
	if ids, _, _, _ := newChanges(back, ms(700), []string{"f"}, false); !slices.Equal(ids, []string{"e"}) {
		t.Errorf("legacy: %v, want e signalled again as before", ids)
	}
	// Our own writes move the cursor (and are remembered at it) but signal nobody.
	mixed := []activities.CRMChange{{ID: "g", Stamp: at(2), Own: true}, {ID: "h", Stamp: at(3)}, {ID: "i", Stamp: at(4), Own: true}}
	ids, own, next, atNext := newChanges(mixed, at(1), nil, true)
	if !slices.Equal(ids, []string{"h"}) || own != 2 || !next.Equal(at(4)) || !slices.Equal(atNext, []string{"i"}) {
		t.Errorf("own writes: got %v, %d own, %v, %v; want [h], 2, %v, [i]", ids, own, next, atNext, at(4))
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
			if in.Arg == nil || !in.Arg.Resync || !in.Arg.CRM {
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

// A worker set to create prospects reports the records people created: the feed hands each new
// one to CreateProspects once (not again when read again at the cursor), counts the prospects
// made, and does not ask the syncs just handed their records to re-read them.
func TestCrmChangeFeedCreatesProspects(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(CrmChangeFeed, workflow.RegisterOptions{Name: CrmChangeFeedWorkflow})
	var a *activities.Activities
	env.RegisterActivity(a)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	newA := activities.NewRecord{Type: "Lead", ID: "00QA", Email: "a@example.com", CreatedAt: at(1)}
	newC := activities.NewRecord{Type: "Contact", ID: "003C", Email: "c@example.com", CreatedAt: at(2)}
	polls := []activities.PollCRMChangesResult{
		{Changes: []activities.CRMChange{{ID: "00QA", Stamp: at(1)}, {ID: "00QB", Stamp: at(1)}}, Created: []activities.NewRecord{newA}},
		{Changes: []activities.CRMChange{{ID: "00QA", Stamp: at(1)}, {ID: "00QB", Stamp: at(1)}, {ID: "003C", Stamp: at(2)}}, Created: []activities.NewRecord{newA, newC}},
	}
	env.OnActivity(a.PollCRMChanges, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.PollCRMChangesInput) (activities.PollCRMChangesResult, error) {
			p := polls[0]
			polls = polls[1:]
			return p, nil
		})
	var asked [][]string
	env.OnActivity(a.CreateProspects, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CreateProspectsInput) (activities.CreateProspectsResult, error) {
			var ids []string
			for _, r := range in.Records {
				ids = append(ids, r.ID)
			}
			asked = append(asked, ids)
			if in.Signal != SignalProspectChanged {
				t.Errorf("signal %q", in.Signal)
			}
			if ids[0] == "00QA" {
				return activities.CreateProspectsResult{Created: 1, Linked: []string{"00QA"}}, nil
			}
			return activities.CreateProspectsResult{Skipped: 1}, nil // a prospect had c@ already
		})
	var signalled [][]string
	env.OnActivity(a.SignalLinked, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SignalLinkedInput) (activities.SignalLinkedResult, error) {
			signalled = append(signalled, in.RecordIDs)
			return activities.SignalLinkedResult{}, nil
		})
	env.ExecuteWorkflow(CrmChangeFeedWorkflow, CrmChangeFeedInput{Cursor: t0, Interval: time.Minute, Polls: 2})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var status CrmChangeFeedStatus
	if v, err := env.QueryWorkflow(QuerySyncState); err != nil || v.Get(&status) != nil {
		t.Fatalf("query: %v", err)
	}
	if len(asked) != 2 || !slices.Equal(asked[0], []string{"00QA"}) || !slices.Equal(asked[1], []string{"003C"}) {
		t.Errorf("CreateProspects asked for %v, want [00QA] then [003C]", asked)
	}
	if len(signalled) != 2 || !slices.Equal(signalled[0], []string{"00QB"}) || !slices.Equal(signalled[1], []string{"003C"}) {
		t.Errorf("signalled %v, want [00QB] (00QA handed to its new sync) then [003C]", signalled)
	}
	if status.ProspectsCreated != 1 || status.Changes != 3 {
		t.Errorf("status %+v, want 1 prospect created and 3 changes", status)
	}
}

package workflows

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/workflow"

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/prospect"
)

func TestChangeFeedSignalsEachVersionOnce(t *testing.T) {
	var ts suite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(ChangeFeed, workflow.RegisterOptions{Name: ChangeFeedWorkflow})
	var a *activities.Activities
	env.RegisterActivity(a)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// The API answers every poll with everything updated since the requested time, in pages of two.
	all := []prospect.Change{
		{ProspectID: 1, UpdatedAt: t0.Add(1 * time.Second)},
		{ProspectID: 2, UpdatedAt: t0.Add(2 * time.Second)},
		{ProspectID: 3, UpdatedAt: t0.Add(3 * time.Second)},
	}
	polls := 0
	var signalled []int64
	// FeedPage's contract: a page of what changed since the time asked, signalling only the
	// versions newer than those the feed says it has seen.
	env.OnActivity(a.FeedPage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FeedPageInput) (activities.FeedPageResult, error) {
			if in.PageToken == "" {
				polls++
				if polls == 2 {
					// Between polls prospect 2 changes again and 4 appears late (read lag).
					all[1].UpdatedAt = t0.Add(5 * time.Second)
					all = append(all, prospect.Change{ProspectID: 4, UpdatedAt: t0.Add(2 * time.Second)})
				}
			}
			var page []prospect.Change
			for _, c := range all {
				if !c.UpdatedAt.Before(in.Since) {
					page = append(page, c)
				}
			}
			slices.SortFunc(page, func(a, b prospect.Change) int { return a.UpdatedAt.Compare(b.UpdatedAt) })
			start := 0
			if in.PageToken == "p2" {
				start = 2
			}
			end := min(start+2, len(page))
			var res activities.FeedPageResult
			for _, c := range page[start:end] {
				res.Newest = c.UpdatedAt
				if slices.ContainsFunc(in.Seen, func(s prospect.Change) bool { return s.ProspectID == c.ProspectID && !c.UpdatedAt.After(s.UpdatedAt) }) {
					continue
				}
				res.Signalled = append(res.Signalled, c)
				signalled = append(signalled, c.ProspectID)
			}
			if end < len(page) {
				res.NextPageToken = "p2"
			}
			return res, nil
		})
	env.ExecuteWorkflow(ChangeFeedWorkflow, ChangeFeedInput{Cursor: t0, Interval: time.Second, Overlap: time.Minute, Polls: 3})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res ChangeFeedResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	// 1, 2, 3 on the first poll; 2 (new version) and 4 (late) on the second; nothing on the third.
	want := []int64{1, 2, 3, 4, 2}
	slices.Sort(want)
	slices.Sort(signalled)
	if !slices.Equal(signalled, want) {
		t.Fatalf("signalled %v, want %v", signalled, want)
	}
	if !res.Cursor.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("cursor %v, want the newest updatedAt %v", res.Cursor, t0.Add(5*time.Second))
	}
}

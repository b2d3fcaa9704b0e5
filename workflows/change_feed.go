package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/prospect"
)

// Change feed defaults.
const (
	DefaultFeedInterval = 30 * time.Second
	// DefaultFeedOverlap re-reads this much before the cursor: Account Engagement reads may lag
	// writes by up to 60 s (docs/engagement.md).
	DefaultFeedOverlap = 60 * time.Second
	// feedPageLimit is v5's maximum page size: the fewest calls against the daily quota.
	feedPageLimit = 1000
	// feedPollsPerRun and feedPagesPerRun bound a run's history; the next run continues from the cursor.
	feedPollsPerRun = 500
	feedPagesPerRun = 200
)

// changeFeedHandoff: one activity reads a page, looks its prospects up in Salesforce and hands
// each sync its snapshot and matches (version 1); runs from before polled and signalled apart.
const changeFeedHandoff = "feed-page-handoff"

// ChangeFeedInput starts, or continues as new, the change feed.
type ChangeFeedInput struct {
	// Cursor is the newest updatedAt already handled; changes at or after Cursor-Overlap are read.
	Cursor   time.Time
	Interval time.Duration
	Overlap  time.Duration
	// Seen holds the versions signalled within the overlap window, so re-reads don't re-signal.
	Seen []prospect.Change
	// Polls stops a run after this many polls (tests); 0 runs until continue-as-new.
	Polls int `json:",omitempty"`
}

// ChangeFeedResult is returned only when Polls ends a run.
type ChangeFeedResult struct {
	Cursor    time.Time
	Signalled int
}

// ChangeFeedStatus is the change feed's sync-state query answer.
type ChangeFeedStatus struct {
	Cursor    time.Time `json:"cursor"`
	LastPoll  time.Time `json:"lastPoll"`
	Signalled int       `json:"signalled"`
	Interval  string    `json:"interval"`
	LastError string    `json:"lastError,omitempty"`
}

// ChangeFeed polls Account Engagement for prospects changed since its cursor and
// signal-with-starts each one's ProspectSync with prospect-changed.
func ChangeFeed(ctx workflow.Context, in ChangeFeedInput) (ChangeFeedResult, error) {
	if in.Interval <= 0 {
		in.Interval = DefaultFeedInterval
	}
	if in.Overlap < 0 {
		in.Overlap = 0
	}
	status := ChangeFeedStatus{Cursor: in.Cursor, Interval: in.Interval.String()}
	if err := workflow.SetQueryHandler(ctx, QuerySyncState, func() (ChangeFeedStatus, error) { return status, nil }); err != nil {
		return ChangeFeedResult{}, err
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
	})
	// Runs from before the hand-off polled and signalled in two activities, without snapshots.
	handoff := workflow.GetVersion(ctx, changeFeedHandoff, workflow.DefaultVersion, 1) >= 1
	seen := map[int64]time.Time{}
	for _, c := range in.Seen {
		seen[c.ProspectID] = c.UpdatedAt
	}
	total, pages := 0, 0
	for poll := 1; ; poll++ {
		since := in.Cursor.Add(-in.Overlap)
		token := ""
		for {
			res, err := pollPage(ctx, actx, handoff, since, token, in.Seen, seen)
			if err != nil {
				// Outages are retried inside the activities; what reaches here will not pass by
				// retrying now (a rejected page token, say). Show it and poll afresh next time.
				workflow.GetLogger(ctx).Error("change feed poll failed", "error", err)
				status.LastError = err.Error()
				break
			}
			newest := in.Cursor
			if res.Newest.After(newest) {
				newest = res.Newest
			}
			for _, c := range res.Signalled {
				seen[c.ProspectID] = c.UpdatedAt
				in.Seen = append(in.Seen, c)
			}
			total += len(res.Signalled)
			status.Signalled += len(res.Signalled)
			// Results come ordered by updatedAt: everything up to newest is handled, so a long
			// backlog moves the cursor page by page and a new run can pick up from it.
			in.Cursor = newest
			in.Seen = pruneSeen(in.Seen, seen, in.Cursor.Add(-in.Overlap))
			status.Cursor, status.LastError = in.Cursor, ""
			pages++
			token = res.NextPageToken
			if token == "" {
				break
			}
			if pages >= feedPagesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
				return ChangeFeedResult{}, continueFeed(ctx, in)
			}
		}
		status.LastPoll = workflow.Now(ctx)

		if in.Polls > 0 && poll >= in.Polls {
			return ChangeFeedResult{Cursor: in.Cursor, Signalled: total}, nil
		}
		if poll >= feedPollsPerRun || pages >= feedPagesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return ChangeFeedResult{}, continueFeed(ctx, in)
		}
		if err := workflow.NewTimerWithOptions(ctx, in.Interval, workflow.TimerOptions{Summary: "next poll"}).Get(ctx, nil); err != nil {
			return ChangeFeedResult{}, err
		}
	}
}

// pollPage reads one page and signals the syncs of the changes not yet signalled: with the
// hand-off, one activity that also hands each sync its snapshot and matches; before it, a poll
// and a signal activity (kept for the histories of running feeds).
func pollPage(ctx, actx workflow.Context, handoff bool, since time.Time, token string, seenList []prospect.Change, seen map[int64]time.Time) (activities.FeedPageResult, error) {
	var a *activities.Activities
	if handoff {
		var res activities.FeedPageResult
		err := workflow.ExecuteActivity(actx, a.FeedPage, activities.FeedPageInput{Since: since, Limit: feedPageLimit, PageToken: token,
			Seen: seenList, Signal: SignalProspectChanged}).Get(ctx, &res)
		return res, err
	}
	var page activities.PollChangesResult
	if err := workflow.ExecuteActivity(actx, a.PollChanges, activities.PollChangesInput{Since: since, Limit: feedPageLimit, PageToken: token}).Get(ctx, &page); err != nil {
		return activities.FeedPageResult{}, err
	}
	res := activities.FeedPageResult{NextPageToken: page.NextPageToken}
	var ids []int64
	batch := map[int64]time.Time{}
	for _, c := range page.Changes {
		if c.UpdatedAt.After(res.Newest) {
			res.Newest = c.UpdatedAt
		}
		v, ok := batch[c.ProspectID]
		if !ok {
			v, ok = seen[c.ProspectID]
		}
		if ok && !c.UpdatedAt.After(v) {
			continue // this version was already signalled
		}
		batch[c.ProspectID] = c.UpdatedAt
		res.Signalled = append(res.Signalled, c)
		ids = append(ids, c.ProspectID)
	}
	if len(ids) > 0 {
		err := workflow.ExecuteActivity(actx, a.SignalProspects, activities.SignalProspectsInput{ProspectIDs: ids, Signal: SignalProspectChanged}).Get(ctx, nil)
		if err != nil {
			return activities.FeedPageResult{}, err
		}
	}
	return res, nil
}

// continueFeed continues the feed as a new run from its cursor.
func continueFeed(ctx workflow.Context, in ChangeFeedInput) error {
	in.Polls = 0
	return workflow.NewContinueAsNewError(ctx, ChangeFeedWorkflow, in)
}

// pruneSeen drops versions older than the overlap window (they can't be read again), keeping
// the carried state bounded. It walks the slice, never the map, so the order is deterministic.
func pruneSeen(list []prospect.Change, seen map[int64]time.Time, before time.Time) []prospect.Change {
	out := list[:0]
	for _, c := range list {
		if c.UpdatedAt.Before(before) {
			if v, ok := seen[c.ProspectID]; ok && v.Equal(c.UpdatedAt) {
				delete(seen, c.ProspectID)
			}
			continue
		}
		if v := seen[c.ProspectID]; v.Equal(c.UpdatedAt) {
			out = append(out, c)
		}
	}
	return out
}

package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/prospect-sync/prospect-sync/change"
	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/internal/fanout"
	"github.com/prospect-sync/prospect-sync/internal/httperror"
	"github.com/prospect-sync/prospect-sync/metrics"
	"github.com/prospect-sync/prospect-sync/prospect"
)

// ErrTypeNoStarter: the worker was built without a way to start syncs (a wiring bug).
const ErrTypeNoStarter = "NoStarter"

// signalConcurrency bounds concurrent signal-with-starts from one activity.
const signalConcurrency = 16

// pace is the change feed's backpressure on its syncs (see awaitBacklog).
type pace struct {
	// page: pages with fewer fresh prospects than this are handed out at once (the steady
	// state: a few changes a poll), without counting the backlog.
	page int
	// max is the backlog below which a page is handed out: one page. At the ~25 syncs a second
	// one worker runs, the last sync of the next page then takes its hand-off about 80 s after
	// the page's lookup, within the 2 minutes a sync trusts matches for.
	max int
	// wait bounds the wait, so a stuck backlog (an outage the syncs wait out) slows the feed
	// to a page per this rather than stopping it.
	wait time.Duration
	// poll is how often the backlog is counted while waiting.
	poll time.Duration
}

// defaultPace is the pace of a worker's change feed.
var defaultPace = pace{page: 100, max: 1000, wait: 2 * time.Minute, poll: time.Second}

// BacklogFunc counts the syncs that have not yet taken what was handed to them; the worker wires
// it to a visibility count.
type BacklogFunc func(ctx context.Context) (int, error)

// StartFunc starts (or signals) one prospect's sync with a signal and its payload (nil for
// none); the worker wires it to the
// Temporal client, which keeps this package free of workflow names.
type StartFunc func(ctx context.Context, prospectID int64, signal string, req *change.Request) error

// PollChangesInput asks for one page of prospects changed since a time.
type PollChangesInput struct {
	// Since is inclusive; the feed passes its cursor minus an overlap for the API's read lag.
	Since     time.Time
	Limit     int
	PageToken string
}

// PollChangesResult is one page of changes, ordered by updatedAt.
type PollChangesResult struct {
	Changes       []prospect.Change
	NextPageToken string
}

// PollChanges reads one page of prospects changed since a time from Account Engagement.
func (a *Activities) PollChanges(ctx context.Context, in PollChangesInput) (PollChangesResult, error) {
	if err := admit(a.AEBudget); err != nil {
		return PollChangesResult{}, err
	}
	page, err := a.readPage(ctx, in.Since, in.Limit, in.PageToken)
	if err != nil {
		return PollChangesResult{}, err
	}
	out := PollChangesResult{NextPageToken: page.NextPageToken, Changes: make([]prospect.Change, 0, len(page.Prospects))}
	for _, p := range page.Prospects {
		out.Changes = append(out.Changes, prospect.Change{ProspectID: p.ID, UpdatedAt: p.UpdatedAt})
	}
	return out, nil
}

// SignalProspectsInput names the prospects whose syncs should look again.
type SignalProspectsInput struct {
	ProspectIDs []int64
	Signal      string
	// Arg is the signal's payload; none from the change feed. A sync telling another that a
	// record is now its own asks for a re-sync.
	Arg *change.Request `json:",omitempty"`
}

// SignalProspectsResult counts what was signalled.
type SignalProspectsResult struct {
	Signalled int
}

// SignalProspects signal-with-starts each prospect's sync. Signals are idempotent for the
// sync (it re-reads the prospect), so a retried batch is harmless.
func (a *Activities) SignalProspects(ctx context.Context, in SignalProspectsInput) (SignalProspectsResult, error) {
	if a.Start == nil {
		return SignalProspectsResult{}, temporal.NewNonRetryableApplicationError("no StartFunc wired", ErrTypeNoStarter, nil)
	}
	if err := a.signal(ctx, in.ProspectIDs, in.Signal, in.Arg); err != nil {
		return SignalProspectsResult{}, err
	}
	return SignalProspectsResult{Signalled: len(in.ProspectIDs)}, nil
}

// signal signal-with-starts each prospect's sync with the same payload.
func (a *Activities) signal(ctx context.Context, ids []int64, signal string, req *change.Request) error {
	return a.signalEach(ctx, ids, signal, func(int64) *change.Request { return req })
}

// signalEach signal-with-starts each prospect's sync with its own payload, a bounded number at
// a time. Signals are idempotent for a sync (it re-reads the prospect), so a retried batch is
// harmless.
func (a *Activities) signalEach(ctx context.Context, ids []int64, signal string, arg func(int64) *change.Request) error {
	var errs []error
	fanout.Each(ctx, signalConcurrency, slices.Values(ids), func(ctx context.Context, id int64) error {
		return a.Start(ctx, id, signal, arg(id))
	}, func(id int64, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("prospect %d: %w", id, err))
		}
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(errs) > 0 {
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("%d of %d signals failed", len(errs), len(ids)),
			ErrTypeTransient, temporal.ApplicationErrorOptions{Cause: errors.Join(errs...)})
	}
	return nil
}

// Handoff is what the change feed hands a sync with its signal (package change holds the one
// definition).
type Handoff = change.Handoff

// FeedPageInput asks for one page of changed prospects to hand to their syncs.
type FeedPageInput struct {
	// Since is inclusive; the feed passes its cursor minus an overlap for the API's read lag.
	Since     time.Time
	Limit     int
	PageToken string
	// Seen are versions already signalled (the overlap window): they are not signalled again.
	Seen   []prospect.Change
	Signal string
}

// FeedPageResult is what the page held and what was signalled.
type FeedPageResult struct {
	// Newest is the page's latest updatedAt (zero for an empty page).
	Newest time.Time
	// Signalled are the changes handed to their syncs.
	Signalled     []prospect.Change
	NextPageToken string
}

// FeedPage reads one page of changed prospects (one Account Engagement call for up to 1,000),
// looks up in Salesforce, in one composite call for the page, those whose syncs will need it,
// and signal-with-starts each sync with its Handoff. A failed lookup only leaves the syncs to
// look up themselves; a failed signal fails the page, whose retry signals again (a sync skips
// a version it has already evaluated).
func (a *Activities) FeedPage(ctx context.Context, in FeedPageInput) (FeedPageResult, error) {
	if a.Start == nil {
		return FeedPageResult{}, temporal.NewNonRetryableApplicationError("no StartFunc wired", ErrTypeNoStarter, nil)
	}
	if err := admit(a.AEBudget); err != nil {
		return FeedPageResult{}, err
	}
	page, err := a.readPage(ctx, in.Since, in.Limit, in.PageToken)
	if err != nil {
		return FeedPageResult{}, err
	}
	seen := make(map[int64]prospect.Change, len(in.Seen))
	for _, c := range in.Seen {
		if !c.UpdatedAt.Before(seen[c.ProspectID].UpdatedAt) {
			seen[c.ProspectID] = c
		}
	}
	out := FeedPageResult{NextPageToken: page.NextPageToken}
	var fresh []engagement.Prospect
	for _, p := range page.Prospects {
		if p.UpdatedAt.After(out.Newest) {
			out.Newest = p.UpdatedAt
		}
		c := prospect.Change{ProspectID: p.ID, UpdatedAt: p.UpdatedAt, Version: fromEngagement(p).VersionKey()}
		if s, ok := seen[p.ID]; ok && alreadySignalled(s, c) {
			continue
		}
		seen[p.ID] = c
		fresh = append(fresh, p)
		out.Signalled = append(out.Signalled, c)
	}
	a.awaitBacklog(ctx, len(fresh))
	handoffs := a.handoffs(ctx, fresh)
	ids := make([]int64, len(fresh))
	args := make(map[int64]*change.Request, len(fresh))
	for i, p := range fresh {
		ids[i] = p.ID
		if handoffs[i] != nil {
			args[p.ID] = &change.Request{Handoff: handoffs[i]}
		}
	}
	if err := a.signalEach(ctx, ids, in.Signal, func(id int64) *change.Request { return args[id] }); err != nil {
		return FeedPageResult{}, err
	}
	return out, nil
}

// awaitBacklog holds a large page back until the syncs handed earlier pages have taken them
// (at most pace.wait). The feed reads pages faster than syncs run: in a first load
// without this, the later pages' syncs ran minutes after their page's lookup, found their
// matches too old to trust, and looked up again themselves, a call per few dozen prospects
// instead of one per page. Counting failures only end the wait.
func (a *Activities) awaitBacklog(ctx context.Context, size int) {
	p := a.pace
	if p == (pace{}) {
		p = defaultPace
	}
	if a.Backlog == nil || size < p.page {
		return
	}
	start := time.Now()
	logged := false
	for {
		n, err := a.Backlog(ctx)
		if err != nil || n <= p.max || time.Since(start) >= p.wait {
			if err != nil {
				activity.GetLogger(ctx).Warn("change feed: counting the syncs' backlog failed; handing the page out", "error", err)
			}
			if logged {
				activity.GetLogger(ctx).Info("change feed: page handed out after waiting for the syncs of earlier pages",
					"waited", time.Since(start).Round(time.Millisecond).String(), "backlog", n, "prospects", size)
			}
			return
		}
		if !logged {
			activity.GetLogger(ctx).Info("change feed: waiting for the syncs of earlier pages before handing out the next",
				"backlog", n, "below", p.max, "prospects", size)
			logged = true
		}
		activity.RecordHeartbeat(ctx, n)
		select {
		case <-ctx.Done():
			return
		case <-time.After(p.poll):
		}
	}
}

// readPage reads one page of prospects changed since a time, deleted ones included.
func (a *Activities) readPage(ctx context.Context, since time.Time, limit int, token string) (engagement.ProspectPage, error) {
	q := engagement.ProspectQuery{UpdatedAfter: since, Limit: limit, IncludeDeleted: true}
	if token != "" {
		q = engagement.ProspectQuery{PageToken: token}
	}
	asked := time.Now()
	page, err := a.AE.QueryProspects(ctx, q)
	if err == nil {
		var newest time.Time
		for _, p := range page.Prospects {
			newest = later(newest, p.UpdatedAt)
		}
		a.feedRead(metrics.APIEngagement, asked, page.NextPageToken != "", newest)
	}
	return page, classify(err)
}

// handoffs builds each prospect's Handoff (nil where the sync must read for itself: a deleted
// prospect, an assigned user that could not be mapped) and looks up, for the whole page, the
// prospects whose next step is a lookup.
func (a *Activities) handoffs(ctx context.Context, ps []engagement.Prospect) []*Handoff {
	out := make([]*Handoff, len(ps))
	var ins []FindMatchesInput
	var need []int
	at := time.Now().UTC()
	for i, p := range ps {
		if p.IsDeleted {
			continue
		}
		snap := fromEngagement(p)
		if p.AssignedToID != 0 {
			sfID, err := a.userSalesforceID(ctx, p.AssignedToID)
			if err != nil && httperror.KindOf(err) != httperror.Gone {
				continue
			}
			snap.AssignedUserSalesforceID = sfID
		}
		out[i] = change.NewHandoff(snap, nil, at)
		if len(a.Settings.MatchOrder) > 0 && prospect.Decide(snap, nil, a.Settings).Action == prospect.ActionLookup {
			ins = append(ins, FindMatchesInput{Email: snap.Email,
				LeadFields:    prospect.MappedFields(a.Settings, prospect.TypeLead),
				ContactFields: prospect.MappedFields(a.Settings, prospect.TypeContact)})
			need = append(need, i)
		}
	}
	if len(ins) == 0 || admit(a.SFBudget) != nil {
		return out // the syncs look up themselves, waiting for budget if they must
	}
	found, err := a.lookupMany(ctx, ins)
	if err != nil {
		activity.GetLogger(ctx).Warn("page-wide Salesforce lookup failed; the syncs look up themselves", "prospects", len(ins), "error", err)
		return out
	}
	for k, i := range need {
		m := found[k].matches
		out[i].Matches = &m
	}
	return out
}

// alreadySignalled reports whether change c is the version s signalled (or an older one). Two
// versions can share an updatedAt (one-second precision): the fingerprint tells them apart, so
// a change made in the same second as the last one is still signalled.
func alreadySignalled(s, c prospect.Change) bool {
	if !c.UpdatedAt.Equal(s.UpdatedAt) {
		return c.UpdatedAt.Before(s.UpdatedAt)
	}
	return s.Version == "" || s.Version == c.Version
}

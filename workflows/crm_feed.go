package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/prospect-sync/prospect-sync/activities"
)

// CRM change feed defaults.
const (
	// DefaultCrmFeedInterval is how often Salesforce is polled; a change shows in Account
	// Engagement and the sync's state within about twice this.
	DefaultCrmFeedInterval = 30 * time.Second
	// crmFeedPage is the most records read per object and poll: a full page is read again at
	// once from its newest stamp.
	crmFeedPage = 1000
	// crmFeedPollsPerRun bounds a run's history; the next run continues from the cursor.
	crmFeedPollsPerRun = 500
	// crmFeedCreateBatch is the most new records one CreateProspects activity takes: two
	// Account Engagement calls each, five at a time, well within the activity's timeout.
	crmFeedCreateBatch = 200
)

// CrmChangeFeedInput starts, or continues as new, the Salesforce change feed.
type CrmChangeFeedInput struct {
	// Cursor is the newest SystemModstamp handled; records stamped at or after it are read.
	Cursor   time.Time
	Interval time.Duration
	// AtCursor holds the records already handled with a stamp equal to Cursor: the next poll
	// reads them again (>=) and skips them.
	AtCursor []string `json:",omitempty"`
	// Polls stops a run after this many polls (tests); 0 runs until continue-as-new.
	Polls int `json:",omitempty"`
}

// CrmChangeFeedResult is returned only when Polls ends a run.
type CrmChangeFeedResult struct {
	Cursor    time.Time
	Signalled int
}

// CrmChangeFeedStatus is the feed's sync-state query answer.
type CrmChangeFeedStatus struct {
	Cursor   time.Time `json:"cursor"`
	LastPoll time.Time `json:"lastPoll"`
	// Polls counts the polls of this run, one Salesforce call each.
	Polls int `json:"polls"`
	// Changes counts the records changed by others than the integration.
	Changes int `json:"changes"`
	// OwnWrites counts the changes the syncs' own writes made, passed over.
	OwnWrites int `json:"ownWrites"`
	// Signalled counts the syncs signalled for Changes (a record no sync links is none).
	Signalled int `json:"signalled"`
	// ProspectsCreated counts the prospects made for records people created in Salesforce
	// (SYNC_CREATE_PROSPECTS), each sync started linked to its record.
	ProspectsCreated int    `json:"prospectsCreated"`
	Interval         string `json:"interval"`
	LastError        string `json:"lastError,omitempty"`
}

// CrmChangeFeed polls Salesforce for Leads and Contacts changed or deleted since its cursor (one
// API call a poll, however many changed) and asks the syncs linked to them to re-read both
// sides: an owner, a field, a deletion or a conversion made in Salesforce reaches Account
// Engagement and the sync's state within about two intervals, without per-prospect re-checks.
// On a worker set to create prospects (SYNC_CREATE_PROSPECTS), a Lead or Contact a person
// created since the cursor with an email no prospect has becomes a prospect, its sync started
// linked to the record (CreateProspects).
func CrmChangeFeed(ctx workflow.Context, in CrmChangeFeedInput) (CrmChangeFeedResult, error) {
	if in.Interval <= 0 {
		in.Interval = DefaultCrmFeedInterval
	}
	if in.Cursor.IsZero() {
		in.Cursor = workflow.Now(ctx)
	}
	status := CrmChangeFeedStatus{Cursor: in.Cursor, Interval: in.Interval.String()}
	if err := workflow.SetQueryHandler(ctx, QuerySyncState, func() (CrmChangeFeedStatus, error) { return status, nil }); err != nil {
		return CrmChangeFeedResult{}, err
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
	})
	total := 0
	for poll := 1; ; poll++ {
		more, n, own, signalled, created, err := pollCRM(ctx, actx, &in)
		status.LastPoll = workflow.Now(ctx)
		status.Polls++
		if err != nil {
			// Outages are retried inside the activities; what reaches here will not pass by
			// retrying now. Show it and poll afresh next time, from the same cursor.
			workflow.GetLogger(ctx).Error("CRM change feed poll failed", "error", err)
			status.LastError = err.Error()
		} else {
			total += n
			status.Changes += n
			status.OwnWrites += own
			status.Signalled += signalled
			status.ProspectsCreated += created
			status.Cursor, status.LastError = in.Cursor, ""
		}
		if in.Polls > 0 && poll >= in.Polls {
			return CrmChangeFeedResult{Cursor: in.Cursor, Signalled: total}, nil
		}
		if poll >= crmFeedPollsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			in.Polls = 0
			return CrmChangeFeedResult{}, workflow.NewContinueAsNewError(ctx, CrmChangeFeedWorkflow, in)
		}
		if more {
			continue // a full page: the rest is waiting
		}
		if err := workflow.NewTimerWithOptions(ctx, in.Interval, workflow.TimerOptions{Summary: "next poll"}).Get(ctx, nil); err != nil {
			return CrmChangeFeedResult{}, err
		}
	}
}

// changeCRMSkipBeforeCursor: records stamped before the cursor (read again because Salesforce
// reads the cursor to the second) are not signalled again (version 1).
const changeCRMSkipBeforeCursor = "crm-feed-skip-before-cursor"

// changeCRMCreateProspects: records people created are made prospects (SYNC_CREATE_PROSPECTS;
// version 1). Histories recorded before it never have page.Created, so they replay unchanged.
const changeCRMCreateProspects = "crm-feed-create-prospects"

// pollCRM reads one page of changes, makes prospects of the records people created (when the
// worker is set to), signals the syncs linked to the other new changes (not those our own
// writes made), and only then moves the cursor: a failed step is read and done again next
// time (creates included: they are idempotent).
func pollCRM(ctx, actx workflow.Context, in *CrmChangeFeedInput) (more bool, changed, own, signalled, created int, _ error) {
	var a *activities.Activities
	var page activities.PollCRMChangesResult
	if err := workflow.ExecuteActivity(actx, a.PollCRMChanges, activities.PollCRMChangesInput{Since: in.Cursor, Limit: crmFeedPage}).Get(ctx, &page); err != nil {
		return false, 0, 0, 0, 0, err
	}
	// Salesforce reads the cursor to the second, so a poll also returns what was stamped
	// earlier in that second, handled by an earlier poll; runs from before this change signalled
	// those again.
	skipBefore := workflow.GetVersion(ctx, changeCRMSkipBeforeCursor, workflow.DefaultVersion, 1) >= 1
	ids, own, cursor, atCursor := newChanges(page.Changes, in.Cursor, in.AtCursor, skipBefore)
	changed = len(ids)
	if len(page.Created) > 0 && workflow.GetVersion(ctx, changeCRMCreateProspects, workflow.DefaultVersion, 1) >= 1 {
		recs := newCreated(page.Created, page.Changes, in.Cursor, in.AtCursor)
		for batch := range slices.Chunk(recs, crmFeedCreateBatch) {
			var res activities.CreateProspectsResult
			err := workflow.ExecuteActivity(actx, a.CreateProspects, activities.CreateProspectsInput{Records: batch, Signal: SignalProspectChanged}).Get(ctx, &res)
			if err != nil {
				return false, 0, 0, 0, 0, err
			}
			created += res.Created
			// Their syncs were handed them and link them at once: no re-sync to ask for.
			ids = slices.DeleteFunc(ids, func(id string) bool { return slices.Contains(res.Linked, id) })
		}
	}
	var sent activities.SignalLinkedResult
	if len(ids) > 0 {
		err := workflow.ExecuteActivity(actx, a.SignalLinked, activities.SignalLinkedInput{
			RecordIDs: ids, Signal: SignalProspectChanged, Arg: &ChangeRequest{Resync: true, CRM: true}}).Get(ctx, &sent)
		if err != nil {
			return false, 0, 0, 0, 0, err
		}
	}
	in.Cursor, in.AtCursor = cursor, atCursor
	return page.More, changed, own, sent.Signalled, created, nil
}

// newCreated keeps the new records whose change this poll has not handled before: one stamped
// at the cursor and handled, or before it, was made a prospect (or not) by an earlier poll.
func newCreated(recs []activities.NewRecord, changes []activities.CRMChange, cursor time.Time, atCursor []string) []activities.NewRecord {
	handled := map[string]bool{}
	for _, c := range changes {
		if c.Stamp.Equal(cursor) && slices.Contains(atCursor, c.ID) || c.Stamp.Before(cursor) {
			handled[c.ID] = true
		}
	}
	return slices.DeleteFunc(slices.Clone(recs), func(r activities.NewRecord) bool { return handled[r.ID] })
}

// newChanges picks the records not handled yet (a record stamped exactly at the cursor was
// handled if it is in atCursor) and the cursor after them, with the records at that stamp.
// Changes our own writes made move the cursor but are not picked; own counts them.
func newChanges(changes []activities.CRMChange, cursor time.Time, atCursor []string, skipBefore bool) (ids []string, own int, next time.Time, atNext []string) {
	next = cursor
	for _, c := range changes {
		if c.Stamp.Equal(cursor) && slices.Contains(atCursor, c.ID) || skipBefore && c.Stamp.Before(cursor) {
			continue
		}
		if c.Stamp.After(next) {
			next = c.Stamp
		}
		if c.Own {
			own++
			continue
		}
		if !slices.Contains(ids, c.ID) {
			ids = append(ids, c.ID)
		}
	}
	if next.Equal(cursor) {
		atNext = append(atNext, atCursor...)
	}
	for _, c := range changes {
		if c.Stamp.Equal(next) && !slices.Contains(atNext, c.ID) {
			atNext = append(atNext, c.ID)
		}
	}
	return ids, own, next, atNext
}

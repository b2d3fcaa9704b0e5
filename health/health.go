// Package health is the sync-health report (`starter health`): where the syncs stand, what is
// failing and how much, how far behind the change feeds are, today's API usage and whether the
// sync is paused. It reads Temporal's visibility counts and lists and the syncs' own state (a
// query for a handful of samples, not one per prospect), and makes one call to each API to read
// its usage.
package health

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/internal/budget"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// Report is the sync's health at one moment.
type Report struct {
	At      time.Time                    `json:"at"`
	Control workflows.ControlState       `json:"control"`
	States  map[prospect.SyncState]int64 `json:"states"`
	Errors  []ErrorGroup                 `json:"errors"`
	// OldestWaiting is the prospect that has waited longest for an assigned user.
	OldestWaiting *Waiting `json:"oldestWaiting,omitempty"`
	Feeds         []Feed   `json:"feeds"`
	Usage         []Usage  `json:"usage"`
	// Took is how long the report took to make, and Parts how long each part took.
	Took  string            `json:"took"`
	Parts map[string]string `json:"parts"`
}

// ErrorGroup is every sync failing with one code.
type ErrorGroup struct {
	Code  string `json:"code"`
	Count int    `json:"count"`
	// Newest is the latest time a sample of this group recorded the error.
	Newest time.Time `json:"newest"`
	// SampleProspect and SampleMessage are one failing prospect and the API's message for it.
	SampleProspect int64  `json:"sampleProspect"`
	SampleMessage  string `json:"sampleMessage"`
	// Retry is the command that retries the group once its cause is fixed.
	Retry string `json:"retry"`
}

// Waiting is the oldest prospect waiting for assignment.
type Waiting struct {
	ProspectID int64     `json:"prospectId"`
	Since      time.Time `json:"since"`
	For        string    `json:"for"`
	Count      int64     `json:"count"`
}

// Feed is one change feed's progress.
type Feed struct {
	Name      string    `json:"name"`
	Running   bool      `json:"running"`
	Cursor    time.Time `json:"cursor,omitzero"`
	LastPoll  time.Time `json:"lastPoll,omitzero"`
	Lag       string    `json:"lag,omitempty"`
	LastError string    `json:"lastError,omitempty"`
}

// Usage is one API's day against its allocation and the reserve kept for the org.
type Usage struct {
	API     string  `json:"api"`
	Used    int     `json:"used"`
	Limit   int     `json:"limit"`
	Reserve float64 `json:"reserve"`
	// Left is what the sync may still use today with the reserve kept.
	Left  int    `json:"left"`
	Error string `json:"error,omitempty"`
}

// Failing is one failing prospect, for the CSV export.
type Failing struct {
	ProspectID int64     `json:"prospectId"`
	Code       string    `json:"code"`
	Message    string    `json:"message"`
	Since      time.Time `json:"since"`
	RecordID   string    `json:"recordId"`
}

// Reporter reads what the report needs. SF and AE may be nil: no usage then.
type Reporter struct {
	Temporal  client.Client
	SF        *salesforce.Client
	AE        *engagement.Client
	SFReserve float64
	AEReserve float64
	// Samples is how many syncs of each error code are asked for their state (0: 5; negative:
	// none, for a measure of the report's scaling without them).
	Samples int
}

// Report makes the report.
func (r *Reporter) Report(ctx context.Context) (Report, error) {
	start := time.Now()
	rep := Report{At: start.UTC(), Parts: map[string]string{}}
	lap := start
	timed := func(part string) {
		rep.Parts[part] = time.Since(lap).Round(time.Millisecond).String()
		lap = time.Now()
	}
	var err error
	if rep.Control, err = workflows.Control(ctx, r.Temporal); err != nil {
		return rep, err
	}
	timed("pause")
	if rep.States, err = workflows.CountByState(ctx, r.Temporal); err != nil {
		return rep, err
	}
	timed("states")
	if rep.Errors, err = r.errors(ctx); err != nil {
		return rep, err
	}
	timed("errors")
	if rep.OldestWaiting, err = r.oldestWaiting(ctx, rep.States[prospect.StateWaitingForAssignment]); err != nil {
		return rep, err
	}
	timed("waiting")
	rep.Feeds = r.feeds(ctx, start)
	timed("feeds")
	rep.Usage = r.usage(ctx)
	timed("usage")
	rep.Took = time.Since(start).Round(time.Millisecond).String()
	return rep, nil
}

// errors groups the failing syncs by code without reading them all: it finds the codes one at
// a time (the newest failing sync whose code is not among those found yet), counts each code
// (one visibility count) and asks a few of its syncs for their message. Its cost grows with the
// number of codes, not of failing syncs. Failing syncs without a code are grouped as "".
func (r *Reporter) errors(ctx context.Context) ([]ErrorGroup, error) {
	n := max(cmp.Or(r.Samples, 5), 0)
	base := workflows.Filter{State: prospect.StateSyncError}.Query()
	total, err := workflows.Count(ctx, r.Temporal, base)
	if err != nil || total == 0 {
		return nil, err
	}
	var out []ErrorGroup
	var counted int64
	var found []string
	for counted < total {
		q := base
		if len(found) > 0 {
			quoted := make([]string, len(found))
			for i, c := range found {
				quoted[i] = "'" + strings.ReplaceAll(c, "'", "") + "'"
			}
			q += fmt.Sprintf(" AND %s NOT IN (%s)", workflows.AttrSyncErrorCode.GetName(), strings.Join(quoted, ", "))
		}
		next, err := workflows.ListFirst(ctx, r.Temporal, q, 1)
		if err != nil {
			return nil, err
		}
		if len(next) == 0 {
			// The rest have no code at all (NOT IN passes over them).
			out = append(out, ErrorGroup{Count: int(total - counted), Retry: fmt.Sprintf("starter sync --state %s", prospect.StateSyncError)})
			break
		}
		code := next[0].ErrorCode
		found = append(found, code)
		byCode := workflows.Filter{State: prospect.StateSyncError, ErrorCode: code}.Query()
		count, err := workflows.Count(ctx, r.Temporal, byCode)
		if err != nil {
			return nil, err
		}
		counted += count
		g := ErrorGroup{Code: code, Count: int(count), Retry: fmt.Sprintf("starter sync --state %s --code %s", prospect.StateSyncError, code)}
		if n > 0 {
			samples, err := workflows.ListFirst(ctx, r.Temporal, byCode, n)
			if err != nil {
				return nil, err
			}
			for _, l := range samples {
				id, err := workflows.ParseProspectID(l.ProspectID)
				if err != nil {
					continue
				}
				st, err := workflows.QueryStatus(ctx, r.Temporal, id)
				if err != nil || st.LastError == nil {
					continue
				}
				if t := errorSince(st); g.SampleProspect == 0 || t.After(g.Newest) {
					g.Newest, g.SampleProspect, g.SampleMessage = t, id, st.LastError.Message
				}
			}
		}
		out = append(out, g)
		if code == "" {
			break
		}
	}
	slices.SortFunc(out, func(a, b ErrorGroup) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Code, b.Code)) })
	return out, nil
}

// errorSince is when a failing sync last recorded its error.
func errorSince(st workflows.SyncStatus) time.Time {
	for i := len(st.History) - 1; i >= 0; i-- {
		if st.History[i].State == prospect.StateSyncError {
			return st.History[i].Time
		}
	}
	return time.Time{}
}

// oldestWaiting finds the sync waiting longest. Visibility lists newest first and cannot sort,
// so it lists them all when they are few; when many, a search on StartTime with counts (about
// ten rounds) narrows the listing to those started by the time found.
func (r *Reporter) oldestWaiting(ctx context.Context, waiting int64) (*Waiting, error) {
	if waiting == 0 {
		return nil, nil
	}
	base := workflows.Filter{State: prospect.StateWaitingForAssignment}.Query() + " AND ExecutionStatus = 'Running'"
	startedBy := func(t time.Time) string {
		return base + fmt.Sprintf(" AND StartTime <= '%s'", t.Format(time.RFC3339Nano))
	}
	hi := time.Now().UTC().Add(time.Minute)
	if waiting > listWaitingUpTo {
		var err error
		if hi, err = r.searchOldest(ctx, startedBy, hi); err != nil {
			return nil, err
		}
	}
	var oldest *workflows.Listed
	err := workflows.ListQuery(ctx, r.Temporal, startedBy(hi), func(l workflows.Listed) bool {
		if oldest == nil || l.Started.Before(oldest.Started) {
			oldest = &l
		}
		return true
	})
	if err != nil || oldest == nil {
		return nil, err
	}
	id, _ := workflows.ParseProspectID(oldest.ProspectID)
	return &Waiting{ProspectID: id, Since: oldest.Started, For: time.Since(oldest.Started).Round(time.Minute).String(), Count: waiting}, nil
}

// listWaitingUpTo is how many waiting syncs the report lists to find the oldest (two pages);
// past it, a search on StartTime narrows the listing first.
const listWaitingUpTo = 1000

// searchOldest narrows, with visibility counts, the time by which the oldest waiting sync had
// started: eight counts at once a round, each round ninefold narrower, to the second.
func (r *Reporter) searchOldest(ctx context.Context, startedBy func(time.Time) string, hi time.Time) (time.Time, error) {
	const ways = 8
	lo := time.Unix(0, 0).UTC() // none started by then; some by hi
	for hi.Sub(lo) > time.Second {
		step := hi.Sub(lo) / (ways + 1)
		counts := make([]int64, ways)
		errs := make([]error, ways)
		var wg sync.WaitGroup
		for i := range ways {
			wg.Go(func() {
				counts[i], errs[i] = workflows.Count(ctx, r.Temporal, startedBy(lo.Add(step*time.Duration(i+1))))
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return hi, err
		}
		// The first cut with some started by it: the oldest lies in the part before it (or, with
		// none, in the last part).
		if i := slices.IndexFunc(counts, func(n int64) bool { return n > 0 }); i >= 0 {
			lo, hi = lo.Add(step*time.Duration(i)), lo.Add(step*time.Duration(i+1))
		} else {
			lo = lo.Add(step * ways)
		}
	}
	return hi, nil
}

// feeds asks both change feeds how far they have read.
func (r *Reporter) feeds(ctx context.Context, now time.Time) []Feed {
	out := []Feed{{Name: "Account Engagement"}, {Name: "Salesforce"}}
	if st, err := workflows.QueryChangeFeed(ctx, r.Temporal); err == nil {
		out[0] = Feed{Name: out[0].Name, Running: true, Cursor: st.Cursor, LastPoll: st.LastPoll, LastError: st.LastError}
	} else {
		out[0].LastError = err.Error()
	}
	if st, err := workflows.QueryCrmFeed(ctx, r.Temporal); err == nil {
		out[1] = Feed{Name: out[1].Name, Running: true, Cursor: st.Cursor, LastPoll: st.LastPoll, LastError: st.LastError}
	} else {
		out[1].LastError = err.Error()
	}
	for i := range out {
		if !out[i].Cursor.IsZero() {
			out[i].Lag = now.Sub(out[i].Cursor).Round(time.Second).String()
		}
	}
	return out
}

// usage reads each API's day through one cheap call each (its answer carries the usage).
func (r *Reporter) usage(ctx context.Context) []Usage {
	var out []Usage
	if r.SF != nil {
		u := Usage{API: "Salesforce", Reserve: r.SFReserve}
		if _, err := r.SF.Query(ctx, "SELECT Id FROM User LIMIT 1"); err != nil {
			u.Error = err.Error()
		}
		out = append(out, fill(u, r.SF.Usage()))
	}
	if r.AE != nil {
		u := Usage{API: "Account Engagement", Reserve: r.AEReserve}
		if _, err := r.AE.ListUsers(ctx); err != nil {
			u.Error = err.Error()
		}
		out = append(out, fill(u, r.AE.Usage()))
	}
	return out
}

func fill(u Usage, b budget.Usage) Usage {
	u.Used, u.Limit = b.Used, b.Limit
	if b.Limit > 0 {
		u.Left = max(int(float64(b.Limit)*(1-u.Reserve))-b.Used, 0)
	}
	return u
}

// Failures lists every failing prospect with its message and since when: one query per failing
// sync, a few at a time (Temporal's, no API call), for the CSV export.
func (r *Reporter) Failures(ctx context.Context) ([]Failing, error) {
	var ids []workflows.Listed
	if err := workflows.List(ctx, r.Temporal, workflows.Filter{State: prospect.StateSyncError}, func(l workflows.Listed) bool {
		ids = append(ids, l)
		return true
	}); err != nil {
		return nil, err
	}
	out := make([]Failing, len(ids))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, l := range ids {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			id, _ := workflows.ParseProspectID(l.ProspectID)
			f := Failing{ProspectID: id, Code: l.ErrorCode, RecordID: l.CRMRecordID}
			if st, err := workflows.QueryStatus(ctx, r.Temporal, id); err == nil && st.LastError != nil {
				f.Code, f.Message, f.Since, f.RecordID = st.LastError.Code, st.LastError.Message, errorSince(st), st.CRMRecordID
			}
			out[i] = f
		})
	}
	wg.Wait()
	slices.SortFunc(out, func(a, b Failing) int {
		return cmp.Or(cmp.Compare(a.Code, b.Code), cmp.Compare(a.ProspectID, b.ProspectID))
	})
	return out, ctx.Err()
}

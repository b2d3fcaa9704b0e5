package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/internal/fanout"
	"github.com/prospect-sync/prospect-sync/prospect"
)

// ErrTypeNoStarter: the worker was built without a way to start syncs (a wiring bug).
const ErrTypeNoStarter = "NoStarter"

// signalConcurrency bounds concurrent signal-with-starts from one activity.
const signalConcurrency = 16

// StartFunc starts (or signals) one prospect's sync with a signal and its payload (nil for
// none); the worker wires it to the
// Temporal client, which keeps this package free of workflow names.
type StartFunc func(ctx context.Context, prospectID int64, signal string, arg any) error

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
	q := engagement.ProspectQuery{UpdatedAfter: in.Since, Limit: in.Limit, IncludeDeleted: true}
	if in.PageToken != "" {
		q = engagement.ProspectQuery{PageToken: in.PageToken}
	}
	page, err := a.AE.QueryProspects(ctx, q)
	if err != nil {
		return PollChangesResult{}, classify(err)
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
	if err := a.signal(ctx, in.ProspectIDs, in.Signal, nil); err != nil {
		return SignalProspectsResult{}, err
	}
	return SignalProspectsResult{Signalled: len(in.ProspectIDs)}, nil
}

// signal signal-with-starts each prospect's sync, a bounded number at a time. Signals are
// idempotent for a sync (it re-reads the prospect), so a retried batch is harmless.
func (a *Activities) signal(ctx context.Context, ids []int64, signal string, arg any) error {
	var errs []error
	fanout.Each(ctx, signalConcurrency, slices.Values(ids), func(ctx context.Context, id int64) error {
		return a.Start(ctx, id, signal, arg)
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

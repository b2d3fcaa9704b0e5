package activities

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/internal/budget"
	"github.com/prospect-sync/prospect-sync/internal/httperror"
	"github.com/prospect-sync/prospect-sync/prospect"
)

// Application error types the activities return; the workflow acts on them. Whether one is
// retried is decided here, where it is made (non-retryable errors say so themselves), not
// again in the workflow's retry policy. The names are in recorded histories: rename none.
const (
	// ErrTypeDataError: the data cannot sync until the prospect changes (not retried); the
	// details are the prospect.SyncError to show.
	ErrTypeDataError = "DataError"
	// ErrTypeRecordGone: the Salesforce record was deleted (not retried).
	ErrTypeRecordGone = "RecordGone"
	// ErrTypeConvertedLead: the Lead was converted; follow its Contact (not retried).
	ErrTypeConvertedLead = "ConvertedLead"
	// ErrTypeRateLimited: an API limit; retried after the delay the API suggests.
	ErrTypeRateLimited = "RateLimited"
	// ErrTypeTransient: an outage or a lock; retried with backoff, without limit.
	ErrTypeTransient = "Transient"
	// ErrTypeAuth: credentials rejected; retried with backoff until an operator fixes them.
	ErrTypeAuth = "Auth"
	// ErrTypeProspectGone: the prospect no longer exists in Account Engagement (not retried).
	ErrTypeProspectGone = "ProspectGone"
	// ErrTypeBudgetWait: the API's daily usage passed the share kept for this product; the
	// details are a BudgetWait. Not retried by the activity: the workflow shows the wait and
	// tries again after it.
	ErrTypeBudgetWait = "BudgetWait"
	// ErrTypeEmailTaken: Account Engagement refused an email another prospect of the business
	// unit has (not retried); the details are an EmailTaken.
	ErrTypeEmailTaken = "EmailTaken"
)

// EmailTaken names the prospect that already has the email a write asked for.
type EmailTaken struct {
	Email string
	// ProspectID is the prospect with that email; 0 when it could not be found.
	ProspectID int64
}

// BudgetWait is what a sync shows while it waits for API budget.
type BudgetWait struct {
	// Reason names the API and the figures.
	Reason  string
	RetryIn time.Duration
}

// emailTakenError is Account Engagement's refusal of an email another prospect has, final:
// the sync stops syncing with the record instead of retrying.
func emailTakenError(refused error, taken EmailTaken) error {
	return temporal.NewNonRetryableApplicationError(refused.Error(), ErrTypeEmailTaken, refused, taken)
}

// admit lets a call to an API go, or returns the BudgetWait error that holds it back.
func admit(g *budget.Gate) error {
	w := g.Check(time.Now())
	if w == nil {
		return nil
	}
	if w.Spent {
		// The whole allocation is used: wait as the API would have said (RateLimited, retried
		// after the delay), without spending a refused call per sync to hear it.
		return temporal.NewApplicationErrorWithOptions(w.Error(), ErrTypeRateLimited, temporal.ApplicationErrorOptions{NextRetryDelay: w.RetryIn})
	}
	reason := strings.TrimPrefix(w.Error(), "waiting for ") // the UI says "Waiting for" itself
	return temporal.NewNonRetryableApplicationError(w.Error(), ErrTypeBudgetWait, nil, BudgetWait{Reason: reason, RetryIn: w.RetryIn})
}

// classify turns a client error into a Temporal application error with an explicit type:
// one switch over the kind each client's APIError reports.
func classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if _, ok := errors.AsType[*temporal.ApplicationError](err); ok {
		return err // sorted already (a pause that held a shared write, say)
	}
	retry := func(typ string) error {
		return temporal.NewApplicationErrorWithOptions(err.Error(), typ, temporal.ApplicationErrorOptions{Cause: err})
	}
	final := func(typ string, details ...any) error {
		return temporal.NewNonRetryableApplicationError(err.Error(), typ, err, details...)
	}
	switch httperror.KindOf(err) {
	case httperror.Converted:
		return final(ErrTypeConvertedLead)
	case httperror.Gone:
		if _, ok := errors.AsType[*engagement.APIError](err); ok {
			return final(ErrTypeProspectGone)
		}
		return final(ErrTypeRecordGone)
	case httperror.Data:
		e, _ := errors.AsType[httperror.Kinded](err)
		code, msg := e.Reason()
		return final(ErrTypeDataError, prospect.SyncError{Code: code, Message: msg})
	case httperror.RateLimit:
		d, _ := httperror.RetryDelay(err)
		return temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeRateLimited, temporal.ApplicationErrorOptions{NextRetryDelay: d, Cause: err})
	case httperror.Auth:
		return retry(ErrTypeAuth)
	}
	// An outage, or not an API answer at all (the network, a timeout): retried.
	return retry(ErrTypeTransient)
}

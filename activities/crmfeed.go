package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/prospect-sync/prospect-sync/change"
	"github.com/prospect-sync/prospect-sync/metrics"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

// LinkedFunc finds the prospects whose syncs link any of the Salesforce records; the worker
// wires it to Temporal's visibility (the CrmRecordId search attribute), so no store of our own
// maps records to prospects.
type LinkedFunc func(ctx context.Context, recordIDs []string) ([]int64, error)

// CRMChange is one Lead or Contact changed or deleted in Salesforce.
type CRMChange struct {
	ID      string
	Stamp   time.Time // SystemModstamp: moves on every change, automated ones included
	Deleted bool
	// Own: the integration user made the change (LastModifiedById): a sync's own write
	// coming back. The feed moves its cursor past it without signalling anyone.
	Own bool `json:",omitempty"`
}

// PollCRMChangesInput asks for the Leads and Contacts changed at or after Since.
type PollCRMChangesInput struct {
	Since time.Time
	// Limit caps the records read per object; a full page means more are waiting.
	Limit int
}

// PollCRMChangesResult is the changes, oldest first per object.
type PollCRMChangesResult struct {
	Changes []CRMChange
	// More: a page was full; poll again at once from the newest stamp.
	More bool
	// Created are the records among Changes that a person created since Since with an email,
	// candidates for prospects of their own; only with Settings.CreateProspects.
	Created []NewRecord `json:",omitempty"`
}

// PollCRMChanges reads the Leads and Contacts whose SystemModstamp is at or after Since,
// deleted ones included (queryAll), in ONE Salesforce call: a composite of two queries
// (docs/salesforce.md "The change feed": SystemModstamp, not LastModifiedDate, moves on every change).
// A live record last modified by the client's own user is marked Own: every record a sync
// creates or updates comes back this way, and re-syncing it would cost a signal, a workflow
// task and a lookup per write to learn nothing. Deletions are never Own: we never delete.
// With Settings.CreateProspects the same queries also read what a new record's prospect is made
// of, and Created lists the records people created since Since (see newRecord).
func (a *Activities) PollCRMChanges(ctx context.Context, in PollCRMChangesInput) (PollCRMChangesResult, error) {
	if err := admit(a.SFBudget); err != nil {
		return PollCRMChangesResult{}, err
	}
	types := []string{prospect.TypeLead, prospect.TypeContact}
	var queries []salesforce.Select
	for _, typ := range types {
		fields := []string{"Id", "IsDeleted", "SystemModstamp", "LastModifiedById"}
		if a.Settings.CreateProspects {
			// What a new record's prospect is made of, in the same query: no call of its own.
			fields = newRecordFields(fields, typ, a.Settings)
		}
		queries = append(queries, salesforce.Select{Object: typ, Fields: fields,
			Where: []salesforce.Cond{salesforce.AtOrAfter("SystemModstamp", in.Since)}, OrderBy: "SystemModstamp, Id", Limit: in.Limit, All: true})
	}
	asked := time.Now()
	results, err := a.SF.SelectMany(ctx, queries...)
	if err != nil {
		return PollCRMChangesResult{}, classify(err)
	}
	self := a.SF.UserID() // known once a token was fetched, as it was for this call
	var out PollCRMChangesResult
	var newest time.Time
	for i, r := range results {
		if r.Err != nil {
			return PollCRMChangesResult{}, classify(r.Err)
		}
		out.More = out.More || len(r.Records) >= in.Limit
		for _, rec := range r.Records {
			deleted := rec.Bool("IsDeleted")
			own := !deleted && self != "" && salesforce.SameID(rec.String("LastModifiedById"), self)
			out.Changes = append(out.Changes, CRMChange{ID: rec.String("Id"), Stamp: rec.Time("SystemModstamp"), Deleted: deleted, Own: own})
			newest = later(newest, rec.Time("SystemModstamp"))
			if a.Settings.CreateProspects {
				if nr, ok := newRecord(rec, types[i], in.Since, self, a.Settings); ok {
					out.Created = append(out.Created, nr)
				}
			}
		}
	}
	a.feedRead(metrics.APISalesforce, asked, out.More, newest)
	return out, nil
}

// SignalLinkedInput names Salesforce records that changed.
type SignalLinkedInput struct {
	RecordIDs []string
	Signal    string
	// Arg is the signal's payload: a re-sync request, so the syncs read Salesforce although
	// Account Engagement reports no change.
	Arg *change.Request
}

// SignalLinkedResult counts the syncs signalled.
type SignalLinkedResult struct {
	Signalled int
}

// SignalLinked signals the syncs linked to the records; records no sync links are ignored.
func (a *Activities) SignalLinked(ctx context.Context, in SignalLinkedInput) (SignalLinkedResult, error) {
	if a.Linked == nil || a.Start == nil {
		return SignalLinkedResult{}, temporal.NewNonRetryableApplicationError("no LinkedFunc or StartFunc wired", ErrTypeNoStarter, nil)
	}
	ids, err := a.Linked(ctx, in.RecordIDs)
	if err != nil {
		return SignalLinkedResult{}, temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeTransient, temporal.ApplicationErrorOptions{Cause: err})
	}
	if err := a.signal(ctx, ids, in.Signal, in.Arg); err != nil {
		return SignalLinkedResult{}, err
	}
	return SignalLinkedResult{Signalled: len(ids)}, nil
}

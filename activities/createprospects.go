package activities

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/prospect-sync/prospect-sync/change"
	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/internal/fanout"
	"github.com/prospect-sync/prospect-sync/internal/httperror"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

// NewRecord is a Lead or Contact a person created in Salesforce, as the Salesforce change feed's
// poll read it: the makings of a prospect of its own (Settings.CreateProspects, the connector's
// "Automatically create prospects").
type NewRecord struct {
	Type    string
	ID      string
	Email   string
	OwnerID string `json:",omitempty"`
	// CreatedAt is the record's CreatedDate.
	CreatedAt    time.Time
	LastModified time.Time
	// Fields are the record's names, its company (a Lead's) and its mapped fields, by Salesforce
	// API name, as read.
	Fields map[string]string `json:",omitempty"`
}

// newRecordFields adds to a poll's fields those a new record's prospect is made of: who created
// it and when, its email, owner, names, company and mapped fields, and whether a Lead is
// converted (a converted Lead is its Contact's business).
func newRecordFields(fields []string, typ string, s prospect.Settings) []string {
	extra := []string{"CreatedById", "CreatedDate", "LastModifiedDate", "Email", "OwnerId", "FirstName", "LastName"}
	if typ == prospect.TypeLead {
		extra = append(extra, "Company", "IsConverted")
	}
	out := slices.Clone(fields)
	for _, f := range append(extra, prospect.MappedFields(s, typ)...) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// newRecord reports whether a polled record is a new one a person made: live, not converted,
// with an email, created by another user than the integration's own (self: a Lead a sync
// created for its prospect never becomes a prospect again), and created at or after since,
// the feed's cursor. That last test is what keeps the option from being retroactive: records
// that were there before the feed read past them (before the option was on, or before the
// feed started) are never made prospects, however often they change later. With the creator or
// since unknown, none is.
func newRecord(rec salesforce.Record, typ string, since time.Time, self string, s prospect.Settings) (NewRecord, bool) {
	creator := rec.String("CreatedById")
	created := rec.Time("CreatedDate")
	switch {
	case since.IsZero() || self == "" || creator == "" || created.IsZero():
		return NewRecord{}, false
	case rec.Bool("IsDeleted") || rec.Bool("IsConverted") || strings.TrimSpace(rec.String("Email")) == "":
		return NewRecord{}, false
	case salesforce.SameID(creator, self) || created.Before(since):
		return NewRecord{}, false
	}
	out := NewRecord{Type: typ, ID: rec.String("Id"), Email: rec.String("Email"), OwnerID: rec.String("OwnerId"),
		CreatedAt: created, LastModified: rec.Time("LastModifiedDate"), Fields: map[string]string{}}
	for _, f := range newRecordFields(nil, typ, s) {
		switch f {
		case "CreatedById", "CreatedDate", "LastModifiedDate", "Email", "OwnerId", "IsConverted":
			continue
		}
		if _, ok := rec[f]; ok {
			out.Fields[f] = rec.String(f)
		}
	}
	return out, true
}

// CreateProspectsInput names the new records to make prospects of (PollCRMChangesResult.Created).
type CreateProspectsInput struct {
	Records []NewRecord
	// Signal starts each new prospect's sync, with its hand-off as the payload.
	Signal string
}

// CreateProspectsResult counts what became of the records' emails (records sharing an email
// count once).
type CreateProspectsResult struct {
	// Created: a prospect was made (or found made by an earlier attempt) and its sync started,
	// linked to the record.
	Created int
	// Skipped: a prospect had the email before the record was created; not ours to create, its
	// own sync matches the record.
	Skipped int
	// Refused: the email is not one a prospect can have, or Account Engagement refused it or
	// another field (logged with the reason).
	Refused int
	// Linked are the records handed to the new prospects' syncs, which link them at once:
	// nothing for the feed to signal about them.
	Linked []string `json:",omitempty"`
}

// createConcurrency is how many emails are worked on at once: Account Engagement's own limit of
// requests in flight (the client keeps to its share of it anyway).
const createConcurrency = engagement.DefaultMaxConcurrent

// CreateProspects makes a prospect for each new record's email that no prospect has, and
// starts its sync with a hand-off: the prospect as Account Engagement answered and the record
// as the feed read it, so the sync links the two at once, without a read or a lookup of its
// own. Per email, two Account Engagement calls: one query for the prospects with it (deleted
// ones too), then one upsertLatestByEmail, v5's one idempotent write, so a retried activity
// never makes a second prospect. The query comes first because an upsert on an existing
// prospect would overwrite its names and its assignment: a prospect created before the record
// (CreatedDate) is someone else's, and is left alone. No Salesforce call: the feed's poll read
// the records. The prospect is assigned to the record owner's Account Engagement user (userId)
// when the owner maps to one, since Salesforce is the master of the owner; without one it is
// unassigned and its sync waits for an assigned user (R3).
//
// An email that cannot be a prospect's, or that Account Engagement refuses, is logged with the
// reason and counted, not failed: one bad record must not hold up the feed. Outages and rate
// limits fail the batch, whose retry finds the prospects already made (by their createdAt).
func (a *Activities) CreateProspects(ctx context.Context, in CreateProspectsInput) (CreateProspectsResult, error) {
	if a.Start == nil {
		return CreateProspectsResult{}, temporal.NewNonRetryableApplicationError("no StartFunc wired", ErrTypeNoStarter, nil)
	}
	if err := a.admitWrite(a.AEBudget); err != nil {
		return CreateProspectsResult{}, err // paused: the feed keeps its cursor and tries again
	}
	groups := byEmail(in.Records)
	outcomes := make([]createOutcome, len(groups))
	var errs []error
	items := make([]int, len(groups))
	for i := range items {
		items[i] = i
	}
	fanout.Each(ctx, createConcurrency, slices.Values(items), func(ctx context.Context, i int) error {
		var err error
		outcomes[i], err = a.createProspect(ctx, groups[i])
		return err
	}, func(_ int, err error) {
		if err != nil {
			errs = append(errs, err)
		}
	})
	if err := ctx.Err(); err != nil {
		return CreateProspectsResult{}, err
	}
	if len(errs) > 0 {
		return CreateProspectsResult{}, errs[0]
	}
	log := activity.GetLogger(ctx)
	var out CreateProspectsResult
	var ids []int64
	args := map[int64]*change.Request{}
	for i, o := range outcomes {
		rec := groups[i][0]
		switch o.result {
		case outcomeCreated:
			out.Created++
			if slices.Contains(ids, o.prospectID) {
				continue
			}
			ids = append(ids, o.prospectID)
			if o.handoff != nil {
				// A *Handoff is what workflows.ChangeRequest{Handoff: h} serializes to (it
				// embeds one), as the Account Engagement change feed sends it.
				args[o.prospectID] = &change.Request{Handoff: o.handoff}
				for _, r := range groups[i] {
					out.Linked = append(out.Linked, r.ID)
				}
			}
			log.Info("created a prospect for a record a person created in Salesforce", "prospectId", o.prospectID, "recordType", rec.Type, "recordId", rec.ID)
		case outcomeSkipped:
			out.Skipped++
			log.Info("a prospect has the new record's email already: not created", "recordType", rec.Type, "recordId", rec.ID, "prospectId", o.prospectID, "why", o.reason)
		case outcomeRefused:
			out.Refused++
			log.Warn("no prospect created for a new record", "recordType", rec.Type, "recordId", rec.ID, "reason", o.reason)
		}
	}
	if err := a.signalEach(ctx, ids, in.Signal, func(id int64) *change.Request { return args[id] }); err != nil {
		return CreateProspectsResult{}, err
	}
	return out, nil
}

// What became of one email.
const (
	outcomeCreated = iota + 1
	outcomeSkipped
	outcomeRefused
)

type createOutcome struct {
	result     int
	prospectID int64
	handoff    *Handoff
	reason     string
}

// byEmail groups records by email (normalised), in their order: one prospect per email, whose
// sync is handed all of them and picks among them as among any matches.
func byEmail(recs []NewRecord) [][]NewRecord {
	var out [][]NewRecord
	at := map[string]int{}
	for _, r := range recs {
		key := prospect.NormalizeEmail(r.Email)
		if i, ok := at[key]; ok {
			if !slices.ContainsFunc(out[i], func(o NewRecord) bool { return o.ID == r.ID }) {
				out[i] = append(out[i], r)
			}
			continue
		}
		at[key] = len(out)
		out = append(out, []NewRecord{r})
	}
	return out
}

// createProspect makes, or finds made by an earlier attempt, the prospect of one email's new
// records; an error is one to retry the batch for.
func (a *Activities) createProspect(ctx context.Context, group []NewRecord) (createOutcome, error) {
	matches := a.handedMatches(group)
	order := a.Settings.MatchOrder
	if len(order) == 0 {
		order = prospect.DefaultSettings().MatchOrder
	}
	best := prospect.BestMatch(matches, order)
	if best == nil {
		return createOutcome{result: outcomeRefused, reason: "no live record"}, nil
	}
	rec := group[slices.IndexFunc(group, func(r NewRecord) bool { return r.ID == best.ID })]
	email := strings.TrimSpace(rec.Email)
	if !prospect.ValidEmail(prospect.NormalizeEmail(email)) {
		return createOutcome{result: outcomeRefused, reason: "the email is not a valid address"}, nil
	}
	// A prospect made before the (latest) record was, to the second Account Engagement keeps,
	// had the email already: not ours. One made since is ours, from an earlier attempt.
	var since time.Time
	for _, r := range group {
		since = later(since, r.CreatedAt)
	}
	since = since.Truncate(time.Second)
	page, err := a.AE.QueryProspects(ctx, engagement.ProspectQuery{Email: email, IncludeDeleted: true, Limit: 2})
	if err != nil {
		return refusedOr(err)
	}
	switch ps := page.Prospects; {
	case len(ps) > 1:
		return createOutcome{result: outcomeSkipped, prospectID: ps[0].ID, reason: "several prospects have the email"}, nil
	case len(ps) == 1 && ps[0].CreatedAt.Before(since):
		return createOutcome{result: outcomeSkipped, prospectID: ps[0].ID, reason: "created before the record"}, nil
	}
	fields := map[string]any{"email": email}
	for _, m := range a.Settings.FieldMapping {
		v := rec.Fields[m.Salesforce]
		if _, set := fields[m.Engagement]; m.AppliesTo(rec.Type) && !set && strings.TrimSpace(v) != "" {
			fields[m.Engagement] = v
		}
	}
	var userID int64
	if rec.OwnerID != "" && !best.OwnerIsQueue() {
		if userID, err = a.engagementUserFor(ctx, rec.OwnerID); err != nil {
			return createOutcome{}, classify(err)
		}
		if userID != 0 {
			fields["userId"] = userID
		}
	}
	p, err := a.AE.UpsertLatestByEmail(ctx, email, fields)
	if err != nil {
		return refusedOr(err)
	}
	if p.CreatedAt.Before(since) {
		// Made before the record, yet not in the query's answer (v5 reads may trail writes by a
		// minute): the upsert has written over it. Still not ours to hand off.
		activity.GetLogger(ctx).Warn("the upsert found a prospect older than the new record that the query did not show: its names and assignment were written over",
			"prospectId", p.ID, "recordId", rec.ID)
		return createOutcome{result: outcomeSkipped, prospectID: p.ID, reason: "created before the record (found by the upsert)"}, nil
	}
	out := createOutcome{result: outcomeCreated, prospectID: p.ID}
	snap := fromEngagement(p)
	switch {
	case p.AssignedToID == 0:
	case p.AssignedToID == userID:
		snap.AssignedUserSalesforceID = rec.OwnerID
	default:
		sfID, err := a.userSalesforceID(ctx, p.AssignedToID)
		if err != nil && httperror.KindOf(err) != httperror.Gone {
			return out, nil // the sync reads the prospect and looks up for itself
		}
		snap.AssignedUserSalesforceID = sfID
	}
	out.handoff = change.NewHandoff(snap, &matches, time.Now().UTC())
	return out, nil
}

// handedMatches are one email's new records as a lookup would have found them: the mapped
// fields only.
func (a *Activities) handedMatches(group []NewRecord) prospect.Matches {
	var m prospect.Matches
	for _, r := range group {
		rec := prospect.Record{Type: r.Type, ID: r.ID, Email: r.Email, OwnerID: r.OwnerID, LastModified: r.LastModified, Fields: map[string]string{}}
		for _, f := range prospect.MappedFields(a.Settings, r.Type) {
			if v, ok := r.Fields[f]; ok {
				rec.Fields[f] = v
			}
		}
		if r.Type == prospect.TypeContact {
			m.Contacts = append(m.Contacts, rec)
		} else {
			m.Leads = append(m.Leads, rec)
		}
	}
	return m
}

// refusedOr turns an Account Engagement answer about this email or its fields (invalid email,
// a field refused) into a refusal; anything else is returned to retry the batch for.
func refusedOr(err error) (createOutcome, error) {
	switch httperror.KindOf(err) {
	case httperror.Data, httperror.Gone:
		reason := err.Error()
		if e, ok := errors.AsType[httperror.Kinded](err); ok {
			code, msg := e.Reason()
			reason = code + ": " + msg
		}
		return createOutcome{result: outcomeRefused, reason: reason}, nil
	}
	return createOutcome{}, classify(err)
}

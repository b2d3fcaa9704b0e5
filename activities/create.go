package activities

import (
	"context"
	"strconv"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

// CreateLead creates the prospect's Lead, safely under retries: a retry first looks for the
// Lead an earlier attempt may have created (its response lost), and returns that one. With
// ProspectIDField the create is an upsert on the prospect id, idempotent by itself.
func (a *Activities) CreateLead(ctx context.Context, in CreateLeadInput) (CreateLeadResult, error) {
	if p := a.held(); p != nil {
		return CreateLeadResult{Held: p}, nil
	}
	if err := admit(a.SFBudget); err != nil {
		return CreateLeadResult{}, err
	}
	if activity.GetInfo(ctx).Attempt > 1 && a.ProspectIDField == "" {
		existing, err := a.existingLead(ctx, in)
		if err != nil {
			return CreateLeadResult{}, err
		}
		if existing != nil {
			activity.GetLogger(ctx).Info("found the Lead an earlier attempt created", "leadId", existing.ID)
			return CreateLeadResult{Record: *existing, Existing: true}, nil
		}
	}
	if a.writes != nil {
		return a.createShared(ctx, in)
	}
	rec, err := a.createOne(ctx, in)
	return CreateLeadResult{Record: rec}, classify(err)
}

// createOne creates the Lead in calls of its own: one call, also when Salesforce picks the
// owner (a composite creates and reads back).
func (a *Activities) createOne(ctx context.Context, in CreateLeadInput) (prospect.Record, error) {
	fields := anyMap(in.Fields)
	var opts []salesforce.WriteOption
	if a.ProspectIDField != "" {
		opts = append(opts, salesforce.UpsertOn(a.ProspectIDField, strconv.FormatInt(in.ProspectID, 10)))
	}
	if in.UseAssignmentRule || in.OwnerID == "" {
		// Salesforce picks the owner (the active rule with TRUE, the integration user with
		// FALSE): read it back in the same call.
		opts = append(opts, salesforce.AutoAssign(in.UseAssignmentRule))
		rec, err := a.SF.CreateAndRead(ctx, prospect.TypeLead, fields, fieldsOf(prospect.TypeLead, in.ReadFields), opts...)
		if err != nil {
			return prospect.Record{}, err
		}
		return toRecords([]salesforce.Record{rec}, prospect.TypeLead, in.ReadFields)[0], nil
	}
	fields["OwnerId"] = in.OwnerID
	// FALSE (the client's default on Lead writes): the owner we set must not be overridden by
	// the active rule.
	var id string
	var err error
	if a.ProspectIDField != "" {
		var res salesforce.UpsertResult
		res, err = a.SF.Upsert(ctx, prospect.TypeLead, a.ProspectIDField, strconv.FormatInt(in.ProspectID, 10), fields)
		id = res.ID
	} else {
		id, err = a.SF.Create(ctx, prospect.TypeLead, fields)
	}
	if err != nil {
		return prospect.Record{}, err
	}
	return ownedLead(in, id), nil
}

// existingLead finds the Lead an earlier attempt at this create may have stored before its
// response was lost; nil when there is none.
func (a *Activities) existingLead(ctx context.Context, in CreateLeadInput) (*prospect.Record, error) {
	recs, err := a.SF.Select(ctx, salesforce.Select{Object: prospect.TypeLead, Fields: fieldsOf(prospect.TypeLead, in.ReadFields),
		Where:   []salesforce.Cond{salesforce.Eq("Email", strings.TrimSpace(in.Email)), salesforce.Eq("IsConverted", false)},
		OrderBy: "CreatedDate DESC", Limit: 1})
	if err != nil {
		return nil, classify(err)
	}
	if len(recs) == 0 {
		return nil, nil
	}
	return &toRecords(recs, prospect.TypeLead, in.ReadFields)[0], nil
}

// createShared creates the Lead in a collections call shared with other syncs' creates of the
// same kind; Leads whose owner Salesforce picks are read back for the whole batch at once.
func (a *Activities) createShared(ctx context.Context, in CreateLeadInput) (CreateLeadResult, error) {
	key := keyCreateOwned
	switch {
	case in.UseAssignmentRule:
		key = keyCreateRule
	case in.OwnerID == "":
		key = keyCreateIntegr
	}
	out, err := a.writes.Do(ctx, key, writeOp{create: &in})
	if p := heldBy(err); p != nil {
		return CreateLeadResult{Held: p}, nil
	}
	if err == nil {
		err = out.err
	}
	if err != nil {
		return CreateLeadResult{}, classify(err)
	}
	if out.record.ID == "" {
		// Created, but deleted before the read-back: the retry looks for a live Lead first and
		// creates one only if there is none.
		return CreateLeadResult{}, temporal.NewApplicationError("the Lead created for the prospect was deleted before it could be read back", ErrTypeTransient)
	}
	return CreateLeadResult{Record: out.record}, nil
}

// ownedLead is the Lead just created with the owner and fields we set.
func ownedLead(in CreateLeadInput, id string) prospect.Record {
	rec := prospect.Record{Type: prospect.TypeLead, ID: id, Email: in.Email, OwnerID: in.OwnerID, Fields: map[string]string{}}
	for _, f := range in.ReadFields {
		rec.Fields[f] = in.Fields[f]
	}
	return rec
}

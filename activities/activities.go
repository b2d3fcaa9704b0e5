// Package activities does the sync's I/O: reads and writes against Salesforce and Account
// Engagement through their clients. Activities never decide; they report what they found and
// classify failures into Temporal application errors the workflow can act on.
package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

// Application error types the activities return; the workflow's retry policy and error
// handling key on them.
const (
	// ErrTypeDataError: the data cannot sync until the prospect changes (not retried).
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
)

// ErrorDetails travel with a DataError so the workflow can show the API's code and message.
type ErrorDetails struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// userCacheTTL bounds how stale an Account Engagement user → Salesforce user mapping may be.
const userCacheTTL = 5 * time.Minute

// maxMatches bounds how many records with one email a lookup reads.
const maxMatches = 50

// Activities holds the clients; one method per activity.
type Activities struct {
	SF *salesforce.Client
	AE *engagement.Client
	// Start starts or signals a prospect's sync (used by the change feed).
	Start StartFunc
	// ProspectIDField, when set, is a Lead external-id field holding the prospect id: creates
	// become upserts on it, idempotent even when an earlier attempt is still in flight.
	ProspectIDField string

	mu    sync.Mutex
	users map[int64]cachedUser
	// bySalesforceID maps Salesforce user ids to Account Engagement users, refreshed as a whole.
	bySalesforceID   map[string]int64
	bySalesforceTime time.Time
}

type cachedUser struct {
	salesforceID string
	at           time.Time
}

// New returns the activities over the two clients and the sync starter.
func New(sf *salesforce.Client, ae *engagement.Client, start StartFunc) *Activities {
	return &Activities{SF: sf, AE: ae, Start: start, users: map[int64]cachedUser{}}
}

// FetchProspect reads the prospect and its assigned user's Salesforce id.
func (a *Activities) FetchProspect(ctx context.Context, in FetchProspectInput) (FetchProspectResult, error) {
	p, err := a.AE.GetProspect(ctx, in.ProspectID)
	if engagement.IsNotFound(err) {
		return FetchProspectResult{Found: false}, nil
	}
	if err != nil {
		return FetchProspectResult{}, classify(err)
	}
	out := fromEngagement(p)
	if p.AssignedToID != 0 {
		sfID, err := a.userSalesforceID(ctx, p.AssignedToID)
		if err != nil && !engagement.IsNotFound(err) {
			return FetchProspectResult{}, classify(err)
		}
		out.AssignedUserSalesforceID = sfID
	}
	return FetchProspectResult{Found: true, Prospect: out}, nil
}

func fromEngagement(p engagement.Prospect) Prospect {
	return Prospect{
		ID: p.ID, Email: p.Email, FirstName: p.FirstName, LastName: p.LastName, Company: p.Company,
		JobTitle: p.JobTitle, Phone: p.Phone, AssignedUserID: p.AssignedToID,
		CRMID: p.SalesforceID, CRMLeadID: p.SalesforceLeadID, CRMContactID: p.SalesforceContactID,
		CRMOwnerID: p.SalesforceOwnerID, UpdatedAt: p.UpdatedAt, Deleted: p.IsDeleted,
	}
}

// userSalesforceID maps an Account Engagement user to its Salesforce user, cached briefly:
// most prospects share a handful of users.
func (a *Activities) userSalesforceID(ctx context.Context, userID int64) (string, error) {
	a.mu.Lock()
	c, ok := a.users[userID]
	a.mu.Unlock()
	if ok && time.Since(c.at) < userCacheTTL {
		return c.salesforceID, nil
	}
	u, err := a.AE.GetUser(ctx, userID)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	a.users[userID] = cachedUser{salesforceID: u.SalesforceID, at: time.Now()}
	a.mu.Unlock()
	return u.SalesforceID, nil
}

// engagementUserFor finds the Account Engagement user of a Salesforce user (0 when none).
func (a *Activities) engagementUserFor(ctx context.Context, salesforceID string) (int64, error) {
	a.mu.Lock()
	fresh := a.bySalesforceID != nil && time.Since(a.bySalesforceTime) < userCacheTTL
	id, ok := a.bySalesforceID[salesforceID]
	a.mu.Unlock()
	if fresh && ok {
		return id, nil
	}
	if fresh && !ok {
		return 0, nil
	}
	users, err := a.AE.ListUsers(ctx)
	if err != nil {
		return 0, err
	}
	m := make(map[string]int64, len(users))
	for _, u := range users {
		if u.SalesforceID != "" {
			m[u.SalesforceID] = u.ID
		}
	}
	a.mu.Lock()
	a.bySalesforceID, a.bySalesforceTime = m, time.Now()
	a.mu.Unlock()
	return m[salesforceID], nil
}

// Fields every lookup reads, besides the mapped ones.
var (
	leadBaseFields    = []string{"Id", "Email", "OwnerId", "IsConverted", "ConvertedContactId", "LastModifiedDate"}
	contactBaseFields = []string{"Id", "Email", "OwnerId", "LastModifiedDate"}
)

func selectFields(base, mapped []string) string {
	fields := slices.Clone(base)
	for _, f := range mapped {
		if !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
	}
	return strings.Join(fields, ", ")
}

// FindMatches reads the Leads and Contacts with the prospect's email, and the record it is
// linked to, in ONE Salesforce API call (a composite request). Converted Leads whose Contact
// was not among the matches cost one more call, only then.
func (a *Activities) FindMatches(ctx context.Context, in FindMatchesInput) (FindMatchesResult, error) {
	email := strings.TrimSpace(in.Email)
	leadSelect := selectFields(leadBaseFields, in.LeadFields)
	contactSelect := selectFields(contactBaseFields, in.ContactFields)
	reqs := []salesforce.SubRequest{
		{Method: "GET", ReferenceID: "leads", URL: a.SF.QueryPath(fmt.Sprintf(
			"SELECT %s FROM Lead WHERE Email = %s ORDER BY LastModifiedDate DESC LIMIT %d", leadSelect, salesforce.Quote(email), maxMatches))},
		{Method: "GET", ReferenceID: "contacts", URL: a.SF.QueryPath(fmt.Sprintf(
			"SELECT %s FROM Contact WHERE Email = %s ORDER BY LastModifiedDate DESC LIMIT %d", contactSelect, salesforce.Quote(email), maxMatches))},
	}
	if in.LinkedID != "" {
		sel := leadSelect
		if in.LinkedType == TypeContact {
			sel = contactSelect
		}
		reqs = append(reqs, salesforce.SubRequest{Method: "GET", ReferenceID: "linked", URL: a.SF.QueryPath(fmt.Sprintf(
			"SELECT %s FROM %s WHERE Id = %s", sel, in.LinkedType, salesforce.Quote(in.LinkedID)))})
	}
	subs, err := a.SF.Composite(ctx, salesforce.CompositeRequest{AllOrNone: false, Requests: reqs})
	if err != nil {
		return FindMatchesResult{}, classify(err)
	}
	var m Matches
	for _, sub := range subs {
		recs, err := sub.Records()
		if err != nil {
			if sub.ReferenceID == "linked" && salesforce.IsDataError(err) {
				// A malformed stored id cannot name a live record.
				m.LinkedGone = true
				continue
			}
			return FindMatchesResult{}, classify(err)
		}
		switch sub.ReferenceID {
		case "leads":
			m.Leads = toRecords(recs, TypeLead, in.LeadFields)
		case "contacts":
			m.Contacts = toRecords(recs, TypeContact, in.ContactFields)
		case "linked":
			linked := toRecords(recs, in.LinkedType, fieldsFor(in))
			if len(linked) == 0 {
				m.LinkedGone = true
			} else {
				m.Linked = &linked[0]
			}
		}
	}
	if err := a.followConversions(ctx, &m, in); err != nil {
		return FindMatchesResult{}, err
	}
	return FindMatchesResult{Matches: m}, nil
}

func fieldsFor(in FindMatchesInput) []string {
	if in.LinkedType == TypeContact {
		return in.ContactFields
	}
	return in.LeadFields
}

// followConversions adds the Contacts that converted Leads became, when the email lookup
// did not already find them (a converted Contact may carry another email).
func (a *Activities) followConversions(ctx context.Context, m *Matches, in FindMatchesInput) error {
	var missing []string
	have := func(id string) bool {
		return slices.ContainsFunc(m.Contacts, func(c CRMRecord) bool { return c.ID == id }) || slices.Contains(missing, id)
	}
	converted := slices.Clone(m.Leads)
	if m.Linked != nil {
		converted = append(converted, *m.Linked)
	}
	for _, l := range converted {
		if l.Type == TypeLead && l.IsConverted && l.ConvertedContactID != "" && !have(l.ConvertedContactID) {
			missing = append(missing, l.ConvertedContactID)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	quoted := make([]string, len(missing))
	for i, id := range missing {
		quoted[i] = salesforce.Quote(id)
	}
	recs, err := a.SF.Query(ctx, fmt.Sprintf("SELECT %s FROM Contact WHERE Id IN (%s)",
		selectFields(contactBaseFields, in.ContactFields), strings.Join(quoted, ", ")))
	if err != nil {
		return classify(err)
	}
	m.Contacts = append(m.Contacts, toRecords(recs, TypeContact, in.ContactFields)...)
	return nil
}

func toRecords(recs []salesforce.Record, typ string, mapped []string) []CRMRecord {
	out := make([]CRMRecord, 0, len(recs))
	for _, r := range recs {
		c := CRMRecord{
			Type: typ, ID: r.String("Id"), Email: r.String("Email"), OwnerID: r.String("OwnerId"),
			IsConverted: r.Bool("IsConverted"), ConvertedContactID: r.String("ConvertedContactId"),
			LastModified: r.Time("LastModifiedDate"), Fields: map[string]string{},
		}
		for _, f := range mapped {
			if _, ok := r[f]; ok {
				c.Fields[f] = r.String(f)
			}
		}
		out = append(out, c)
	}
	return out
}

// CreateLead creates the prospect's Lead, safely under retries: a retry first looks for the
// Lead an earlier attempt may have created (its response lost), and returns that one.
func (a *Activities) CreateLead(ctx context.Context, in CreateLeadInput) (CreateLeadResult, error) {
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
	fields := make(map[string]any, len(in.Fields)+1)
	for k, v := range in.Fields {
		fields[k] = v
	}
	prospectID := strconv.FormatInt(in.ProspectID, 10)
	if in.UseAssignmentRule {
		return a.createAndRead(ctx, fields, "TRUE", prospectID, in.ReadFields)
	}
	if in.OwnerID == "" {
		// Salesforce makes the integration user the owner; read it back in the same call.
		return a.createAndRead(ctx, fields, "FALSE", prospectID, in.ReadFields)
	}
	fields["OwnerId"] = in.OwnerID
	// FALSE: the owner we set must not be overridden by the active rule.
	var id string
	var err error
	if a.ProspectIDField != "" {
		var res salesforce.UpsertResult
		res, err = a.SF.Upsert(ctx, TypeLead, a.ProspectIDField, prospectID, fields, salesforce.AutoAssign(false))
		id = res.ID
	} else {
		id, err = a.SF.Create(ctx, TypeLead, fields, salesforce.AutoAssign(false))
	}
	if err != nil {
		return CreateLeadResult{}, classify(err)
	}
	rec := CRMRecord{Type: TypeLead, ID: id, Email: in.Email, OwnerID: in.OwnerID, Fields: map[string]string{}}
	for _, f := range in.ReadFields {
		rec.Fields[f] = in.Fields[f]
	}
	return CreateLeadResult{Record: rec}, nil
}

// existingLead finds the Lead an earlier attempt at this create may have stored before its
// response was lost; nil when there is none.
func (a *Activities) existingLead(ctx context.Context, in CreateLeadInput) (*CRMRecord, error) {
	recs, err := a.SF.Query(ctx, fmt.Sprintf("SELECT %s FROM Lead WHERE Email = %s AND IsConverted = false ORDER BY CreatedDate DESC LIMIT 1",
		selectFields(leadBaseFields, in.ReadFields), salesforce.Quote(strings.TrimSpace(in.Email))))
	if err != nil {
		return nil, classify(err)
	}
	if len(recs) == 0 {
		return nil, nil
	}
	return &toRecords(recs, TypeLead, in.ReadFields)[0], nil
}

// createAndRead creates a Lead whose owner Salesforce picks (the active rule with autoAssign
// "TRUE", the integration user with "FALSE") and reads that owner back, in one composite call.
func (a *Activities) createAndRead(ctx context.Context, fields map[string]any, autoAssign, prospectID string, readFields []string) (CreateLeadResult, error) {
	create := salesforce.SubRequest{Method: "POST", ReferenceID: "lead", URL: a.SF.SObjectPath(TypeLead), Body: fields,
		HTTPHeaders: map[string]string{"Sforce-Auto-Assign": autoAssign}}
	if a.ProspectIDField != "" {
		create.Method, create.URL = "PATCH", a.SF.SObjectPath(TypeLead, a.ProspectIDField, prospectID)
	}
	subs, err := a.SF.Composite(ctx, salesforce.CompositeRequest{AllOrNone: true, Requests: []salesforce.SubRequest{
		create,
		{Method: "GET", ReferenceID: "owner", URL: a.SF.SObjectPath(TypeLead, "@{lead.id}") + "?fields=" + strings.ReplaceAll(selectFields(leadBaseFields, readFields), " ", "")},
	}})
	if err != nil {
		return CreateLeadResult{}, classify(err)
	}
	for _, sub := range subs {
		if err := sub.Err(); err != nil {
			return CreateLeadResult{}, classify(err)
		}
	}
	var rec salesforce.Record
	if err := json.Unmarshal(subs[len(subs)-1].Body, &rec); err != nil || rec.String("Id") == "" {
		return CreateLeadResult{}, temporal.NewApplicationError("created Lead not readable", ErrTypeTransient, err)
	}
	return CreateLeadResult{Record: toRecords([]salesforce.Record{rec}, TypeLead, readFields)[0]}, nil
}

// UpdateRecord writes changed fields to the linked Lead or Contact.
func (a *Activities) UpdateRecord(ctx context.Context, in UpdateRecordInput) (UpdateRecordResult, error) {
	fields := make(map[string]any, len(in.Fields))
	for k, v := range in.Fields {
		fields[k] = v
	}
	var opts []salesforce.WriteOption
	if in.Type == TypeLead {
		opts = append(opts, salesforce.AutoAssign(false)) // never re-run the rule on an owned Lead
	}
	if err := a.SF.Update(ctx, in.Type, in.ID, fields, opts...); err != nil {
		return UpdateRecordResult{}, classify(err)
	}
	return UpdateRecordResult{}, nil
}

// WriteBack writes CRM ids, Salesforce-mastered fields and the owner to the prospect.
func (a *Activities) WriteBack(ctx context.Context, in WriteBackInput) (WriteBackResult, error) {
	fields := make(map[string]any, len(in.Fields)+1)
	for k, v := range in.Fields {
		fields[k] = v
	}
	if in.AssignOwnerID != "" {
		userID, err := a.engagementUserFor(ctx, in.AssignOwnerID)
		if err != nil {
			return WriteBackResult{}, classify(err)
		}
		if userID != 0 {
			fields["assignedToId"] = userID
		}
	}
	if len(fields) == 0 {
		return WriteBackResult{AssignedUserID: in.CurrentAssignedUserID}, nil
	}
	p, err := a.AE.UpdateProspect(ctx, in.ProspectID, fields)
	if err != nil {
		return WriteBackResult{}, classify(err)
	}
	return WriteBackResult{AssignedUserID: p.AssignedToID, Prospect: fromEngagement(p)}, nil
}

// classify turns a client error into a Temporal application error with an explicit type.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var sfErr *salesforce.APIError
	var aeErr *engagement.APIError
	switch {
	case salesforce.IsConvertedLead(err):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeConvertedLead, err)
	case salesforce.IsNotFound(err):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeRecordGone, err)
	case engagement.IsNotFound(err):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeProspectGone, err)
	case salesforce.IsDataError(err) && errors.As(err, &sfErr):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeDataError, err,
			ErrorDetails{Code: sfErr.Code, Message: withFields(sfErr.Message, sfErr.Fields)})
	case engagement.IsDataError(err) && errors.As(err, &aeErr):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeDataError, err,
			ErrorDetails{Code: "AE_" + strconv.Itoa(aeErr.Code), Message: aeErr.Message})
	}
	if d, ok := salesforce.RateLimitDelay(err); ok {
		return temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeRateLimited, temporal.ApplicationErrorOptions{NextRetryDelay: d, Cause: err})
	}
	if d, ok := engagement.RateLimitDelay(err); ok {
		return temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeRateLimited, temporal.ApplicationErrorOptions{NextRetryDelay: d, Cause: err})
	}
	if salesforce.IsAuth(err) || engagement.IsAuth(err) {
		return temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeAuth, temporal.ApplicationErrorOptions{Cause: err})
	}
	if salesforce.IsTransient(err) || engagement.IsTransient(err) {
		return temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeTransient, temporal.ApplicationErrorOptions{Cause: err})
	}
	// An answer we don't classify (INACTIVE_OWNER_OR_USER, INSUFFICIENT_ACCESS_…): retrying
	// cannot help, so show it with its code and wait for a change rather than loop for ever.
	switch {
	case errors.As(err, &sfErr):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeDataError, err,
			ErrorDetails{Code: sfErr.Code, Message: withFields(sfErr.Message, sfErr.Fields)})
	case errors.As(err, &aeErr):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeDataError, err,
			ErrorDetails{Code: "AE_" + strconv.Itoa(aeErr.Code), Message: aeErr.Message})
	}
	// Not an API answer at all: the network, a timeout. Retried.
	return temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeTransient, temporal.ApplicationErrorOptions{Cause: err})
}

func withFields(msg string, fields []string) string {
	if len(fields) == 0 {
		return msg
	}
	return msg + " (fields: " + strings.Join(fields, ", ") + ")"
}

// Package activities does the sync's I/O: reads and writes against Salesforce and Account
// Engagement through their clients. Activities never decide; they report what they found and
// classify failures into Temporal application errors the workflow can act on.
package activities

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/internal/batch"
	"github.com/prospect-sync/prospect-sync/internal/budget"
	"github.com/prospect-sync/prospect-sync/internal/httperror"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/salesforce"
)

// userCacheTTL bounds how stale an Account Engagement user → Salesforce user mapping may be.
const userCacheTTL = 5 * time.Minute

// Activities holds the clients; one method per activity.
type Activities struct {
	SF *salesforce.Client
	AE *engagement.Client
	// Start starts or signals a prospect's sync (used by the change feeds).
	Start StartFunc
	// Linked finds the prospects whose syncs link Salesforce records (used by the CRM feed).
	Linked LinkedFunc
	// Backlog counts the syncs started or signalled but not yet through their first decision;
	// the change feed waits for it before handing out a large page (nil: never waits).
	Backlog BacklogFunc
	pace    pace // zero: defaultPace
	// ProspectIDField, when set, is a Lead external-id field holding the prospect id: creates
	// become upserts on it, idempotent even when an earlier attempt is still in flight.
	ProspectIDField string
	// FeedRead, when set, is told after each successful change-feed poll how far that feed
	// has read (the worker's change-feed lag metric).
	FeedRead func(feed string, through time.Time)
	// BatchSent, when set, is told of each shared Salesforce call as it goes: its kind
	// (metrics.BatchLookup, metrics.BatchWrite), how many syncs it serves and how long the
	// first of them waited (the worker's batch metrics).
	BatchSent func(kind string, size int, waited time.Duration)
	// Settings are the worker's sync settings, for the change feed's page-wide lookups.
	Settings prospect.Settings
	// Paused, when set, reports an operator's pause: every write is held while it holds.
	Paused PausedFunc
	// SFBudget and AEBudget hold Salesforce- and Account Engagement-bound work back once the
	// org's or business unit's daily usage passes their reserve; nil: no reserve.
	SFBudget, AEBudget *budget.Gate

	// lookups and writes share Salesforce calls across syncs (see EnableBatching); nil: one call each.
	lookups *batch.Batcher[FindMatchesInput, lookupOutcome]
	writes  *batch.Batcher[writeOp, writeOutcome]

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
	if err := admit(a.AEBudget); err != nil {
		return FetchProspectResult{}, err
	}
	p, err := a.AE.GetProspect(ctx, in.ProspectID)
	if httperror.KindOf(err) == httperror.Gone {
		// Deleted (in the recycle bin) or never there: one more call, on this rare path only,
		// tells the two apart.
		deleted, found, err := a.AE.GetDeletedProspect(ctx, in.ProspectID)
		if err != nil {
			return FetchProspectResult{}, classify(err)
		}
		return FetchProspectResult{Found: found, Prospect: fromEngagement(deleted)}, nil
	}
	if err != nil {
		return FetchProspectResult{}, classify(err)
	}
	out := fromEngagement(p)
	if p.AssignedToID != 0 {
		sfID, err := a.userSalesforceID(ctx, p.AssignedToID)
		if err != nil && httperror.KindOf(err) != httperror.Gone {
			return FetchProspectResult{}, classify(err)
		}
		out.AssignedUserSalesforceID = sfID
	}
	return FetchProspectResult{Found: true, Prospect: out}, nil
}

// Snapshot is a prospect as the client read it, in the domain's terms (without its assigned
// user's Salesforce id, which takes a user lookup): what a page read hands a sync.
func Snapshot(p engagement.Prospect) prospect.Prospect { return fromEngagement(p) }

// fromEngagement copies every field the client read into the domain's prospect, matched by
// Account Engagement name (the client's JSON tags, the domain's table), so a field added to
// both needs no code here.
func fromEngagement(p engagement.Prospect) prospect.Prospect {
	var out prospect.Prospect
	v := reflect.ValueOf(p)
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		out.Set(name, v.Field(i).Interface())
	}
	return out
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

// UpdateRecord writes changed fields to the linked Lead or Contact.
func (a *Activities) UpdateRecord(ctx context.Context, in UpdateRecordInput) (UpdateRecordResult, error) {
	if p := a.held(); p != nil {
		return UpdateRecordResult{Held: p}, nil
	}
	if err := admit(a.SFBudget); err != nil {
		return UpdateRecordResult{}, err
	}
	// The client sends Sforce-Auto-Assign: FALSE on Lead writes: an owned Lead never re-runs the rule.
	if a.writes != nil {
		out, err := a.writes.Do(ctx, keyUpdate, writeOp{update: &in})
		if p := heldBy(err); p != nil {
			return UpdateRecordResult{Held: p}, nil
		}
		if err == nil {
			err = out.err
		}
		return UpdateRecordResult{}, classify(err)
	}
	return UpdateRecordResult{}, classify(a.SF.Update(ctx, in.Type, in.ID, anyMap(in.Fields)))
}

// WriteBack writes Salesforce-mastered fields to the prospect and assigns it to the Account
// Engagement user of the record's owner, through userId: v5's documented way to assign, one
// assignment per request (docs/engagement.md). The CRM ids are read-only there.
func (a *Activities) WriteBack(ctx context.Context, in WriteBackInput) (WriteBackResult, error) {
	if p := a.held(); p != nil {
		return WriteBackResult{AssignedUserID: in.CurrentAssignedUserID, Held: p}, nil
	}
	if err := admit(a.AEBudget); err != nil {
		return WriteBackResult{}, err
	}
	fields := anyMap(in.Fields)
	if in.AssignOwnerID != "" {
		userID, err := a.engagementUserFor(ctx, in.AssignOwnerID)
		if err != nil {
			return WriteBackResult{}, classify(err)
		}
		if userID != 0 && userID != in.CurrentAssignedUserID {
			fields["userId"] = userID
		}
	}
	if len(fields) == 0 {
		return WriteBackResult{AssignedUserID: in.CurrentAssignedUserID}, nil
	}
	p, err := a.AE.UpdateProspect(ctx, in.ProspectID, fields)
	if email, ok := in.Fields["email"]; ok && engagement.IsEmailTaken(err) {
		return WriteBackResult{}, a.emailTaken(ctx, in.ProspectID, email, err)
	}
	if err != nil {
		return WriteBackResult{}, classify(err)
	}
	return WriteBackResult{AssignedUserID: p.AssignedToID, Prospect: fromEngagement(p)}, nil
}

// emailTaken names the prospect that has the email Account Engagement refused, with one query
// on this rare path, so that the sync can say whose it is and signal that prospect's sync.
func (a *Activities) emailTaken(ctx context.Context, self int64, email string, refused error) error {
	page, err := a.AE.QueryProspects(ctx, engagement.ProspectQuery{Email: email, Limit: 2})
	if err != nil {
		return classify(err) // retried: the write is retried with it, and refused again
	}
	taken := EmailTaken{Email: email}
	for _, p := range page.Prospects {
		if p.ID != self && prospect.NormalizeEmail(p.Email) == prospect.NormalizeEmail(email) {
			taken.ProspectID = p.ID
			break
		}
	}
	return emailTakenError(refused, taken)
}

// anyMap is fields as a request body, with room for one more.
func anyMap(fields map[string]string) map[string]any {
	out := make(map[string]any, len(fields)+1)
	for k, v := range fields {
		out[k] = v
	}
	return out
}

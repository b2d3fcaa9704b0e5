// Package plan is the dry run of a sync (`starter plan`): it reads Account Engagement and
// Salesforce the way a first load does, page-wide reads and batched composite lookups, and
// runs prospect.Decide on each prospect with the sync's own settings and, for a prospect that
// already syncs, the sync's own link and base. It writes nothing to either service and starts
// no workflow. Decide is the one code path the plan and the sync share, so they cannot
// disagree.
package plan

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"go.temporal.io/sdk/client"

	"github.com/prospect-sync/prospect-sync/activities"
	"github.com/prospect-sync/prospect-sync/engagement"
	"github.com/prospect-sync/prospect-sync/metrics"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// Outcomes: what the next sync of a prospect would do.
const (
	OutcomeLink      = "link"          // sync with an existing Lead or Contact (R2)
	OutcomeInStep    = "stays-synced"  // already synced with its record; nothing to write
	OutcomeUpdate    = "update"        // already synced; the next sync writes these changes
	OutcomeCreate    = "create-lead"   // create a Lead (R4, R5)
	OutcomeWait      = "wait"          // wait for an assigned user (R3, R6)
	OutcomeDoNotSync = "do-not-sync"   // R1
	OutcomeDeleted   = "crm-deleted"   // flagged: its record was deleted (or the sync stopped)
	OutcomeMarkGone  = "mark-deleted"  // its linked record is gone: it will be flagged
	OutcomeStop      = "stop-syncing"  // its record became another prospect's
	OutcomeError     = "error"         // a SyncError with a code
	OutcomeGone      = "prospect-gone" // deleted in, or unknown to, Account Engagement
)

// Row is one prospect's plan.
type Row struct {
	ProspectID int64  `json:"prospectId"`
	Email      string `json:"email"`
	Outcome    string `json:"outcome"`
	// Rule is R1…R6, an error code, or what else decided ("email-edit", "merge", "restore").
	Rule  string             `json:"rule"`
	State prospect.SyncState `json:"state"`
	// Record is the record it would link to (or stays linked to).
	Record string `json:"record,omitempty"`
	// Owner is who a new Lead would be owned by: a Salesforce user id, "integration user", or
	// "assignment rule".
	Owner  string `json:"owner,omitempty"`
	Reason string `json:"reason"`
	// RecordUpdates and ProspectUpdates count the fields the sync would write on each side.
	RecordUpdates   int `json:"recordUpdates,omitempty"`
	ProspectUpdates int `json:"prospectUpdates,omitempty"`
	// OwnerFlowsBack: the record's owner would become the prospect's assigned user.
	OwnerFlowsBack bool `json:"ownerFlowsBack,omitempty"`
	// Synced is true when a sync of the prospect already exists.
	Synced bool `json:"synced"`
	// LookedUp: its decision needed Salesforce's records (the real run looks it up too).
	LookedUp bool `json:"lookedUp,omitempty"`
}

// Plan is the dry run's result.
type Plan struct {
	Rows []Row `json:"rows"`
	// Calls are the API calls the plan itself made, by API (metrics.APISalesforce, …), token
	// and version requests aside.
	Calls map[string]int64 `json:"calls"`
}

// Planner reads what a plan needs. Acts is only used for its page-wide lookup.
type Planner struct {
	AE       *engagement.Client
	Acts     *activities.Activities
	Temporal client.Client
	Settings prospect.Settings
	// Counter counts the plan's API calls; it is the clients' observer.
	Counter *Counter
}

// Counter is a connect.APIObserver counting API calls, token and version requests aside.
type Counter struct{ sf, ae atomic.Int64 }

// APICall implements connect.APIObserver.
func (c *Counter) APICall(api, kind, _ string) {
	if kind == metrics.KindToken || kind == metrics.KindVersions {
		return
	}
	if api == metrics.APISalesforce {
		c.sf.Add(1)
	} else {
		c.ae.Add(1)
	}
}

// Calls is the count so far.
func (c *Counter) Calls() map[string]int64 {
	return map[string]int64{metrics.APISalesforce: c.sf.Load(), metrics.APIEngagement: c.ae.Load()}
}

// Run plans the prospects named by ids, or every prospect in Account Engagement when all.
func (p *Planner) Run(ctx context.Context, ids []int64, all bool) (Plan, error) {
	ps, err := p.read(ctx, ids, all)
	if err != nil {
		return Plan{}, err
	}
	links, err := p.links(ctx, ps.snaps)
	if err != nil {
		return Plan{}, err
	}
	rows := make([]Row, len(ps.snaps))
	var ins []activities.FindMatchesInput
	var need []int
	owners := ps.owners
	for i, snap := range ps.snaps {
		snap.p.Link = links[snap.p.ID].link
		rows[i] = Row{ProspectID: snap.p.ID, Email: snap.p.Email, Synced: links[snap.p.ID].synced}
		if snap.gone {
			rows[i].Outcome, rows[i].Rule, rows[i].State, rows[i].Reason = OutcomeGone, prospect.CodeProspectNotFound, prospect.StateSyncError, snap.why
			continue
		}
		ps.snaps[i] = snap
		if prospect.Decide(snap.p, nil, p.Settings).Action == prospect.ActionLookup {
			ins = append(ins, activities.FindMatchesInput{ProspectID: snap.p.ID, Email: snap.p.Email,
				LinkedType: snap.p.Link.Type, LinkedID: snap.p.Link.ID,
				LeadFields:    prospect.MappedFields(p.Settings, prospect.TypeLead),
				ContactFields: prospect.MappedFields(p.Settings, prospect.TypeContact),
				RecentFields:  activities.RecentFieldsOf(p.Settings)})
			need = append(need, i)
		}
	}
	matches := map[int]*prospect.Matches{}
	if len(ins) > 0 {
		found, err := p.Acts.LookupMany(ctx, ins)
		if err != nil {
			return Plan{}, fmt.Errorf("look up Salesforce: %w", err)
		}
		for k, i := range need {
			matches[i] = &found[k]
			rows[i].LookedUp = true
		}
	}
	for i, snap := range ps.snaps {
		if rows[i].Outcome != "" {
			continue
		}
		d := prospect.Decide(snap.p, matches[i], p.Settings)
		if u := owners[d.AssignOwner]; d.AssignOwner != "" && (u == 0 || u == snap.p.AssignedUserID) {
			// The sync assigns the owner's Account Engagement user only when there is one and
			// it is not the assigned user already: no write.
			d.AssignOwner = ""
		}
		fill(&rows[i], d, snap.p)
	}
	slices.SortFunc(rows, func(a, b Row) int { return cmp.Compare(a.ProspectID, b.ProspectID) })
	return Plan{Rows: rows, Calls: p.Counter.Calls()}, nil
}

// snapshot is a prospect as read, with its assigned user mapped.
type snapshot struct {
	p    prospect.Prospect
	gone bool
	why  string
}

// read is what the plan read of Account Engagement: the prospects, and the users by their
// Salesforce user id.
type read struct {
	snaps  []snapshot
	owners map[string]int64
}

// read reads the prospects: every one, a page of 1,000 a call, or each named one (one call
// each); the assigned users are mapped to Salesforce users with one call for all.
func (p *Planner) read(ctx context.Context, ids []int64, all bool) (read, error) {
	users, err := p.AE.ListUsers(ctx)
	if err != nil {
		return read{}, fmt.Errorf("list users in Account Engagement: %w", err)
	}
	sfID := make(map[int64]string, len(users))
	owners := make(map[string]int64, len(users))
	for _, u := range users {
		sfID[u.ID] = u.SalesforceID
		if u.SalesforceID != "" {
			owners[u.SalesforceID] = u.ID
		}
	}
	snap := func(e engagement.Prospect) snapshot {
		s := snapshot{p: activities.Snapshot(e)}
		s.p.AssignedUserSalesforceID = sfID[e.AssignedToID]
		if e.IsDeleted {
			s.gone, s.why = true, fmt.Sprintf("prospect %d was deleted in Account Engagement", e.ID)
		}
		return s
	}
	var out []snapshot
	page := func(q engagement.ProspectQuery, keep func(engagement.Prospect) bool) error {
		for {
			page, err := p.AE.QueryProspects(ctx, q)
			if err != nil {
				return fmt.Errorf("list prospects in Account Engagement: %w", err)
			}
			for _, e := range page.Prospects {
				if keep(e) {
					out = append(out, snap(e))
				}
			}
			if page.NextPageToken == "" {
				return nil
			}
			q = engagement.ProspectQuery{PageToken: page.NextPageToken}
		}
	}
	if all {
		err := page(engagement.ProspectQuery{Limit: engagement.MaxQueryLimit}, func(engagement.Prospect) bool { return true })
		return read{out, owners}, err
	}
	// Named prospects: a page of 1,000 a call over the span of their ids when they are many and
	// close together (a file from an export, say), one call each otherwise.
	want := make(map[int64]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	lo, hi := slices.Min(ids), slices.Max(ids)
	if len(ids) > 20 && hi-lo < int64(4*len(ids)) {
		seen := map[int64]bool{}
		err := page(engagement.ProspectQuery{Limit: engagement.MaxQueryLimit, IDFrom: lo, IDTo: hi, IncludeDeleted: true}, func(e engagement.Prospect) bool {
			if !want[e.ID] || seen[e.ID] {
				return false
			}
			seen[e.ID] = true
			return true
		})
		if err != nil {
			return read{}, err
		}
		for _, id := range ids {
			if !seen[id] {
				out = append(out, snapshot{p: prospect.Prospect{ID: id}, gone: true, why: fmt.Sprintf("Account Engagement has no prospect %d", id)})
			}
		}
		return read{out, owners}, nil
	}
	for _, id := range ids {
		e, err := p.AE.GetProspect(ctx, id)
		if err != nil {
			var apiErr *engagement.APIError
			if errors.As(err, &apiErr) && apiErr.Status == 404 || errors.As(err, &apiErr) && apiErr.Code == engagement.CodeInvalidProspectID {
				out = append(out, snapshot{p: prospect.Prospect{ID: id}, gone: true, why: fmt.Sprintf("Account Engagement has no prospect %d", id)})
				continue
			}
			return read{}, fmt.Errorf("read prospect %d: %w", id, err)
		}
		out = append(out, snap(e))
	}
	return read{out, owners}, nil
}

// known is what Temporal holds of a prospect's sync.
type known struct {
	link   prospect.Link
	synced bool
}

// links asks the syncs that exist for their link and base (the sync-state query): Temporal, no
// API call. Which prospects have a sync comes from one visibility listing.
func (p *Planner) links(ctx context.Context, ps []snapshot) (map[int64]known, error) {
	want := make(map[int64]bool, len(ps))
	for _, s := range ps {
		want[s.p.ID] = true
	}
	var have []int64
	err := workflows.List(ctx, p.Temporal, workflows.Filter{}, func(l workflows.Listed) bool {
		if id, err := strconv.ParseInt(l.ProspectID, 10, 64); err == nil && want[id] {
			have = append(have, id)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list the syncs: %w", err)
	}
	slices.Sort(have)
	have = slices.Compact(have)
	out := make(map[int64]known, len(have))
	for _, id := range have {
		st, err := workflows.QueryStatus(ctx, p.Temporal, id)
		if errors.Is(err, workflows.ErrNoSync) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ask the sync of prospect %d: %w", id, err)
		}
		k := known{synced: true}
		if st.Link != nil {
			k.link = *st.Link
		} else if st.CRMRecordID != "" || st.State == prospect.StateCRMDeleted {
			// A sync from before the query answered its link: its status names the record.
			k.link = prospect.Link{Type: st.CRMRecordType, ID: st.CRMRecordID, OwnerID: st.OwnerID, Deleted: st.State == prospect.StateCRMDeleted}
		}
		out[id] = k
	}
	return out, nil
}

// fill sets a row from the decision Decide made for it.
func fill(r *Row, d prospect.Decision, p prospect.Prospect) {
	r.State, r.Reason = d.State, d.Reason
	r.Rule = rule(d)
	r.RecordUpdates, r.ProspectUpdates, r.OwnerFlowsBack = len(d.RecordUpdates), len(d.ProspectUpdates), d.AssignOwner != ""
	switch d.Action {
	case prospect.ActionLink:
		r.Record = d.Record.ID
		switch {
		case p.Link.ID != d.Record.ID:
			r.Outcome = OutcomeLink
		case d.RecordUpdates == nil && d.ProspectUpdates == nil && d.AssignOwner == "":
			r.Outcome = OutcomeInStep
		default:
			r.Outcome = OutcomeUpdate
		}
	case prospect.ActionCreateLead:
		r.Outcome = OutcomeCreate
		switch {
		case d.Lead.UseAssignmentRule:
			r.Owner = "assignment rule"
		case d.Lead.OwnerID == "":
			r.Owner = "integration user"
		default:
			r.Owner = d.Lead.OwnerID
		}
	case prospect.ActionWait:
		r.Outcome = OutcomeWait
	case prospect.ActionNone:
		r.Outcome = OutcomeDoNotSync
		if d.State == prospect.StateCRMDeleted {
			r.Outcome = OutcomeDeleted
		}
	case prospect.ActionMarkDeleted:
		r.Outcome = OutcomeMarkGone
	case prospect.ActionStop:
		r.Outcome = OutcomeStop
	case prospect.ActionError:
		r.Outcome = OutcomeError
	case prospect.ActionEnd:
		r.Outcome = OutcomeGone
	default:
		r.Outcome = string(d.Action)
	}
}

// rule names what decided: the rule a reason starts with (R1…R6), the error code, or the
// kind of change.
func rule(d prospect.Decision) string {
	if d.Error != nil {
		return d.Error.Code
	}
	if len(d.Reason) >= 2 && d.Reason[0] == 'R' && d.Reason[1] >= '1' && d.Reason[1] <= '6' {
		head, _, _ := strings.Cut(d.Reason, ":")
		return head
	}
	switch {
	case d.Flag != "":
		return d.Flag
	case strings.Contains(d.Reason, "merged"):
		return "merge"
	case strings.Contains(d.Reason, "restored"):
		return "restore"
	case strings.Contains(d.Reason, "changed in Salesforce"):
		return "email-edit"
	case d.State == prospect.StateCRMDeleted:
		return "deleted"
	case d.Action == prospect.ActionLink:
		return "linked"
	}
	return string(d.Action)
}

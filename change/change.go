// Package change is the one contract between the starter, the change feeds and the syncs: what a
// prospect-changed signal carries (Request) and what the change feed hands a sync with it
// (Handoff), with their one builder. The starter, the activities and the workflows all use these
// types; their JSON is in recorded histories, so no field is renamed.
package change

import (
	"time"

	"github.com/prospect-sync/prospect-sync/prospect"
)

// Handoff is what the change feed hands a sync with its signal: the prospect as the feed's page
// read it and, when the sync will need them, its Salesforce matches from one page-wide lookup.
// The sync uses them instead of reading again when they are at least as new as what it has seen.
type Handoff struct {
	Prospect prospect.Prospect
	// Matches is nil when the page's lookup did not cover the prospect.
	Matches *prospect.Matches `json:",omitempty"`
	// At is when the feed read them.
	At time.Time
}

// NewHandoff is the hand-off of a prospect as read at at, with its matches when looked up.
func NewHandoff(p prospect.Prospect, m *prospect.Matches, at time.Time) *Handoff {
	return &Handoff{Prospect: p, Matches: m, At: at}
}

// Request is the payload of a prospect-changed signal: what a person, a feed or another sync
// asks of a sync. The Account Engagement change feed sends a hand-off only, so its signals for
// prospects that did not change (our own write-backs, say) cost no Salesforce call.
type Request struct {
	// Resync re-reads both sides even when Account Engagement reports no change: a record
	// deleted, converted or reassigned in Salesforce shows within seconds.
	Resync bool `json:"resync,omitempty"`
	// AllowRecreate clears CrmDeleted: the next evaluation matches or creates a record again.
	AllowRecreate bool `json:"allowRecreate,omitempty"`
	// Handoff, from the change feed, is the prospect as its page read it and its Salesforce
	// matches: the sync uses them instead of reading again when they are new enough.
	*Handoff
	// CRM marks a request from the Salesforce change feed: the change is on the Salesforce
	// side, so the sync looks Salesforce up again but takes the prospect as it last saw it
	// (a change in Account Engagement comes with its own signal). Its own writes, which the
	// feed reports too, then cost no Account Engagement call.
	CRM bool `json:"crm,omitempty"`
}

// Merge is what several pending requests ask for together: the newest hand-off among them;
// CRM only if every one came from the Salesforce change feed.
func (r Request) Merge(o Request) Request {
	h := r.Handoff
	if o.Handoff != nil && (h == nil || !o.Prospect.UpdatedAt.Before(h.Prospect.UpdatedAt)) {
		h = o.Handoff
	}
	return Request{Resync: r.Resync || o.Resync, AllowRecreate: r.AllowRecreate || o.AllowRecreate, Handoff: h, CRM: r.CRM && o.CRM}
}

package workflows

import (
	"time"

	"github.com/prospect-sync/prospect-sync/prospect"
)

// The ProspectSync workflow's contract: its input, what a run carries to the next, its result
// and the sync-state query's answer. Their JSON is in recorded histories: rename no field.

// ProspectSyncInput starts, or continues as new, one prospect's sync.
type ProspectSyncInput struct {
	ProspectID int64
	// Carried across continue-as-new; empty on a fresh start.
	Carry *Carry `json:",omitempty"`
}

// Carry is the state a run hands to the next one on continue-as-new.
type Carry struct {
	Status            SyncStatus
	UseAssignmentRule bool
	// SeenVersion is the prospect version last evaluated (or last written by us), so a
	// recheck or a signal for an unchanged prospect costs no Salesforce call. It covers every
	// field, not only updatedAt: Account Engagement's updatedAt has one-second precision.
	SeenVersion string
	// SeenUpdatedAt is the updatedAt of SeenVersion: a hand-off from the change feed is used
	// only when newer. Zero for runs from before hand-offs, which then read for themselves.
	SeenUpdatedAt time.Time `json:",omitzero"`
	// LastChange is when the sync last changed something; idle time counts from it.
	LastChange time.Time
	// RuleRequested is set by a use-active-assignment-rule signal until an evaluation answers it.
	RuleRequested bool `json:",omitempty"`
	// Link is the Salesforce record the prospect syncs with: the sync's own record of it.
	Link prospect.Link `json:",omitzero"`
	// RetryAt, when set, is when an evaluation held back for API budget runs again.
	RetryAt time.Time `json:",omitzero"`
	// Prospect is the prospect as last seen, for requests from the Salesforce change feed.
	Prospect *prospect.Prospect `json:",omitempty"`
}

// ProspectSyncResult is the final status of a completed run.
type ProspectSyncResult struct {
	Status SyncStatus
}

// SyncStatus is the sync-state query's answer.
type SyncStatus struct {
	State          prospect.SyncState  `json:"state"`
	ProspectID     int64               `json:"prospectId"`
	CRMRecordType  string              `json:"crmRecordType"`
	CRMRecordID    string              `json:"crmRecordId"`
	OwnerID        string              `json:"ownerId"`
	AssignedUserID int64               `json:"assignedUserId"`
	LastError      *prospect.SyncError `json:"lastError"`
	WaitingFor     string              `json:"waitingFor,omitempty"`
	History        []HistoryEntry      `json:"history"`
	// Base is what the sync last synced, both sides (the query's answer only: the run keeps it
	// in its link).
	Base *prospect.Base `json:"base,omitempty"`
	// Link is the sync's own record of its link (the query's answer only), for `starter plan`
	// to decide exactly as the sync would.
	Link *prospect.Link `json:"link,omitempty"`
	// Paused is set while an operator's pause holds the sync at a write: "Paused since … by …:
	// reason".
	Paused string `json:"paused,omitempty"`
}

// HistoryEntry is one decision taken, for people reading the query.
type HistoryEntry struct {
	Time   time.Time          `json:"time"`
	State  prospect.SyncState `json:"state"`
	Action prospect.Action    `json:"action"`
	Reason string             `json:"reason"`
	// Fields are the decisions about mapped fields whose values differed: both values, the
	// winner and why.
	Fields []prospect.FieldNote `json:"fields,omitempty"`
}

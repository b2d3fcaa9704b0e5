// Package workflows holds the ProspectSync and ChangeFeed workflows, the pure Decide function
// and every name the worker, the starter and outside tools share.
package workflows

import (
	"fmt"
	"strconv"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/prospect-sync/prospect-sync/change"
)

// Names shared by the worker, the starter and outside tools (docs/architecture.md "Contracts").
const (
	// Namespace is the embedded dev server's namespace (and that of the tests and the benchmark
	// on it); a worker configured for a cluster or Temporal Cloud uses TEMPORAL_NAMESPACE.
	Namespace = "default"
	// TaskQueue is the one task queue the worker polls.
	TaskQueue = "prospect-sync"
	// ProspectSyncWorkflow is the workflow type of a prospect's sync.
	ProspectSyncWorkflow = "ProspectSync"
	// ChangeFeedWorkflow is the workflow type of the Account Engagement change feed.
	ChangeFeedWorkflow = "ChangeFeed"
	// ChangeFeedWorkflowID is the single change feed's workflow id.
	ChangeFeedWorkflowID = "prospect-change-feed"
	// CrmChangeFeedWorkflow is the workflow type of the Salesforce change feed.
	CrmChangeFeedWorkflow = "CrmChangeFeed"
	// CrmChangeFeedWorkflowID is the single Salesforce change feed's workflow id.
	CrmChangeFeedWorkflowID = "crm-change-feed"
	// SignalProspectChanged asks the workflow to re-read the prospect and decide again.
	SignalProspectChanged = "prospect-changed"
	// SignalUseActiveAssignmentRule sends an unassigned prospect through the active rule (R5).
	SignalUseActiveAssignmentRule = "use-active-assignment-rule"
	// QuerySyncState returns the workflow's SyncStatus.
	QuerySyncState = "sync-state"
)

// ChangeRequest is the payload of a prospect-changed signal (package change holds the one
// definition the starter, the feeds and the syncs share).
type ChangeRequest = change.Request

const workflowIDPrefix = "prospect-sync/"

// ProspectWorkflowID is the workflow id of a prospect's sync: one per prospect.
func ProspectWorkflowID(prospectID int64) string {
	return workflowIDPrefix + strconv.FormatInt(prospectID, 10)
}

// ParseProspectID parses an Account Engagement prospect id as given by a user or a file.
func ParseProspectID(s string) (int64, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), workflowIDPrefix))
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("invalid prospect id %q: want a positive integer", s)
	}
	return id, nil
}

// Search attribute keys (all Keyword). No email or name ever goes into one: search
// attributes are not encrypted by payload codecs.
var (
	AttrSyncState      = temporal.NewSearchAttributeKeyKeyword("SyncState")
	AttrProspectID     = temporal.NewSearchAttributeKeyKeyword("ProspectId")
	AttrCRMRecordID    = temporal.NewSearchAttributeKeyKeyword("CrmRecordId")
	AttrAssignedUserID = temporal.NewSearchAttributeKeyKeyword("AssignedUserId")
	AttrSyncErrorCode  = temporal.NewSearchAttributeKeyKeyword("SyncErrorCode")
	// AttrCRMCreatedAt (Datetime) is when the sync created the prospect's Lead, for "records
	// created today" in the UI.
	AttrCRMCreatedAt = temporal.NewSearchAttributeKeyTime("CrmCreatedAt")
)

// SearchAttributes lists the custom search attributes a namespace must have.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	out := map[string]enumspb.IndexedValueType{}
	for _, k := range []temporal.SearchAttributeKeyKeyword{AttrSyncState, AttrProspectID, AttrCRMRecordID, AttrAssignedUserID, AttrSyncErrorCode} {
		out[k.GetName()] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	out[AttrCRMCreatedAt.GetName()] = enumspb.INDEXED_VALUE_TYPE_DATETIME
	return out
}

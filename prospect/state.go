package prospect

import "fmt"

// SyncState is where a prospect's sync stands; the SyncState search attribute's values.
type SyncState string

// The SyncState values (docs/architecture.md "Contracts").
const (
	StateEvaluating           SyncState = "Evaluating"
	StateWaitingForAssignment SyncState = "WaitingForAssignment"
	StateSynced               SyncState = "Synced"
	StateDoNotSync            SyncState = "DoNotSync"
	StateCRMDeleted           SyncState = "CrmDeleted"
	StateSyncError            SyncState = "SyncError"
)

// States lists every SyncState, in the order a person reads them.
var States = []SyncState{StateEvaluating, StateWaitingForAssignment, StateSynced, StateDoNotSync, StateCRMDeleted, StateSyncError}

// ParseState returns the SyncState named s (exactly as in States).
func ParseState(s string) (SyncState, error) {
	for _, st := range States {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown sync state %q (known: %v)", s, States)
}

// Error codes of our own; Salesforce's codes pass through unchanged and Account Engagement's
// become AE_<code>.
const (
	// CodeMissingEmail: the prospect has no email, which every sync needs.
	CodeMissingEmail = "MISSING_EMAIL"
	// CodeInvalidEmail: an address Salesforce would refuse; no call is made.
	CodeInvalidEmail = "INVALID_EMAIL"
	// CodeProspectNotFound: Account Engagement does not know the prospect id.
	CodeProspectNotFound = "PROSPECT_NOT_FOUND"
	// CodeProspectDeleted: the prospect was deleted in Account Engagement.
	CodeProspectDeleted = "PROSPECT_DELETED"
	// CodeSyncFailed marks an unexpected failure, shown rather than failing the workflow.
	CodeSyncFailed = "SYNC_FAILED"
	// CodeLookupUnstable: Salesforce records kept changing under the sync (see MaxLookups).
	CodeLookupUnstable = "LOOKUP_UNSTABLE"
	// CodeEmailConflict: the email changed on both sides since the last sync; nothing is
	// written until a person makes them agree.
	CodeEmailConflict = "EMAIL_CONFLICT"
	// CodeDataError: an API refused the data without a code of its own.
	CodeDataError = "DATA_ERROR"
)

// SyncError is a visible reason why a prospect does not sync. It is also the details of a
// data error that an activity reports, so the workflow shows the API's own code and message.
type SyncError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error implements error.
func (e SyncError) Error() string { return e.Code + ": " + e.Message }

// Package metrics names prospect-sync's own metrics (all prospect_sync_*, in Prometheus form as
// scraped from the worker's /metrics) and their labels, and records the workflow's through the
// SDK's metrics handler. It imports nothing but the SDK's client interface, so workflow and
// activity code can use it without pulling in the exporter (that lives in package monitor).
package metrics

import "go.temporal.io/sdk/client"

// Metric names, exactly as Prometheus shows them (counters end in _total).
const (
	// SyncOutcomes counts every decision a sync records (labels state, action): one per
	// evaluation that reached a decision, including those that confirm the state it had.
	SyncOutcomes = "prospect_sync_outcomes_total"
	// StateTransitions counts the decisions that moved a sync into another state (label state:
	// the state entered). A new sync starts in Evaluating, which is not counted.
	StateTransitions = "prospect_sync_state_transitions_total"
	// SyncErrors counts the decisions that ended in SyncError (label code: the error code).
	SyncErrors = "prospect_sync_errors_total"
	// APICalls counts the HTTP requests sent to Salesforce and Account Engagement (labels api,
	// kind, status), counted at the clients' transport, so retries and token requests count.
	APICalls = "prospect_sync_api_calls_total"
	// Paused is 1 while an operator's pause holds every write (starter pause), 0 otherwise, as
	// this worker last read the sync's control workflow.
	Paused = "prospect_sync_paused"
	// APIUsage and APILimit are an API's daily usage and allocation (label api) as its latest
	// answer reported them: Salesforce's Sforce-Limit-Info (the org's rolling 24 hours),
	// Account Engagement's x-api-usage (the business unit's day). Every client of the org or
	// business unit counts, not only this worker.
	APIUsage = "prospect_sync_api_usage"
	APILimit = "prospect_sync_api_limit"
	// ChangeFeedLag is how far behind a change feed's view is, in seconds, at scrape time
	// (label feed): now minus the time up to which its last successful poll read everything.
	ChangeFeedLag = "prospect_sync_change_feed_lag_seconds"
	// BatchSize is the number of syncs each shared Salesforce call served (a histogram, label
	// batch: lookup or write); a lone sync on an idle worker makes a batch of one.
	BatchSize = "prospect_sync_batch_size"
	// BatchLinger is how long the first request of each shared call waited for the others, in
	// seconds (a histogram, label batch): at most SALESFORCE_BATCH_LINGER.
	BatchLinger = "prospect_sync_batch_linger_seconds"
)

// Label names.
const (
	LabelState  = "state"
	LabelAction = "action"
	LabelCode   = "code"
	LabelAPI    = "api"
	LabelKind   = "kind"
	LabelStatus = "status"
	LabelFeed   = "feed"
	LabelBatch  = "batch"
)

// Values of the api label, and of the feed label (each feed reads one API).
const (
	APISalesforce = "salesforce"
	APIEngagement = "account_engagement"
)

// Values of the batch label: which shared Salesforce calls.
const (
	BatchLookup = "lookup" // Email IN composites for several syncs' lookups
	BatchWrite  = "write"  // sObject Collections creates and updates
)

// Values of the kind label: what a request did, from its method and path.
const (
	KindToken       = "token"       // OAuth token request
	KindVersions    = "versions"    // the API version list (not counted against the limit)
	KindQuery       = "query"       // a SOQL query or queryAll page; an Account Engagement list
	KindComposite   = "composite"   // a composite request (several subrequests, one call)
	KindCollections = "collections" // an sObject Collections write (up to 200 records, one call)
	KindCreate      = "create"
	KindRead        = "read"
	KindUpdate      = "update"
	KindUpsert      = "upsert" // a write on an external id
	KindDelete      = "delete"
	KindReplication = "replication" // the updated/deleted record lists
	KindUsers       = "users"       // Account Engagement users
	KindOther       = "other"
)

// StatusError is the status label of a request that got no HTTP response; the others are the
// status class ("2xx", "4xx", ...).
const StatusError = "error"

// Decision counts one decision a sync recorded: its outcome, the transition when the state
// changed, and the error code when it failed. From workflow code, h is
// workflow.GetMetricsHandler(ctx), which emits nothing while a workflow replays.
func Decision(h client.MetricsHandler, from, to, action, errorCode string) {
	h.WithTags(map[string]string{LabelState: to, LabelAction: action}).Counter(SyncOutcomes).Inc(1)
	if from != to {
		h.WithTags(map[string]string{LabelState: to}).Counter(StateTransitions).Inc(1)
	}
	if errorCode != "" {
		h.WithTags(map[string]string{LabelCode: errorCode}).Counter(SyncErrors).Inc(1)
	}
}

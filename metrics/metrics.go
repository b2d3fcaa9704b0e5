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
	// SalesforceAPIUsage and SalesforceAPILimit are the org's API requests used in the rolling
	// 24 hours and its allocation, from the Sforce-Limit-Info header of the latest response.
	SalesforceAPIUsage = "prospect_sync_salesforce_api_usage"
	SalesforceAPILimit = "prospect_sync_salesforce_api_limit"
	// ChangeFeedLag is how far behind a change feed's view is, in seconds, at scrape time
	// (label feed): now minus the time up to which its last successful poll read everything.
	ChangeFeedLag = "prospect_sync_change_feed_lag_seconds"

	// TODO(batching): prospect_sync_batch_size and prospect_sync_batch_linger_seconds, once
	// Salesforce writes are batched (being built on main); nothing batches yet.
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
)

// Values of the api label, and of the feed label (each feed reads one API).
const (
	APISalesforce = "salesforce"
	APIEngagement = "account_engagement"
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

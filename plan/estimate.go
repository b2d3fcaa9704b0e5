package plan

import (
	"math"

	"github.com/prospect-sync/prospect-sync/internal/budget"
)

// The batching the real run does (docs/api-budget.md): the change feed reads 1,000 prospects a
// call and looks them up with about one composite call a page; creates and updates share sObject
// Collections calls of up to 200 records, one call each, creates for the assignment rule adding
// one query to read their owners back; a write to Account Engagement is one call a prospect (v5
// has no batched update).
const (
	pageSize       = 1000
	collectionSize = 200
)

// Estimate is what the real run of a plan would cost, against today's allocations.
type Estimate struct {
	Salesforce API `json:"salesforce"`
	Engagement API `json:"engagement"`
}

// API is one API's side of an estimate.
type API struct {
	// Calls the run would make.
	Calls int64 `json:"calls"`
	// Used and Limit are today's usage and allocation as the plan's last answer reported them
	// (0 when the API did not say); Reserve is the share kept for the org's other clients.
	Used    int     `json:"used"`
	Limit   int     `json:"limit"`
	Reserve float64 `json:"reserve"`
	// Available is what today's allocation leaves the run with the reserve kept.
	Available int64 `json:"available"`
	// Days the run would take at one allocation a day with the reserve kept: 1 when it fits
	// today; 0 when the API reported no allocation.
	Days int `json:"days"`
}

// EstimateRun counts the calls a real run of the rows would make, by the batching arithmetic
// above, and sets them against each API's latest usage and its reserve.
func EstimateRun(rows []Row, sf, ae budget.Usage, sfReserve, aeReserve float64) Estimate {
	var lookups, owned, integration, rule, updates, writeBacks int64
	for _, r := range rows {
		if r.Outcome == OutcomeGone {
			continue
		}
		if r.LookedUp {
			lookups++
		}
		switch {
		case r.Outcome == OutcomeCreate && r.Owner == "assignment rule":
			rule++
		case r.Outcome == OutcomeCreate && r.Owner == "integration user":
			integration++
		case r.Outcome == OutcomeCreate:
			owned++
		}
		if r.RecordUpdates > 0 {
			updates++
		}
		if r.ProspectUpdates > 0 || r.OwnerFlowsBack {
			writeBacks++
		}
	}
	sfCalls := calls(lookups, pageSize) + calls(owned, collectionSize) + calls(integration, collectionSize) +
		2*calls(rule, collectionSize) + calls(updates, collectionSize)
	aeCalls := calls(int64(len(rows)), pageSize) + 1 + writeBacks // pages, the users, the write-backs
	return Estimate{Salesforce: against(sfCalls, sf, sfReserve), Engagement: against(aeCalls, ae, aeReserve)}
}

func calls(n, per int64) int64 { return (n + per - 1) / per }

func against(n int64, u budget.Usage, reserve float64) API {
	a := API{Calls: n, Used: u.Used, Limit: u.Limit, Reserve: reserve}
	if u.Limit <= 0 {
		return a
	}
	perDay := int64(math.Floor(float64(u.Limit) * (1 - reserve)))
	a.Available = max(perDay-int64(u.Used), 0)
	switch {
	case n <= a.Available:
		a.Days = 1
	case perDay <= 0:
		a.Days = math.MaxInt32
	default:
		a.Days = 1 + int((n-a.Available+perDay-1)/perDay)
	}
	return a
}

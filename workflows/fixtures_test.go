package workflows

import (
	"time"

	"github.com/prospect-sync/prospect-sync/prospect"
)

// Salesforce ids the workflow tests use.
const (
	alice = "005000000000001AAA"
	bob   = "005000000000002AAA"
	queue = "00G000000000001AAA"
	leadA = "00Q000000000001AAA"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newProspect(mut ...func(*prospect.Prospect)) prospect.Prospect {
	p := prospect.Prospect{ID: 1001, Email: "Ann@Example.com", FirstName: "Ann", LastName: "Lee", Company: "Acme", UpdatedAt: t0}
	for _, m := range mut {
		m(&p)
	}
	return p
}

func assignedTo(sf string) func(*prospect.Prospect) {
	return func(p *prospect.Prospect) { p.AssignedUserID = 7; p.AssignedUserSalesforceID = sf }
}

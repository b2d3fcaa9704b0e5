package emulator

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
)

// AssignmentRule is the active lead assignment rule.
type AssignmentRule struct {
	// Mode is "none", "round-robin" or "queue".
	Mode string `json:"mode"`
	// UserIDs are the users a round-robin rule cycles through.
	UserIDs []string `json:"userIds,omitempty"`
	// QueueID is the queue a queue rule assigns to.
	QueueID string `json:"queueId,omitempty"`
}

// DuplicateRule configures the duplicate rules of the org.
type DuplicateRule struct {
	// LeadEmail blocks a Lead whose Email equals another open Lead's (DUPLICATES_DETECTED).
	LeadEmail bool `json:"leadEmail"`
}

// Assignment rule modes.
const (
	modeNone       = "none"
	modeRoundRobin = "round-robin"
	modeQueue      = "queue"
)

// normalizeRule turns an unusable rule into "none" so the Go setter cannot store garbage.
func normalizeRule(r AssignmentRule) AssignmentRule {
	switch r.Mode {
	case modeRoundRobin:
		ids := make([]string, 0, len(r.UserIDs))
		for _, id := range r.UserIDs {
			ids = append(ids, to18(strings.TrimSpace(id)))
		}
		if len(ids) == 0 {
			return AssignmentRule{Mode: modeNone}
		}
		return AssignmentRule{Mode: modeRoundRobin, UserIDs: ids}
	case modeQueue:
		if r.QueueID == "" {
			return AssignmentRule{Mode: modeNone}
		}
		return AssignmentRule{Mode: modeQueue, QueueID: to18(strings.TrimSpace(r.QueueID))}
	default:
		return AssignmentRule{Mode: modeNone}
	}
}

// autoAssign reads Sforce-Auto-Assign: absent, TRUE or a rule id apply the rule.
func autoAssign(h http.Header) bool {
	return !strings.EqualFold(strings.TrimSpace(h.Get("Sforce-Auto-Assign")), "false")
}

// applyOwner runs the active assignment rule (Leads, when asked) and falls back to the
// integration user, as Salesforce makes the running user the owner.
func (e *Emulator) applyOwner(ctx context.Context, tx *sql.Tx, obj *objectDef, rec record, h http.Header) error {
	if !obj.has("OwnerId") {
		return nil
	}
	if obj == e.lead && autoAssign(h) {
		rule, err := loadAssignmentRule(ctx, tx)
		if err != nil {
			return err
		}
		switch {
		case rule.Mode == modeRoundRobin && len(rule.UserIDs) > 0:
			var idx int
			if _, err := getSetting(ctx, tx, settingRoundRobin, &idx); err != nil {
				return err
			}
			rec["OwnerId"] = rule.UserIDs[idx%len(rule.UserIDs)]
			if err := putSetting(ctx, tx, settingRoundRobin, idx+1); err != nil {
				return err
			}
		case rule.Mode == modeQueue && rule.QueueID != "":
			rec["OwnerId"] = rule.QueueID
		}
	}
	if rec["OwnerId"] == nil {
		rec["OwnerId"] = IntegrationUserID
	}
	return nil
}

// checkDuplicate applies the Lead duplicate rule to email (selfID is the record itself).
func (e *Emulator) checkDuplicate(ctx context.Context, tx *sql.Tx, email any, selfID string) (*result, error) {
	s, _ := email.(string)
	if s == "" {
		return nil, nil
	}
	rule, err := loadDuplicateRule(ctx, tx)
	if err != nil || !rule.LeadEmail {
		return nil, err
	}
	where, args := `"IsDeleted" = 0 AND "IsConverted" = 0`, []any(nil)
	if isASCII(s) { // as in findByField: the index narrows, EqualFold decides
		where += " AND " + foldExpr("Email") + " = ?"
		args = append(args, strings.ToLower(s))
	}
	leads, err := e.loadRecords(ctx, tx, e.lead, where, args...)
	if err != nil {
		return nil, err
	}
	for _, l := range leads {
		if l.str("Id") != selfID && strings.EqualFold(l.str("Email"), s) {
			return sfErrP(http.StatusBadRequest, "DUPLICATES_DETECTED", "Use one of these records?"), nil
		}
	}
	return nil, nil
}

package emulator

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serveControl implements /emulator/... (see doc.go); faults never apply here.
func (e *Emulator) serveControl(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/emulator"), "/")
	method := r.Method
	fail := func(status int, msg string) {
		writeResult(w, result{status: status, body: object{{"error", msg}}})
	}
	failErr := func(err error) { fail(statusOf(err), err.Error()) }
	done := func(err error) {
		if err != nil {
			failErr(err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
	show := func(v any, err error) {
		if err != nil {
			failErr(err)
			return
		}
		writeResult(w, result{status: http.StatusOK, body: v})
	}
	decode := func(dst any) bool {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err == nil {
			err = json.Unmarshal(b, dst)
		}
		if err != nil {
			fail(http.StatusBadRequest, "invalid JSON body: "+err.Error())
			return false
		}
		return true
	}

	switch {
	case p == "/reset" && method == http.MethodPost:
		done(e.Reset(ctx))
	case p == "/seed" && method == http.MethodPost:
		done(e.Seed(ctx))
	case p == "/faults" && method == http.MethodGet:
		show(e.Faults(), nil)
	case p == "/faults" && method == http.MethodPut:
		var f Faults
		if decode(&f) {
			e.SetFaults(f)
			done(nil)
		}
	case p == "/counters" && method == http.MethodGet:
		writeResult(w, result{status: http.StatusOK, body: e.Counters()})
	case p == "/counters/reset" && method == http.MethodPost:
		e.ResetCounters()
		done(nil)
	case p == "/assignment-rule" && method == http.MethodGet:
		show(readSetting(ctx, e, loadAssignmentRule))
	case p == "/assignment-rule" && method == http.MethodPut:
		var rule AssignmentRule
		if !decode(&rule) {
			return
		}
		if msg := checkRule(rule); msg != "" {
			fail(http.StatusBadRequest, msg)
			return
		}
		done(e.setAssignmentRule(ctx, normalizeRule(rule)))
	case p == "/duplicate-rule" && method == http.MethodGet:
		show(readSetting(ctx, e, loadDuplicateRule))
	case p == "/duplicate-rule" && method == http.MethodPut:
		var d DuplicateRule
		if decode(&d) {
			done(e.setDuplicateRule(ctx, d))
		}
	case p == "/limits" && method == http.MethodGet:
		show(e.Limits(), nil)
	case p == "/limits" && method == http.MethodPut:
		var c LimitsChange
		if decode(&c) {
			e.SetLimits(c)
			done(nil)
		}
	case p == "/token-ttl" && method == http.MethodGet:
		show(tokenTTLBody{TTL: e.TokenTTL()}, nil)
	case p == "/token-ttl" && method == http.MethodPut:
		var b tokenTTLBody
		if decode(&b) {
			e.SetTokenTTL(b.TTL)
			done(nil)
		}
	case strings.HasPrefix(p, "/prospects/") && strings.HasSuffix(p, "/crm") && method == http.MethodPut:
		raw := strings.TrimSuffix(strings.TrimPrefix(p, "/prospects/"), "/crm")
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			fail(http.StatusBadRequest, "malformed prospect id "+strconv.Quote(raw))
			return
		}
		var crm ProspectCRM
		if decode(&crm) {
			done(e.SetProspectCRM(ctx, id, crm))
		}
	case strings.HasPrefix(p, "/leads/") && strings.HasSuffix(p, "/convert") && method == http.MethodPost:
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/leads/"), "/convert")
		contactID, accountID, err := e.convertLead(ctx, id)
		if err != nil {
			failErr(err)
			return
		}
		writeResult(w, result{status: http.StatusOK, body: object{{"contactId", contactID}, {"accountId", accountID}}})
	case strings.HasPrefix(p, "/users/") && method == http.MethodDelete:
		raw := strings.TrimPrefix(p, "/users/")
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			fail(http.StatusBadRequest, "malformed user id "+strconv.Quote(raw))
			return
		}
		done(e.DeleteAEUser(ctx, id))
	case p == "/merge" && method == http.MethodPost:
		var m MergeRequest
		if decode(&m) {
			done(e.Merge(ctx, m))
		}
	case strings.HasPrefix(p, "/records/") && strings.HasSuffix(p, "/undelete") && method == http.MethodPost:
		done(e.UndeleteRecord(ctx, strings.TrimSuffix(strings.TrimPrefix(p, "/records/"), "/undelete")))
	case p == "/field-history" && method == http.MethodGet:
		show(e.FieldHistory(ctx))
	case p == "/field-history" && method == http.MethodPut:
		var h FieldHistory
		if decode(&h) {
			done(e.SetFieldHistory(ctx, h))
		}
	case p == "/engagement-settings" && method == http.MethodGet:
		show(readSetting(ctx, e, loadEngagementSettings))
	case p == "/engagement-settings" && method == http.MethodPut:
		var s EngagementSettings
		if decode(&s) {
			done(e.setEngagementSettings(ctx, s))
		}
	case strings.HasPrefix(p, "/records/") && method == http.MethodDelete:
		done(e.deleteRecord(ctx, strings.TrimPrefix(p, "/records/")))
	default:
		fail(http.StatusNotFound, "unknown control "+method+" "+r.URL.Path)
	}
}

// tokenTTLBody is the body of /emulator/token-ttl: {"ttl":"3s"} (or nanoseconds; 0
// restores Options.TokenTTL), the argument of SetTokenTTL.
type tokenTTLBody struct {
	TTL time.Duration
}

func (b tokenTTLBody) MarshalJSON() ([]byte, error) {
	return marshalJSON(object{{"ttl", b.TTL.String()}})
}

func (b *tokenTTLBody) UnmarshalJSON(data []byte) error {
	var aux struct {
		TTL json.RawMessage `json:"ttl"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	if len(aux.TTL) == 0 {
		return errors.New(`ttl is required, as in {"ttl":"3s"}`)
	}
	var err error
	b.TTL, err = parseDuration(aux.TTL)
	return err
}

// readSetting loads one setting in a read transaction of its own.
func readSetting[T any](ctx context.Context, e *Emulator, load func(context.Context, *sql.Tx) (T, error)) (T, error) {
	var v T
	err := e.inTx(ctx, false, func(tx *sql.Tx) (bool, error) {
		var err error
		v, err = load(ctx, tx)
		return false, err
	})
	return v, err
}

// checkRule validates an assignment rule received over HTTP.
func checkRule(r AssignmentRule) string {
	switch r.Mode {
	case modeNone:
	case modeRoundRobin:
		if len(r.UserIDs) == 0 {
			return "round-robin needs userIds"
		}
		for _, id := range r.UserIDs {
			if !validIDSyntax(id) || !strings.HasPrefix(id, "005") {
				return "not a user id: " + id
			}
		}
	case modeQueue:
		if !validIDSyntax(r.QueueID) || !strings.HasPrefix(r.QueueID, "00G") {
			return "queue needs a queueId (00G...)"
		}
	default:
		return `mode must be "none", "round-robin" or "queue"`
	}
	return ""
}

func (e *Emulator) convertLead(ctx context.Context, leadID string) (contactID, accountID string, err error) {
	if !validIDSyntax(leadID) {
		return "", "", errorf(http.StatusBadRequest, "malformed lead id %q", leadID)
	}
	id := to18(leadID)
	if !strings.HasPrefix(id, e.lead.Prefix) {
		return "", "", errorf(http.StatusNotFound, "lead %s not found", leadID)
	}
	err = e.inTx(ctx, true, func(tx *sql.Tx) (bool, error) {
		lead, found, err := e.loadRecord(ctx, tx, e.lead, id)
		if err != nil {
			return false, err
		}
		if !found || lead.boolean("IsDeleted") {
			return false, errorf(http.StatusNotFound, "lead %s not found", leadID)
		}
		if lead.boolean("IsConverted") {
			return false, errorf(http.StatusConflict, "lead %s is already converted", leadID)
		}
		now := e.now().UTC().Truncate(time.Millisecond)
		if accountID, err = e.newID(ctx, tx, e.account.Prefix); err != nil {
			return false, err
		}
		err = e.insertRecord(ctx, tx, e.account, record{
			"Id": accountID, "Name": lead["Company"], "CreatedDate": now, "LastModifiedDate": now, "IsDeleted": false,
		}, false)
		if err != nil {
			return false, err
		}
		owner := lead.str("OwnerId")
		if owner == "" || strings.HasPrefix(owner, "00G") { // a Contact cannot be owned by a queue
			owner = IntegrationUserID
		}
		if contactID, err = e.newID(ctx, tx, e.contact.Prefix); err != nil {
			return false, err
		}
		err = e.insertRecord(ctx, tx, e.contact, record{
			"Id": contactID, "Email": lead["Email"], "FirstName": lead["FirstName"], "LastName": lead["LastName"],
			"Title": lead["Title"], "Phone": lead["Phone"], "OwnerId": owner, "AccountId": accountID,
			"Prospect_Id__c": lead["Prospect_Id__c"], "CreatedDate": now, "LastModifiedDate": now, "IsDeleted": false,
		}, false)
		if err != nil {
			return false, err
		}
		return true, e.updateFields(ctx, tx, e.lead, id, record{
			"IsConverted": true, "ConvertedContactId": contactID, "ConvertedAccountId": accountID,
			"Status": "Closed - Converted", "LastModifiedDate": now,
		})
	})
	if err != nil {
		return "", "", err
	}
	return contactID, accountID, nil
}

// deleteRecord moves a Lead or Contact to the recycle bin, like a user deleting it.
func (e *Emulator) deleteRecord(ctx context.Context, rawID string) error {
	obj, id, err := e.personRecord(rawID, "deleted")
	if err != nil {
		return err
	}
	return e.inTx(ctx, true, func(tx *sql.Tx) (bool, error) {
		rec, found, err := e.loadRecord(ctx, tx, obj, id)
		if err != nil {
			return false, err
		}
		if !found {
			return false, errorf(http.StatusNotFound, "record %s not found", rawID)
		}
		if rec.boolean("IsDeleted") {
			return false, nil // already in the recycle bin: deleting again is a no-op
		}
		return true, e.updateFields(ctx, tx, obj, id, record{"IsDeleted": true, "LastModifiedDate": e.now().UTC().Truncate(time.Millisecond)})
	})
}

// controlError is an error of a control operation with the HTTP status it maps to.
type controlError struct {
	status int
	msg    string
}

func (c *controlError) Error() string { return c.msg }

// statusOf maps an error from a control operation to an HTTP status.
func statusOf(err error) int {
	var ce *controlError
	if errors.As(err, &ce) {
		return ce.status
	}
	return http.StatusInternalServerError
}

func errorf(status int, format string, args ...any) error {
	return &controlError{status: status, msg: fmt.Sprintf(format, args...)}
}

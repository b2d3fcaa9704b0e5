package emulator

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"
)

func (e *Emulator) getAE(ctx context.Context, tx *sql.Tx, req *aeReq, table string, defs []aeField, id int64, notFound result) (result, error) {
	fields, bad := parseFields(defs, req.query, true)
	if bad != nil {
		return *bad, nil
	}
	row, found, err := loadAEOne(ctx, tx, table, defs, id)
	if err != nil {
		return result{}, err
	}
	if !found || row["isDeleted"] == true && !includeDeleted(req.query.Get("deleted")) {
		return notFound, nil
	}
	return result{status: http.StatusOK, body: aeJSON(row, fields)}, nil
}

// parseAEBody checks a prospect write body: only writable fields, right types.
func parseAEBody(defs []aeField, body []byte) (map[string]any, *result) {
	m, keys, err := decodeObject(body)
	if errors.Is(err, errEmptyBody) {
		return nil, aeErrP(http.StatusBadRequest, aeCodeEmptyBody, "Request body can't be empty")
	}
	if err != nil {
		return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidJSON, "Input needs to be valid JSON")
	}
	out := map[string]any{}
	for _, k := range keys {
		if k == aeUserIDProperty {
			// Write-only: the documented way to assign (assignedToId is its read side).
			num, isNum := m[k].(json.Number)
			uid, err := num.Int64()
			if !isNum || err != nil {
				return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidProperty, "Invalid property in request: userId must be an integer")
			}
			out[k] = uid
			continue
		}
		f, ok := findAEField(defs, k)
		if !ok || !f.writable {
			return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidWriteField, "One or more of the specified fields are invalid: "+k)
		}
		switch v := m[k].(type) {
		case nil:
			out[k] = nil
		case string:
			if f.kind != aeStr {
				return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidProperty, fmt.Sprintf("Invalid property in request: %s must be an integer or null", k))
			}
			if k == "email" && v != "" && !validAEEmail(v) {
				return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidEmail, "Invalid prospect email address")
			}
			if utf8.RuneCountInString(v) > aeMaxString {
				return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidProperty, fmt.Sprintf("Invalid property in request: %s is longer than %d characters", k, aeMaxString))
			}
			out[k] = v
			if v == "" {
				out[k] = nil
			}
		case json.Number:
			n, err := v.Int64()
			if f.kind != aeIntNull || err != nil {
				return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidProperty, fmt.Sprintf("Invalid property in request: %s has the wrong type", k))
			}
			out[k] = n
		default:
			return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidProperty, fmt.Sprintf("Invalid property in request: %s has the wrong type", k))
		}
	}
	return out, nil
}

// aeEmailSyntax is the check AE applies to a prospect's email on create and update, as
// its developers describe it (pardot/api-docs#79), with at most 255 characters in all.
var aeEmailSyntax = regexp.MustCompile(`^[^ @]{1,64}@[^ @]{1,255}\.[^ @]{2,13}$`)

func validAEEmail(s string) bool {
	return utf8.RuneCountInString(s) <= aeMaxString && aeEmailSyntax.MatchString(s)
}

// aeUserIDProperty is the write-only property that assigns a prospect to an AE user.
const aeUserIDProperty = "userId"

// checkAssignee turns an assignment (userId, salesforceOwnerId or assignedToId: one per
// request, docs/domain.md §5.6) into assignedToId and verifies it names a live AE user.
func checkAssignee(ctx context.Context, tx *sql.Tx, vals map[string]any) (*result, error) {
	assignments := 0
	for _, k := range []string{aeUserIDProperty, "salesforceOwnerId", "assignedToId"} {
		if _, ok := vals[k]; ok {
			assignments++
		}
	}
	if assignments > 1 {
		return aeErrP(http.StatusBadRequest, aeCodeInvalidProperty, "Invalid property in request: assign through one of userId, salesforceOwnerId per request"), nil
	}
	if uid, ok := vals[aeUserIDProperty]; ok {
		delete(vals, aeUserIDProperty)
		vals["assignedToId"] = uid
	}
	if sfID, ok := vals["salesforceOwnerId"].(string); ok {
		var user int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM ae_users WHERE salesforce_id = ? AND is_deleted = 0`, sfID).Scan(&user)
		if errors.Is(err, sql.ErrNoRows) {
			return aeErrP(http.StatusBadRequest, aeCodeInvalidUserID, "Invalid user ID: no Account Engagement user has Salesforce user "+sfID), nil
		}
		if err != nil {
			return nil, err
		}
		vals["assignedToId"] = user
	}
	id, ok := vals["assignedToId"].(int64)
	if !ok {
		return nil, nil
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ae_users WHERE id = ? AND is_deleted = 0`, id).Scan(&n); err != nil {
		return nil, err
	}
	if n == 0 {
		return aeErrP(http.StatusBadRequest, aeCodeInvalidUserID, "Invalid user ID"), nil
	}
	return nil, nil
}

func sqlAE(v any) any {
	if v == nil {
		return nil
	}
	return v
}

func (e *Emulator) createProspect(ctx context.Context, tx *sql.Tx, req *aeReq) (result, error) {
	fields, bad := parseFields(e.prospectFields, req.query, false)
	if bad != nil {
		return *bad, nil
	}
	vals, bad := parseAEBody(e.prospectFields, req.body)
	if bad != nil {
		return *bad, nil
	}
	if email, _ := vals["email"].(string); strings.TrimSpace(email) == "" {
		return aeErr(http.StatusBadRequest, aeCodeMissingProperty, "Missing required property in request: email"), nil
	}
	if bad, err := checkAssignee(ctx, tx, vals); bad != nil || err != nil {
		return deref(bad), err
	}
	id, err := nextSeq(ctx, tx, "prospect", firstProspectID)
	if err != nil {
		return result{}, err
	}
	now := e.now().Unix()
	cols := []string{"id", "created_at", "updated_at", "is_deleted"}
	args := []any{id, now, now, 0}
	for _, f := range e.prospectFields {
		if v, ok := vals[f.name]; ok {
			cols = append(cols, f.col)
			args = append(args, sqlAE(v))
		}
	}
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO prospects (%s) VALUES (%s)", strings.Join(cols, ", "), ph), args...); err != nil {
		return result{}, err
	}
	if fields == nil {
		return result{status: http.StatusCreated, body: object{{"id", id}}}, nil
	}
	row, _, err := loadAEOne(ctx, tx, aeTableProspects, e.prospectFields, id)
	if err != nil {
		return result{}, err
	}
	return result{status: http.StatusCreated, body: aeJSON(row, fields)}, nil
}

func (e *Emulator) updateProspect(ctx context.Context, tx *sql.Tx, req *aeReq, id int64, notFound result) (result, error) {
	fields, bad := parseFields(e.prospectFields, req.query, false)
	if bad != nil {
		return *bad, nil
	}
	row, found, err := loadAEOne(ctx, tx, aeTableProspects, e.prospectFields, id)
	if err != nil {
		return result{}, err
	}
	if !found || row["isDeleted"] == true {
		return notFound, nil
	}
	vals, bad := parseAEBody(e.prospectFields, req.body)
	if bad != nil {
		return *bad, nil
	}
	if v, ok := vals["email"]; ok && v == nil {
		return aeErr(http.StatusBadRequest, aeCodeInvalidEmail, "Invalid prospect email address"), nil
	}
	if bad, err := checkAssignee(ctx, tx, vals); bad != nil || err != nil {
		return deref(bad), err
	}
	sets := []string{"updated_at = ?"}
	args := []any{e.now().Unix()}
	for _, f := range e.prospectFields {
		if v, ok := vals[f.name]; ok {
			sets = append(sets, f.col+" = ?")
			args = append(args, sqlAE(v))
		}
	}
	args = append(args, id)
	if _, err := tx.ExecContext(ctx, "UPDATE prospects SET "+strings.Join(sets, ", ")+" WHERE id = ?", args...); err != nil {
		return result{}, err
	}
	if fields == nil {
		return result{status: http.StatusNoContent}, nil
	}
	row, _, err = loadAEOne(ctx, tx, aeTableProspects, e.prospectFields, id)
	if err != nil {
		return result{}, err
	}
	return result{status: http.StatusOK, body: aeJSON(row, fields)}, nil
}

func (e *Emulator) deleteProspect(ctx context.Context, tx *sql.Tx, id int64, notFound result) (result, error) {
	row, found, err := loadAEOne(ctx, tx, aeTableProspects, e.prospectFields, id)
	if err != nil {
		return result{}, err
	}
	if !found || row["isDeleted"] == true {
		return notFound, nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE prospects SET is_deleted = 1, updated_at = ? WHERE id = ?`, e.now().Unix(), id)
	return result{status: http.StatusNoContent}, err
}

// ProspectCRM holds the CRM fields of a prospect that only Account Engagement's own
// Salesforce connector writes (the API refuses them with code 180). A nil field is left
// as it is; "" clears it.
type ProspectCRM struct {
	SalesforceID        *string `json:"salesforceId,omitempty"`
	SalesforceLeadID    *string `json:"salesforceLeadId,omitempty"`
	SalesforceContactID *string `json:"salesforceContactId,omitempty"`
}

// SetProspectCRM writes a prospect's CRM fields as AE's connector would, for instance the
// [[crm_ignore_prospect]] marker of "Do not sync with CRM" in salesforceId; the prospect's
// updatedAt moves, as it does for any change.
func (e *Emulator) SetProspectCRM(ctx context.Context, id int64, crm ProspectCRM) error {
	var sets []string
	var args []any
	for _, c := range []struct {
		col string
		v   *string
	}{
		{"salesforce_id", crm.SalesforceID}, {"salesforce_lead_id", crm.SalesforceLeadID}, {"salesforce_contact_id", crm.SalesforceContactID},
	} {
		if c.v == nil {
			continue
		}
		if utf8.RuneCountInString(*c.v) > aeMaxString {
			return errorf(http.StatusBadRequest, "%s is longer than %d characters", c.col, aeMaxString)
		}
		sets = append(sets, c.col+" = ?")
		args = append(args, nullIfEmpty(*c.v))
	}
	if len(sets) == 0 {
		return errorf(http.StatusBadRequest, "no CRM field to set: salesforceId, salesforceLeadId or salesforceContactId")
	}
	return e.updateOne(ctx, fmt.Sprintf("prospect %d not found", id),
		"UPDATE prospects SET "+strings.Join(sets, ", ")+", updated_at = ? WHERE id = ? AND is_deleted = 0", append(args, e.now().Unix(), id)...)
}

// DeleteAEUser deletes an Account Engagement user as an admin would (v5 users are read-only
// through the API): reads of it answer not found, and it maps no Salesforce user any more.
// Prospects assigned to it keep their assignedToId.
func (e *Emulator) DeleteAEUser(ctx context.Context, id int64) error {
	return e.updateOne(ctx, fmt.Sprintf("Account Engagement user %d not found", id),
		"UPDATE ae_users SET is_deleted = 1, updated_at = ? WHERE id = ? AND is_deleted = 0", e.now().Unix(), id)
}

// updateOne runs a control's UPDATE in a transaction; a row it does not find is a 404 with
// notFound as the message.
func (e *Emulator) updateOne(ctx context.Context, notFound, query string, args ...any) error {
	return e.inTx(ctx, true, func(tx *sql.Tx) (bool, error) {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = errorf(http.StatusNotFound, "%s", notFound)
		}
		return err == nil, err
	})
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

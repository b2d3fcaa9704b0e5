package emulator

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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
// request, docs/engagement.md) into assignedToId and verifies it names a live AE user.
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
	email, _ := vals["email"].(string)
	if strings.TrimSpace(email) == "" {
		return aeErr(http.StatusBadRequest, aeCodeMissingProperty, "Missing required property in request: email"), nil
	}
	if bad, err := checkAssignee(ctx, tx, vals); bad != nil || err != nil {
		return deref(bad), err
	}
	id, bad, err := e.insertProspect(ctx, tx, email, vals)
	if bad != nil || err != nil {
		return deref(bad), err
	}
	return e.answerProspect(ctx, tx, id, http.StatusCreated, fields)
}

// insertProspect makes a prospect of vals (checked fields, the assignment resolved) with the
// given email. Without AMPSEA an email a live prospect has is refused (code 9), and one of a
// prospect in the recycle bin restores that prospect with vals written over it.
func (e *Emulator) insertProspect(ctx context.Context, tx *sql.Tx, email string, vals map[string]any) (int64, *result, error) {
	settings, err := loadEngagementSettings(ctx, tx)
	if err != nil {
		return 0, nil, err
	}
	if !settings.AllowMultipleProspectsPerEmail {
		taken, err := e.prospectsWithEmail(ctx, tx, email, false, 0)
		if err != nil || len(taken) > 0 {
			return 0, aeErrP(http.StatusBadRequest, aeCodeEmailExists, "A prospect with the specified email address already exists"), err
		}
		// Without AMPSEA an email names one prospect, deleted or not: a create of the email
		// of a prospect in the recycle bin restores that prospect (pardot/api-docs#54, Pardot
		// on v3's create; Help "Remove a Prospect from the Recycle Bin" for a manual add).
		binned, err := e.prospectsWithEmail(ctx, tx, email, true, 0)
		if err != nil {
			return 0, nil, err
		}
		if len(binned) > 0 {
			id := binned[0].int("id")
			return id, nil, e.setProspect(ctx, tx, id, vals, true)
		}
	}
	id, err := nextSeq(ctx, tx, "prospect", firstProspectID)
	if err != nil {
		return 0, nil, err
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
	_, err = tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO prospects (%s) VALUES (%s)", strings.Join(cols, ", "), ph), args...)
	return id, nil, err
}

// answerProspect answers a write of prospect id: the fields asked for, or just its id.
func (e *Emulator) answerProspect(ctx context.Context, tx *sql.Tx, id int64, status int, fields []aeField) (result, error) {
	if fields == nil {
		return result{status: status, body: object{{"id", id}}}, nil
	}
	row, _, err := loadAEOne(ctx, tx, aeTableProspects, e.prospectFields, id)
	if err != nil {
		return result{}, err
	}
	return result{status: status, body: aeJSON(row, fields)}, nil
}

// setProspect writes vals (checked fields) onto prospect id, takes it out of the recycle
// bin when undelete is set, and moves its updatedAt.
func (e *Emulator) setProspect(ctx context.Context, tx *sql.Tx, id int64, vals map[string]any, undelete bool) error {
	sets := []string{"updated_at = ?"}
	args := []any{e.now().Unix()}
	if undelete {
		sets = append(sets, "is_deleted = 0")
	}
	for _, f := range e.prospectFields {
		if v, ok := vals[f.name]; ok {
			sets = append(sets, f.col+" = ?")
			args = append(args, sqlAE(v))
		}
	}
	args = append(args, id)
	_, err := tx.ExecContext(ctx, "UPDATE prospects SET "+strings.Join(sets, ", ")+" WHERE id = ?", args...)
	return err
}

// aeEmailKey is the SQL image of a prospect's email as a business unit without AMPSEA
// compares emails: trimmed of ASCII white space and case-folded as foldExpr folds, so
// that EqualFold(trimEmail(v), k) implies aeEmailKey(v) = lower(k) for an ASCII k. The
// index prospects_email_key is on this exact text.
const aeEmailKey = "lower(replace(replace(trim(email, char(32, 9, 10, 11, 12, 13)), '\u212a', 'k'), '\u017f', 's'))"

// trimEmail trims what SQLite's trim in aeEmailKey trims.
func trimEmail(s string) string { return strings.Trim(s, " \t\n\v\f\r") }

// prospectsWithEmail returns the live prospects (or, with deleted, those in the recycle
// bin) whose email is email, both trimmed and compared without case; the most recently
// updated first, except left out.
func (e *Emulator) prospectsWithEmail(ctx context.Context, tx *sql.Tx, email string, deleted bool, except int64) ([]aeRow, error) {
	key := trimEmail(email)
	flag := 0
	if deleted {
		flag = 1
	}
	where, args := "is_deleted = ? AND id != ? AND email IS NOT NULL", []any{flag, except}
	if isASCII(key) { // the index narrows, EqualFold decides; other keys scan
		where += " AND " + aeEmailKey + " = ?"
		args = append(args, strings.ToLower(key))
	}
	rows, err := selectAE(ctx, tx, aeTableProspects, e.prospectFields, where, "updated_at DESC, id DESC", 0, args...)
	if err != nil {
		return nil, err
	}
	out := rows[:0]
	for _, r := range rows {
		if s, _ := r["email"].(string); strings.EqualFold(trimEmail(s), key) {
			out = append(out, r)
		}
	}
	return out, nil
}

// emailInUse refuses, in a business unit without AMPSEA, an email another live prospect
// than except has: "Email address is already in use" (error code reference, code 54).
func (e *Emulator) emailInUse(ctx context.Context, tx *sql.Tx, email string, except int64) (*result, error) {
	settings, err := loadEngagementSettings(ctx, tx)
	if err != nil || settings.AllowMultipleProspectsPerEmail {
		return nil, err
	}
	taken, err := e.prospectsWithEmail(ctx, tx, email, false, except)
	if err != nil || len(taken) == 0 {
		return nil, err
	}
	return aeErrP(http.StatusBadRequest, aeCodeEmailInUse, "Email address is already in use"), nil
}

// undeleteProspect is the record action POST .../prospects/do/undelete, "Undelete (Record
// in deleted state with Latest Activity At by Email)" of prospect-v5: it restores from the
// recycle bin the prospect with the email given, the most recently updated if several
// (the emulator keeps no activity), and moves its updatedAt. The docs' operation table is
// all that is known of it: the argument {"email":..} and the answer (200, the fields
// asked for or {"id"}, as a create answers) are the emulator's.
func (e *Emulator) undeleteProspect(ctx context.Context, tx *sql.Tx, req *aeReq) (result, error) {
	fields, bad := parseFields(e.prospectFields, req.query, false)
	if bad != nil {
		return *bad, nil
	}
	m, keys, err := decodeObject(req.body)
	if errors.Is(err, errEmptyBody) {
		return aeErr(http.StatusBadRequest, aeCodeEmptyBody, "Request body can't be empty"), nil
	}
	if err != nil {
		return aeErr(http.StatusBadRequest, aeCodeInvalidJSON, "Input needs to be valid JSON"), nil
	}
	for _, k := range keys {
		if k != "email" {
			return aeErr(http.StatusBadRequest, aeCodeUnknownActionArg, "Unknown action argument: "+k), nil
		}
	}
	raw, present := m["email"]
	email, isString := raw.(string)
	switch {
	case !present || raw == nil || isString && strings.TrimSpace(email) == "":
		return aeErr(http.StatusBadRequest, aeCodeMissingActionArg, "Missing required action argument: email"), nil
	case !isString:
		return aeErr(http.StatusBadRequest, aeCodeInvalidActionArg, "Invalid action argument value: email"), nil
	}
	binned, err := e.prospectsWithEmail(ctx, tx, email, true, 0)
	if err != nil {
		return result{}, err
	}
	if len(binned) == 0 {
		return aeErr(http.StatusNotFound, aeCodeInvalidEmail, "Invalid prospect email address"), nil
	}
	if bad, err := e.emailInUse(ctx, tx, email, 0); bad != nil || err != nil {
		return deref(bad), err
	}
	id := binned[0].int("id")
	if err := e.setProspect(ctx, tx, id, nil, true); err != nil {
		return result{}, err
	}
	return e.answerProspect(ctx, tx, id, http.StatusOK, fields)
}

// Arguments of POST .../prospects/do/upsertLatestByEmail.
const (
	upsertMatchEmail    = "matchEmail"
	upsertProspect      = "prospect"
	upsertFields        = "fields"
	upsertDeletedSearch = "secondaryDeletedSearch"
)

// upsertLatestByEmail is the record action POST .../prospects/do/upsertLatestByEmail, "Upsert
// (Record with Latest Activity At by Email)" of prospect-v5 and "Transitioning to V5?": it
// finds the most recently updated live prospect with matchEmail (the emulator keeps no
// activity, so updatedAt stands for "latest activity", as for undelete) and writes prospect
// over it, or creates one when none has the email: v5's one idempotent write. The body is
// {"matchEmail":..,"prospect":{..},"fields":[..],"secondaryDeletedSearch":bool}: prospect
// holds writable fields as a create's body does (email optional, matchEmail when absent;
// an email given is the found prospect's new email); fields names what the answer shows;
// secondaryDeletedSearch (default true) lets an AMPSEA business unit restore the latest of
// the deleted prospects with the email when no live one has it, instead of creating one.
// Without AMPSEA a deleted prospect is restored either way, as a create restores it. The
// answer is 200 with the fields asked for, or {"id":..}, whether it updated, restored or
// created (UNCONFIRMED: prospect-v5 shows no answer; clients should tell a creation by
// createdAt). Refusals are undelete's (codes 152, 150, 207, 206, 208) and a write's
// (4 for an invalid matchEmail or email, 180, 154, 224, 10, 9 and 54 as for a create or update).
func (e *Emulator) upsertLatestByEmail(ctx context.Context, tx *sql.Tx, req *aeReq) (result, error) {
	m, keys, err := decodeObject(req.body)
	if errors.Is(err, errEmptyBody) {
		return aeErr(http.StatusBadRequest, aeCodeEmptyBody, "Request body can't be empty"), nil
	}
	if err != nil {
		return aeErr(http.StatusBadRequest, aeCodeInvalidJSON, "Input needs to be valid JSON"), nil
	}
	for _, k := range keys {
		switch k {
		case upsertMatchEmail, upsertProspect, upsertFields, upsertDeletedSearch:
		default:
			return aeErr(http.StatusBadRequest, aeCodeUnknownActionArg, "Unknown action argument: "+k), nil
		}
	}
	missing := func(k string) result {
		return aeErr(http.StatusBadRequest, aeCodeMissingActionArg, "Missing required action argument: "+k)
	}
	invalid := func(k string) result {
		return aeErr(http.StatusBadRequest, aeCodeInvalidActionArg, "Invalid action argument value: "+k)
	}
	matchEmail, isString := m[upsertMatchEmail].(string)
	switch {
	case m[upsertMatchEmail] == nil || isString && strings.TrimSpace(matchEmail) == "":
		return missing(upsertMatchEmail), nil
	case !isString:
		return invalid(upsertMatchEmail), nil
	case !validAEEmail(trimEmail(matchEmail)):
		return aeErr(http.StatusBadRequest, aeCodeInvalidEmail, "Invalid prospect email address"), nil
	}
	body, isObject := m[upsertProspect].(map[string]any)
	switch {
	case m[upsertProspect] == nil:
		return missing(upsertProspect), nil
	case !isObject:
		return invalid(upsertProspect), nil
	}
	fields, bad := upsertAnswerFields(e.prospectFields, m[upsertFields])
	if bad != nil {
		return *bad, nil
	}
	deletedSearch := true
	if v, ok := m[upsertDeletedSearch]; ok && v != nil {
		b, isBool := v.(bool)
		if !isBool {
			return invalid(upsertDeletedSearch), nil
		}
		deletedSearch = b
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return result{}, err
	}
	vals, bad := parseAEBody(e.prospectFields, raw)
	if bad != nil {
		return *bad, nil
	}
	if v, ok := vals["email"]; ok && v == nil {
		return aeErr(http.StatusBadRequest, aeCodeInvalidEmail, "Invalid prospect email address"), nil
	}
	if bad, err := checkAssignee(ctx, tx, vals); bad != nil || err != nil {
		return deref(bad), err
	}
	settings, err := loadEngagementSettings(ctx, tx)
	if err != nil {
		return result{}, err
	}
	found, err := e.prospectsWithEmail(ctx, tx, matchEmail, false, 0)
	if err != nil {
		return result{}, err
	}
	restore := false
	if len(found) == 0 && (deletedSearch || !settings.AllowMultipleProspectsPerEmail) {
		// Without AMPSEA a deleted prospect keeps its email: it is restored, as a create of
		// the email restores it; with AMPSEA only when secondaryDeletedSearch asks for it.
		if found, err = e.prospectsWithEmail(ctx, tx, matchEmail, true, 0); err != nil {
			return result{}, err
		}
		restore = true
	}
	if len(found) == 0 {
		email, ok := vals["email"].(string)
		if !ok {
			email = matchEmail
			vals["email"] = matchEmail
		}
		id, bad, err := e.insertProspect(ctx, tx, email, vals)
		if bad != nil || err != nil {
			return deref(bad), err
		}
		return e.answerProspect(ctx, tx, id, http.StatusOK, fields)
	}
	id := found[0].int("id")
	if email, ok := vals["email"].(string); ok {
		if bad, err := e.emailInUse(ctx, tx, email, id); bad != nil || err != nil {
			return deref(bad), err
		}
	}
	if err := e.setProspect(ctx, tx, id, vals, restore); err != nil {
		return result{}, err
	}
	return e.answerProspect(ctx, tx, id, http.StatusOK, fields)
}

// upsertAnswerFields reads upsertLatestByEmail's fields argument: absent, null or [] asks for
// the id alone; otherwise an array of readable field names (else code 206 or 224).
func upsertAnswerFields(defs []aeField, v any) ([]aeField, *result) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidActionArg, "Invalid action argument value: "+upsertFields)
	}
	names := make([]string, 0, len(list))
	for _, item := range list {
		name, ok := item.(string)
		if !ok || strings.Contains(name, ",") {
			return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidActionArg, "Invalid action argument value: "+upsertFields)
		}
		names = append(names, name)
	}
	return parseFields(defs, url.Values{"fields": {strings.Join(names, ",")}}, false)
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
	if email, ok := vals["email"].(string); ok {
		if bad, err := e.emailInUse(ctx, tx, email, id); bad != nil || err != nil {
			return deref(bad), err
		}
	}
	if err := e.setProspect(ctx, tx, id, vals, false); err != nil {
		return result{}, err
	}
	if fields == nil {
		return result{status: http.StatusNoContent}, nil
	}
	return e.answerProspect(ctx, tx, id, http.StatusOK, fields)
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

package emulator

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// AE error codes (developer.salesforce.com/docs/marketing/pardot/guide/error-codes).
const (
	aeCodeInvalidProspectID = 3
	aeCodeInvalidEmail      = 4
	aeCodeInvalidParams     = 5
	aeCodeInvalidTimestamp  = 7
	aeCodeInvalidUserID     = 10
	aeCodeMissingParams     = 13
	aeCodeInvalidID         = 16
	aeCodeInvalidOrderBy    = 19
	aeCodeInvalidLimit      = 23
	aeCodeInvalidDeleted    = 27
	aeCodeBadMethod         = 60
	aeCodeConflict          = 62
	aeCodeConcurrent        = 66
	aeCodeDailyLimit        = 122
	aeCodeInvalidJSON       = 150
	aeCodeEmptyBody         = 152
	aeCodeMissingProperty   = 153
	aeCodeInvalidProperty   = 154
	aeCodeInvalidWriteField = 180
	aeCodeMissingHeader     = 181
	aeCodeInternal          = 183
	aeCodeInvalidToken      = 184
	aeCodeUnknownObject     = 198
	aeCodeUnknownBU         = 201
	aeCodeTokenExpired      = 210
	aeCodeTokenInvalid      = 211
	aeCodeInvalidReadField  = 224
)

const (
	maxAEConcurrent  = 5
	aeDefaultLimit   = 200
	aeMaxLimit       = 1000
	aePageTokenTTL   = 4 * time.Hour
	aeMaxString      = 255
	firstProspectID  = 100001
	aeOffsetSeconds  = -5 * 3600 // AE answers in the account's time zone; a fixed -05:00 makes clients parse offsets
	aeObjProspects   = "prospects"
	aeObjUsers       = "users"
	aeTableProspects = "prospects"
	aeTableUsers     = "ae_users"
)

type aeKind int

const (
	aeInt     aeKind = iota // INTEGER, never null (id)
	aeIntNull               // INTEGER or null (assignedToId)
	aeStr                   // TEXT or null
	aeTime                  // INTEGER unix seconds (AE has second precision)
	aeBool                  // INTEGER 0/1
)

// aeField maps a v5 JSON field to its column.
type aeField struct {
	name     string
	col      string
	kind     aeKind
	writable bool
}

func prospectFieldDefs() []aeField {
	return []aeField{
		{"id", "id", aeInt, false},
		{"email", "email", aeStr, true},
		{"firstName", "first_name", aeStr, true},
		{"lastName", "last_name", aeStr, true},
		{"company", "company", aeStr, true},
		{"jobTitle", "job_title", aeStr, true},
		{"phone", "phone", aeStr, true},
		{"assignedToId", "assigned_to_id", aeIntNull, true},
		{"salesforceId", "salesforce_id", aeStr, true},
		{"salesforceLeadId", "salesforce_lead_id", aeStr, true},
		{"salesforceContactId", "salesforce_contact_id", aeStr, true},
		{"salesforceOwnerId", "salesforce_owner_id", aeStr, true},
		{"createdAt", "created_at", aeTime, false},
		{"updatedAt", "updated_at", aeTime, false},
		{"isDeleted", "is_deleted", aeBool, false},
	}
}

func aeUserFieldDefs() []aeField {
	return []aeField{
		{"id", "id", aeInt, false},
		{"email", "email", aeStr, false},
		{"firstName", "first_name", aeStr, false},
		{"lastName", "last_name", aeStr, false},
		{"username", "username", aeStr, false},
		{"salesforceId", "salesforce_id", aeStr, false},
		{"createdAt", "created_at", aeTime, false},
		{"updatedAt", "updated_at", aeTime, false},
		{"isDeleted", "is_deleted", aeBool, false},
	}
}

func findAEField(defs []aeField, name string) (aeField, bool) {
	for _, f := range defs {
		if f.name == name {
			return f, true
		}
	}
	return aeField{}, false
}

// aeRow is one AE record keyed by JSON name: int64, string, bool or nil values.
type aeRow map[string]any

func (r aeRow) int(name string) int64 {
	n, _ := r[name].(int64)
	return n
}

func aeErr(status, code int, msg string) result {
	return result{status: status, body: object{{"code", code}, {"message", msg}}}
}

func aeErrP(status, code int, msg string) *result {
	r := aeErr(status, code, msg)
	return &r
}

func formatAETime(sec int64) string {
	return time.Unix(sec, 0).In(time.FixedZone("", aeOffsetSeconds)).Format(time.RFC3339)
}

// parseAETime accepts RFC 3339 with Z or an offset; a "+" that arrived unencoded in a
// query string has become a space, which is repaired.
func parseAETime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, strings.ReplaceAll(strings.TrimSpace(s), " ", "+"))
}

type aeReq struct {
	method string
	object string
	id     string
	query  url.Values
	body   []byte
	base   string
}

// splitAEPath splits /api/v5/objects/{object}[/{id}].
func splitAEPath(escaped string) (object, id string, ok bool) {
	rest, found := strings.CutPrefix(escaped, "/api/v5/objects/")
	if !found {
		return "", "", false
	}
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	switch len(parts) {
	case 1:
		return parts[0], "", parts[0] != ""
	case 2:
		return parts[0], parts[1], parts[1] != ""
	}
	return parts[0], "", false
}

func (e *Emulator) acquireAE(token string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inflight[token] >= maxAEConcurrent {
		return false
	}
	e.inflight[token]++
	return true
}

func (e *Emulator) releaseAE(token string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inflight[token]--; e.inflight[token] <= 0 {
		delete(e.inflight, token)
	}
}

func (e *Emulator) serveEngagement(w http.ResponseWriter, r *http.Request) {
	obj, id, pathOK := splitAEPath(r.URL.EscapedPath())
	endpoint := obj
	if endpoint == "" {
		endpoint = strings.TrimPrefix(r.URL.Path, "/api/v5/")
	}
	e.count(apiEngagement, r.Method+" "+endpoint)
	token, ok := e.authenticate(r)
	if !ok {
		writeResult(w, aeErr(http.StatusUnauthorized, aeCodeInvalidToken, "access_token is invalid, unknown, or malformed"))
		return
	}
	switch bu := strings.TrimSpace(r.Header.Get("Pardot-Business-Unit-Id")); {
	case bu == "":
		writeResult(w, aeErr(http.StatusBadRequest, aeCodeMissingHeader, "A required header is missing: Pardot-Business-Unit-Id"))
		return
	case bu != BusinessUnitID:
		writeResult(w, aeErr(http.StatusBadRequest, aeCodeUnknownBU, "Business Unit specified in Pardot-Business-Unit-Id header not found or inactive."))
		return
	}
	if !e.acquireAE(token) {
		writeResult(w, aeErr(http.StatusTooManyRequests, aeCodeConcurrent, "You have exceeded your concurrent request limit. Please wait, before trying again"))
		return
	}
	defer e.releaseAE(token)
	if !e.spend(apiEngagement) {
		writeResult(w, aeErr(http.StatusTooManyRequests, aeCodeDailyLimit, "Daily API rate limit met"))
		return
	}
	kind, latency := e.pickFault(r, apiEngagement)
	// The latency is spent holding a concurrency slot, as a slow real request would.
	if !wait(r.Context(), latency) {
		return
	}
	var res result
	switch kind {
	case faultDrop:
		abortConnection(w)
		return
	case faultRateLimit:
		res = aeErr(http.StatusTooManyRequests, aeCodeConcurrent, "You have exceeded your concurrent request limit. Please wait, before trying again")
	case fault500:
		res = aeErr(http.StatusInternalServerError, aeCodeInternal, "An internal error occurred, please try your request again (emulated fault)")
	case fault503:
		res = aeErr(http.StatusServiceUnavailable, aeCodeInternal, "Service temporarily unavailable (emulated fault)")
	case faultLockRow:
		res = aeErr(http.StatusConflict, aeCodeConflict, "Conflicting Update (emulated fault)")
	default:
		if !pathOK {
			res = aeErr(http.StatusNotFound, aeCodeUnknownObject, "Endpoint not found")
			break
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			res = aeErr(http.StatusBadRequest, aeCodeInvalidJSON, err.Error())
			break
		}
		res = e.execAE(r.Context(), &aeReq{method: r.Method, object: obj, id: id, query: r.URL.Query(), body: body, base: baseURL(r)})
	}
	if kind == faultDropAfter {
		abortConnection(w)
		return
	}
	writeResult(w, res)
}

func (e *Emulator) execAE(ctx context.Context, req *aeReq) result {
	var res result
	err := e.inTx(ctx, req.method != http.MethodGet, func(tx *sql.Tx) (bool, error) {
		var err error
		res, err = e.dispatchAE(ctx, tx, req)
		return res.status < 400, err
	})
	if err != nil {
		return aeErr(http.StatusInternalServerError, aeCodeInternal, err.Error())
	}
	return res
}

func (e *Emulator) dispatchAE(ctx context.Context, tx *sql.Tx, req *aeReq) (result, error) {
	badMethod := aeErr(http.StatusMethodNotAllowed, aeCodeBadMethod, "Invalid HTTP request method")
	var (
		table    string
		defs     []aeField
		notFound result
	)
	switch req.object {
	case aeObjProspects:
		table, defs = aeTableProspects, e.prospectFields
		notFound = aeErr(http.StatusNotFound, aeCodeInvalidProspectID, "Invalid prospect ID")
	case aeObjUsers:
		table, defs = aeTableUsers, e.aeUserFields
		notFound = aeErr(http.StatusNotFound, aeCodeInvalidUserID, "Invalid user ID")
	default:
		return aeErr(http.StatusNotFound, aeCodeUnknownObject, "Endpoint not found"), nil
	}
	if req.id == "" {
		switch {
		case req.method == http.MethodGet:
			return e.queryAE(ctx, tx, req, table, defs)
		case req.method == http.MethodPost && req.object == aeObjProspects:
			return e.createProspect(ctx, tx, req)
		}
		return badMethod, nil
	}
	id, err := strconv.ParseInt(req.id, 10, 64)
	if err != nil || id <= 0 {
		return aeErr(http.StatusBadRequest, aeCodeInvalidID, "Invalid ID"), nil
	}
	switch {
	case req.method == http.MethodGet:
		return e.getAE(ctx, tx, req, table, defs, id, notFound)
	case req.method == http.MethodPatch && req.object == aeObjProspects:
		return e.updateProspect(ctx, tx, req, id, notFound)
	case req.method == http.MethodDelete && req.object == aeObjProspects:
		return e.deleteProspect(ctx, tx, id, notFound)
	}
	return badMethod, nil
}

func loadAE(ctx context.Context, tx *sql.Tx, table string, defs []aeField, where string, args ...any) ([]aeRow, error) {
	return selectAE(ctx, tx, table, defs, where, "id", 0, args...)
}

// selectAE reads the rows matching where in orderBy order, at most limit of them (0 = no
// limit); where and orderBy are SQL made of column names and placeholders only, and args
// carry all values.
func selectAE(ctx context.Context, tx *sql.Tx, table string, defs []aeField, where, orderBy string, limit int, args ...any) ([]aeRow, error) {
	cols := make([]string, len(defs))
	for i, f := range defs {
		cols[i] = f.col
	}
	q := fmt.Sprintf("SELECT %s FROM %s", strings.Join(cols, ", "), table)
	if where != "" {
		q += " WHERE " + where
	}
	q += " ORDER BY " + orderBy
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args[:len(args):len(args)], limit) // never into the caller's array
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []aeRow
	for rows.Next() {
		dest := make([]any, len(defs))
		for i, f := range defs {
			switch f.kind {
			case aeStr:
				dest[i] = new(sql.NullString)
			case aeIntNull:
				dest[i] = new(sql.NullInt64)
			default:
				dest[i] = new(int64)
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		row := aeRow{}
		for i, f := range defs {
			switch v := dest[i].(type) {
			case *sql.NullString:
				row[f.name] = nil
				if v.Valid {
					row[f.name] = v.String
				}
			case *sql.NullInt64:
				row[f.name] = nil
				if v.Valid {
					row[f.name] = v.Int64
				}
			case *int64:
				if f.kind == aeBool {
					row[f.name] = *v != 0
				} else {
					row[f.name] = *v
				}
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func loadAEOne(ctx context.Context, tx *sql.Tx, table string, defs []aeField, id int64) (aeRow, bool, error) {
	rows, err := loadAE(ctx, tx, table, defs, "id = ?", id)
	if err != nil || len(rows) == 0 {
		return nil, false, err
	}
	return rows[0], true, nil
}

func aeJSON(row aeRow, fields []aeField) object {
	o := make(object, 0, len(fields))
	for _, f := range fields {
		v := row[f.name]
		if f.kind == aeTime {
			v = formatAETime(row.int(f.name))
		}
		o = append(o, kv{f.name, v})
	}
	return o
}

// parseFields reads the fields parameter; v5 has no default representation.
func parseFields(defs []aeField, q url.Values, required bool) ([]aeField, *result) {
	raw := strings.TrimSpace(q.Get("fields"))
	if raw == "" {
		if required {
			return nil, aeErrP(http.StatusBadRequest, aeCodeMissingParams, "One or more required parameters are missing: fields")
		}
		return nil, nil
	}
	var out []aeField
	for _, name := range strings.Split(raw, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		f, ok := findAEField(defs, name)
		if !ok {
			return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidReadField, "Invalid fields for request type: "+name)
		}
		out = append(out, f)
	}
	return out, nil
}

func includeDeleted(v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	return v == "true" || v == "all"
}

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
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, aeErrP(http.StatusBadRequest, aeCodeEmptyBody, "Request body can't be empty")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidJSON, "Input needs to be valid JSON")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]any{}
	for _, k := range keys {
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

// checkAssignee verifies assignedToId names a live AE user.
func checkAssignee(ctx context.Context, tx *sql.Tx, vals map[string]any) (*result, error) {
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
	// Syntax is deliberately not checked, so tests can create prospects whose email
	// Salesforce will reject; presence is.
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

// ---- queries and page tokens ----

// aeQuerySpec is a parsed query; it travels inside the page token, so every page of a
// sequence applies the same filters and order.
type aeQuerySpec struct {
	Object  string     `json:"obj"`
	Deleted string     `json:"del"` // "false" | "true" | "all"
	Order   []aeOrder  `json:"ord"`
	Limit   int        `json:"lim"`
	Filters []aeFilter `json:"flt,omitempty"`
	After   *aeKey     `json:"after,omitempty"` // sort key of the previous page's last row
	Issued  int64      `json:"iat"`
}

type aeOrder struct {
	Field string `json:"f"`
	Desc  bool   `json:"d,omitempty"`
}

// aeFilter compares a field with a value: ids as-is, times in unix nanoseconds.
type aeFilter struct {
	Field string `json:"f"`
	Op    string `json:"o"`
	Value int64  `json:"v"`
}

type aeKey struct {
	ID        int64 `json:"id"`
	CreatedAt int64 `json:"c"`
	UpdatedAt int64 `json:"u"`
}

func (k aeKey) get(field string) int64 {
	switch field {
	case "createdAt":
		return k.CreatedAt
	case "updatedAt":
		return k.UpdatedAt
	}
	return k.ID
}

func keyOf(r aeRow) aeKey {
	return aeKey{ID: r.int("id"), CreatedAt: r.int("createdAt"), UpdatedAt: r.int("updatedAt")}
}

// aeKeyColumn is the column behind an aeKey field, with aeKey.get's fallback to id.
func aeKeyColumn(field string) string {
	switch field {
	case "createdAt":
		return "created_at"
	case "updatedAt":
		return "updated_at"
	}
	return "id"
}

// floorDiv and ceilDiv round a quotient down and up (b > 0), where Go's / truncates.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}

// sql translates the spec into a WHERE condition (values in args) and an ORDER BY list
// that select and order exactly its rows: the deleted choice, the filters, the keyset
// position after the previous page, and the order terms with id as the final tiebreak (a
// total order makes keyset paging exact). SQLite can then walk the updated_at/created_at
// index and stop after one page instead of sorting the whole table.
func (s *aeQuerySpec) sql() (where string, args []any, orderBy string) {
	var conds []string
	switch s.Deleted {
	case "false":
		conds = append(conds, "is_deleted = 0")
	case "true":
		conds = append(conds, "is_deleted <> 0")
	} // anything else ("all") keeps every row
	for _, f := range s.Filters {
		op, bound := f.Op, f.Value
		if op != ">" && op != ">=" && op != "<" {
			op = "<="
		}
		if f.Field != "id" {
			// Times are stored in whole seconds v and filters carry nanoseconds V:
			// v·1e9 > V ⇔ v > ⌊V/1e9⌋, v·1e9 ≥ V ⇔ v ≥ ⌈V/1e9⌉, v·1e9 < V ⇔ v < ⌈V/1e9⌉,
			// v·1e9 ≤ V ⇔ v ≤ ⌊V/1e9⌋. Comparing seconds keeps the index usable.
			if op == ">" || op == "<=" {
				bound = floorDiv(bound, int64(time.Second))
			} else {
				bound = ceilDiv(bound, int64(time.Second))
			}
		}
		conds = append(conds, aeKeyColumn(f.Field)+" "+op+" ?")
		args = append(args, bound)
	}
	terms := append(append([]aeOrder(nil), s.Order...), aeOrder{Field: "id"})
	if a := s.After; a != nil {
		// Lexicographic "after": some term is past the key while all earlier terms equal
		// it. The first term's bound is implied by that and gives SQLite an index range.
		first := aeKeyColumn(terms[0].Field) + " >= ?"
		if terms[0].Desc {
			first = aeKeyColumn(terms[0].Field) + " <= ?"
		}
		conds = append(conds, first)
		args = append(args, a.get(terms[0].Field))
		alts := make([]string, len(terms))
		for i, t := range terms {
			var alt []string
			for _, prev := range terms[:i] {
				alt = append(alt, aeKeyColumn(prev.Field)+" = ?")
				args = append(args, a.get(prev.Field))
			}
			op := " > ?"
			if t.Desc {
				op = " < ?"
			}
			alt = append(alt, aeKeyColumn(t.Field)+op)
			args = append(args, a.get(t.Field))
			alts[i] = "(" + strings.Join(alt, " AND ") + ")"
		}
		conds = append(conds, "("+strings.Join(alts, " OR ")+")")
	}
	order := make([]string, len(terms))
	for i, t := range terms {
		order[i] = aeKeyColumn(t.Field)
		if t.Desc {
			order[i] += " DESC"
		}
	}
	return strings.Join(conds, " AND "), args, strings.Join(order, ", ")
}

// aeFilters maps the v5 filter parameters to (field, operator).
func aeFilterParam(name string) (field, op string, ok bool) {
	for _, f := range []string{"createdAt", "updatedAt"} {
		switch name {
		case f + "After":
			return f, ">", true
		case f + "AfterOrEqualTo":
			return f, ">=", true
		case f + "Before":
			return f, "<", true
		case f + "BeforeOrEqualTo":
			return f, "<=", true
		}
	}
	switch name {
	case "idGreaterThan":
		return "id", ">", true
	case "idGreaterThanOrEqualTo":
		return "id", ">=", true
	case "idLessThan":
		return "id", "<", true
	case "idLessThanOrEqualTo":
		return "id", "<=", true
	}
	return "", "", false
}

func parseAEQuery(object string, q url.Values) (*aeQuerySpec, *result) {
	spec := &aeQuerySpec{Object: object, Deleted: "false", Limit: aeDefaultLimit, Order: []aeOrder{{Field: "id"}}}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.TrimSpace(q.Get(k))
		switch k {
		case "fields":
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > aeMaxLimit {
				return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidLimit, fmt.Sprintf("Invalid value specified for limit: must be 1..%d", aeMaxLimit))
			}
			spec.Limit = n
		case "orderBy":
			spec.Order = nil
			for _, term := range strings.Split(v, ",") {
				parts := strings.Fields(term)
				if len(parts) == 0 || len(parts) > 2 {
					return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidOrderBy, "Invalid value specified for orderBy: "+v)
				}
				o := aeOrder{Field: parts[0]}
				if o.Field != "id" && o.Field != "createdAt" && o.Field != "updatedAt" {
					return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidOrderBy, "Invalid value specified for orderBy: "+parts[0])
				}
				if len(parts) == 2 {
					switch strings.ToUpper(parts[1]) {
					case "ASC":
					case "DESC":
						o.Desc = true
					default:
						return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidOrderBy, "Invalid value specified for orderBy: "+v)
					}
				}
				spec.Order = append(spec.Order, o)
			}
		case "deleted":
			d := strings.ToLower(v)
			if d != "true" && d != "false" && d != "all" {
				return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidDeleted, "Parameter deleted must be true, false or all")
			}
			spec.Deleted = d
		default:
			field, op, ok := aeFilterParam(k)
			if !ok {
				return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidParams, "Invalid query parameters: "+k)
			}
			f := aeFilter{Field: field, Op: op}
			if field == "id" {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidID, "Invalid ID: "+v)
				}
				f.Value = n
			} else {
				t, err := parseAETime(q.Get(k))
				if err != nil {
					return nil, aeErrP(http.StatusBadRequest, aeCodeInvalidTimestamp, "Invalid timestamp: "+v)
				}
				f.Value = t.UnixNano()
			}
			spec.Filters = append(spec.Filters, f)
		}
	}
	return spec, nil
}

func encodePageToken(spec *aeQuerySpec) string {
	b, _ := json.Marshal(spec)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (e *Emulator) decodePageToken(object, tok string) (*aeQuerySpec, *result) {
	invalid := aeErrP(http.StatusBadRequest, aeCodeTokenInvalid, "Page token is invalid.")
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, invalid
	}
	var spec aeQuerySpec
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil || spec.Object != object || spec.After == nil || spec.Limit < 1 {
		return nil, invalid
	}
	if e.now().Sub(time.Unix(spec.Issued, 0)) > aePageTokenTTL {
		return nil, aeErrP(http.StatusBadRequest, aeCodeTokenExpired, "Page token has expired.")
	}
	return &spec, nil
}

func (e *Emulator) queryAE(ctx context.Context, tx *sql.Tx, req *aeReq, table string, defs []aeField) (result, error) {
	fields, bad := parseFields(defs, req.query, true)
	if bad != nil {
		return *bad, nil
	}
	var spec *aeQuerySpec
	if tok := req.query.Get("nextPageToken"); tok != "" {
		for k := range req.query {
			if k != "fields" && k != "nextPageToken" {
				return aeErr(http.StatusBadRequest, aeCodeInvalidParams, "Only fields may accompany nextPageToken: "+k), nil
			}
		}
		spec, bad = e.decodePageToken(req.object, tok)
	} else {
		spec, bad = parseAEQuery(req.object, req.query)
	}
	if bad != nil {
		return *bad, nil
	}
	where, args, orderBy := spec.sql()
	// One row beyond the page tells whether another page follows.
	kept, err := selectAE(ctx, tx, table, defs, where, orderBy, spec.Limit+1, args...)
	if err != nil {
		return result{}, err
	}
	more := len(kept) > spec.Limit
	if more {
		kept = kept[:spec.Limit]
	}
	values := make([]any, len(kept))
	for i, r := range kept {
		values[i] = aeJSON(r, fields)
	}
	var token, next any
	if more {
		last := keyOf(kept[len(kept)-1])
		spec.After = &last
		spec.Issued = e.now().Unix()
		t := encodePageToken(spec)
		token = t
		next = req.base + "/api/v5/objects/" + req.object + "?" + url.Values{"fields": {req.query.Get("fields")}, "nextPageToken": {t}}.Encode()
	}
	return result{status: http.StatusOK, body: object{{"values", values}, {"nextPageToken", token}, {"nextPageUrl", next}}}, nil
}

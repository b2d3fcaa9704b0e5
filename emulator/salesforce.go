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

const (
	jwtGrantType     = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	defaultBatchSize = 2000
	cursorTTL        = 15 * time.Minute
	leadStatusOpen   = "Open - Not Contacted"
	sfTimeLayout     = "2006-01-02T15:04:05.000+0000"
)

// ---- OAuth token endpoint ----

func (e *Emulator) serveToken(w http.ResponseWriter, r *http.Request) {
	e.count(apiToken, "")
	kind, latency := e.pickFault(r, apiToken)
	if !wait(r.Context(), latency) {
		return
	}
	switch kind {
	case faultDrop:
		abortConnection(w)
		return
	case fault500, faultLockRow:
		writeResult(w, result{status: http.StatusInternalServerError, body: object{{"error", "unknown_error"}, {"error_description", "retry your request"}}})
		return
	case fault503, faultRateLimit:
		writeResult(w, result{status: http.StatusServiceUnavailable, body: object{{"error", "temporarily_unavailable"}, {"error_description", "service unavailable"}}})
		return
	}
	res := e.issueToken(r)
	if kind == faultDropAfter {
		abortConnection(w)
		return
	}
	writeResult(w, res)
}

func oauthError(code, desc string) result {
	return result{status: http.StatusBadRequest, body: object{{"error", code}, {"error_description", desc}}}
}

func (e *Emulator) issueToken(r *http.Request) result {
	if r.Method != http.MethodPost {
		return oauthError("invalid_request", "must use HTTP POST")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		return oauthError("invalid_request", err.Error())
	}
	var userID string
	switch r.Form.Get("grant_type") {
	case "client_credentials":
		id, secret := r.Form.Get("client_id"), r.Form.Get("client_secret")
		if u, p, ok := r.BasicAuth(); ok {
			id, secret = u, p
		}
		if id != ClientID || secret != ClientSecret {
			return oauthError("invalid_client", "invalid client credentials")
		}
		userID = IntegrationUserID
	case jwtGrantType:
		var bad *result
		userID, bad = e.checkAssertion(r.Context(), r.Form.Get("assertion"))
		if bad != nil {
			return *bad
		}
	case "":
		return oauthError("invalid_request", "grant_type is required")
	default:
		return oauthError("unsupported_grant_type", "grant type not supported")
	}
	token := orgID[:15] + "!" + randomHex(32)
	issued := e.now()
	e.mu.Lock()
	e.tokens[token] = tokenInfo{userID: userID, issued: issued}
	e.mu.Unlock()
	base := baseURL(r)
	return result{status: http.StatusOK, body: object{
		{"access_token", token},
		{"instance_url", base},
		{"id", base + "/id/" + orgID + "/" + userID},
		{"token_type", "Bearer"},
		{"issued_at", strconv.FormatInt(issued.UnixMilli(), 10)},
		{"signature", base64.StdEncoding.EncodeToString([]byte(randomHex(16)))},
		{"scope", "api pardot_api"},
	}}
}

// checkAssertion validates a JWT bearer assertion's structure and claims (the signature
// is not verified: the emulator has no certificate to check it against).
func (e *Emulator) checkAssertion(ctx context.Context, assertion string) (string, *result) {
	invalid := func(desc string) (string, *result) {
		res := oauthError("invalid_grant", desc)
		return "", &res
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 || parts[2] == "" {
		return invalid("invalid assertion")
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss string      `json:"iss"`
		Sub string      `json:"sub"`
		Aud any         `json:"aud"`
		Exp json.Number `json:"exp"`
	}
	if decodeSegment(parts[0], &hdr) != nil || decodeSegment(parts[1], &claims) != nil {
		return invalid("invalid assertion")
	}
	if hdr.Alg != "RS256" {
		return invalid("invalid assertion: alg must be RS256")
	}
	if claims.Iss != ClientID {
		res := oauthError("invalid_client", "client identifier invalid")
		return "", &res
	}
	exp, err := claims.Exp.Float64()
	if err != nil || !time.Unix(int64(exp), 0).After(e.now()) {
		return invalid("expired authorization code")
	}
	var userID string
	err = e.inTx(ctx, false, func(tx *sql.Tx) (bool, error) {
		users, err := e.loadRecords(ctx, tx, e.user, `"IsActive" = 1`)
		for _, u := range users {
			if strings.EqualFold(u.str("Username"), claims.Sub) {
				userID = u.str("Id")
			}
		}
		return false, err
	})
	if err != nil || userID == "" {
		return invalid("user hasn't approved this consumer")
	}
	return userID, nil
}

func decodeSegment(seg string, dst any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(dst)
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// authenticate returns the bearer token of r if it is known and not expired.
func (e *Emulator) authenticate(r *http.Request) (string, bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	var token string
	switch {
	case len(h) > 7 && strings.EqualFold(h[:7], "Bearer "):
		token = strings.TrimSpace(h[7:])
	case len(h) > 6 && strings.EqualFold(h[:6], "OAuth "):
		token = strings.TrimSpace(h[6:])
	default:
		return "", false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	info, ok := e.tokens[token]
	if !ok || e.now().Sub(info.issued) >= e.opts.TokenTTL {
		return "", false
	}
	return token, true
}

// spend takes one call from the daily allowance of api; false means it is used up.
func (e *Emulator) spend(api apiKind) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.checkUsageDay()
	if api == apiSalesforce {
		if e.sfUsed >= e.sfLimit {
			return false
		}
		e.sfUsed++
		return true
	}
	if e.aeUsed >= e.aeLimit {
		return false
	}
	e.aeUsed++
	return true
}

func (e *Emulator) sfLimitInfo() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.checkUsageDay()
	return fmt.Sprintf("api-usage=%d/%d", e.sfUsed, e.sfLimit)
}

// ---- Salesforce data API ----

// sfReq is one Salesforce API request, top-level or a composite subrequest.
type sfReq struct {
	method  string
	version string   // "v62.0"
	segs    []string // path segments after the version, unescaped
	query   url.Values
	header  http.Header
	body    []byte
}

type sfErrorItem struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields"`
}

func sfErr(status int, code, msg string, fields ...string) result {
	if fields == nil {
		fields = []string{}
	}
	return result{status: status, body: []sfErrorItem{{Message: msg, ErrorCode: code, Fields: fields}}}
}

func sfErrP(status int, code, msg string, fields ...string) *result {
	r := sfErr(status, code, msg, fields...)
	return &r
}

func notFound() result {
	return sfErr(http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
}

func methodNotAllowed(method, allowed string) result {
	return sfErr(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", method, allowed))
}

// splitDataPath splits an escaped /services/data/vNN.N/... path.
func splitDataPath(escaped string) (version string, segs []string, ok bool) {
	rest, found := strings.CutPrefix(escaped, "/services/data/")
	if !found {
		return "", nil, false
	}
	parts := strings.Split(rest, "/")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if len(parts) == 0 || !validVersion(parts[0]) {
		return "", nil, false
	}
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return "", nil, false
		}
		parts[i] = u
	}
	return parts[0], parts[1:], true
}

func validVersion(v string) bool {
	major, minor, ok := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	if !ok || !strings.HasPrefix(v, "v") {
		return false
	}
	_, err1 := strconv.Atoi(major)
	_, err2 := strconv.Atoi(minor)
	return err1 == nil && err2 == nil
}

func sfEndpoint(segs []string) string {
	switch {
	case len(segs) == 0:
		return ""
	case segs[0] == "sobjects" && len(segs) > 1:
		return "sobjects/" + segs[1]
	default:
		return segs[0]
	}
}

func (e *Emulator) serveSalesforce(w http.ResponseWriter, r *http.Request) {
	version, segs, pathOK := splitDataPath(r.URL.EscapedPath())
	e.count(apiSalesforce, r.Method+" "+sfEndpoint(segs))
	finish := func(res result) {
		w.Header().Set("Sforce-Limit-Info", e.sfLimitInfo())
		writeResult(w, res)
	}
	if _, ok := e.authenticate(r); !ok {
		finish(sfErr(http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid"))
		return
	}
	if !e.spend(apiSalesforce) {
		finish(sfErr(http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))
		return
	}
	kind, latency := e.pickFault(r, apiSalesforce)
	if !wait(r.Context(), latency) {
		return
	}
	var res result
	switch kind {
	case faultDrop:
		abortConnection(w)
		return
	case faultRateLimit:
		res = sfErr(http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
	case fault500:
		res = sfErr(http.StatusInternalServerError, "UNKNOWN_EXCEPTION", "An unexpected error occurred (emulated fault).")
	case fault503:
		res = sfErr(http.StatusServiceUnavailable, "SERVER_UNAVAILABLE", "Server is temporarily unavailable (emulated fault).")
	case faultLockRow:
		res = sfErr(http.StatusBadRequest, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records")
	default:
		if !pathOK {
			res = notFound()
			break
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			res = sfErr(http.StatusBadRequest, "JSON_PARSER_ERROR", err.Error())
			break
		}
		res = e.execSF(r.Context(), &sfReq{method: r.Method, version: version, segs: segs, query: r.URL.Query(), header: r.Header, body: body})
	}
	if kind == faultDropAfter {
		abortConnection(w)
		return
	}
	finish(res)
}

// execSF runs one top-level request in its own transaction.
func (e *Emulator) execSF(ctx context.Context, req *sfReq) result {
	var res result
	write := req.method != http.MethodGet && req.method != http.MethodHead
	err := e.inTx(ctx, write, func(tx *sql.Tx) (bool, error) {
		if len(req.segs) > 0 && req.segs[0] == "composite" {
			var commit bool
			var err error
			res, commit, err = e.composite(ctx, tx, req)
			return commit, err
		}
		var err error
		res, err = e.dispatchSF(ctx, tx, req)
		return res.status < 400, err
	})
	if err != nil {
		return sfErr(http.StatusInternalServerError, "UNKNOWN_EXCEPTION", err.Error())
	}
	return res
}

func (e *Emulator) dispatchSF(ctx context.Context, tx *sql.Tx, req *sfReq) (result, error) {
	if len(req.segs) == 0 {
		return notFound(), nil
	}
	switch req.segs[0] {
	case "query", "queryAll":
		if req.method != http.MethodGet {
			return methodNotAllowed(req.method, "GET"), nil
		}
		switch len(req.segs) {
		case 1:
			return e.query(ctx, tx, req, req.segs[0] == "queryAll")
		case 2:
			return e.queryMore(req.version, req.segs[1]), nil
		}
	case "sobjects":
		return e.sobjects(ctx, tx, req)
	}
	return notFound(), nil
}

// ---- query ----

type queryCursor struct {
	rows    []any
	batch   int
	created time.Time
}

func batchSize(h http.Header) int {
	for _, opt := range strings.Split(h.Get("Sforce-Query-Options"), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(opt), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "batchSize") {
			continue
		}
		// Salesforce enforces 200..2000; the emulator accepts any N >= 1 so tests can page
		// small data sets.
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 1 {
			return min(n, defaultBatchSize)
		}
	}
	return defaultBatchSize
}

func (e *Emulator) query(ctx context.Context, tx *sql.Tx, req *sfReq, all bool) (result, error) {
	soql := req.query.Get("q")
	if strings.TrimSpace(soql) == "" {
		return sfErr(http.StatusBadRequest, "MALFORMED_QUERY", "The query string is empty"), nil
	}
	q, err := parseSOQL(soql, e.objects)
	if err != nil {
		return sfErr(http.StatusBadRequest, "MALFORMED_QUERY", err.Error()), nil
	}
	var conds []string
	if !all && q.obj.has("IsDeleted") {
		conds = append(conds, `"IsDeleted" = 0`)
	}
	// The prefilter lets SQLite use an index (Email, Id) instead of handing every row to
	// q.run, which still applies the whole WHERE.
	pre, args := q.prefilter()
	if pre != "" {
		conds = append(conds, pre)
	}
	rows, err := e.loadRecords(ctx, tx, q.obj, strings.Join(conds, " AND "), args...)
	if err != nil {
		return result{}, err
	}
	matched := q.run(rows)
	out := make([]any, len(matched))
	for i, r := range matched {
		out[i] = recordJSON(q.obj, req.version, r, q.fields)
	}
	batch := batchSize(req.header)
	if len(out) <= batch {
		return result{status: http.StatusOK, body: object{{"totalSize", len(out)}, {"done", true}, {"records", out}}}, nil
	}
	id := "01g" + strings.ToUpper(randomHex(8))[:15]
	c := &queryCursor{rows: out, batch: batch, created: e.now()}
	e.mu.Lock()
	for k, old := range e.cursors {
		if e.now().Sub(old.created) > cursorTTL {
			delete(e.cursors, k)
		}
	}
	e.cursors[id] = c
	e.mu.Unlock()
	return cursorPage(req.version, id, c, 0), nil
}

func cursorPage(version, id string, c *queryCursor, offset int) result {
	end := min(offset+c.batch, len(c.rows))
	body := object{{"totalSize", len(c.rows)}, {"done", end >= len(c.rows)}}
	if end < len(c.rows) {
		body = append(body, kv{"nextRecordsUrl", fmt.Sprintf("/services/data/%s/query/%s-%d", version, id, end)})
	}
	body = append(body, kv{"records", c.rows[offset:end]})
	return result{status: http.StatusOK, body: body}
}

func (e *Emulator) queryMore(version, locator string) result {
	invalid := sfErr(http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
	i := strings.LastIndexByte(locator, '-')
	if i < 0 {
		return invalid
	}
	offset, err := strconv.Atoi(locator[i+1:])
	if err != nil {
		return invalid
	}
	e.mu.Lock()
	c := e.cursors[locator[:i]]
	e.mu.Unlock()
	if c == nil || offset < 0 || offset >= len(c.rows) {
		return invalid
	}
	return cursorPage(version, locator[:i], c, offset)
}

func recordJSON(obj *objectDef, version string, rec record, fields []*fieldDef) object {
	o := make(object, 0, len(fields)+1)
	o = append(o, kv{"attributes", object{
		{"type", obj.Name},
		{"url", "/services/data/" + version + "/sobjects/" + obj.Name + "/" + rec.str("Id")},
	}})
	for _, f := range fields {
		v := rec[f.Name]
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Format(sfTimeLayout)
		}
		o = append(o, kv{f.Name, v})
	}
	return o
}

// ---- sobjects ----

func (e *Emulator) sobjects(ctx context.Context, tx *sql.Tx, req *sfReq) (result, error) {
	if len(req.segs) < 2 {
		return notFound(), nil
	}
	obj := e.objects[strings.ToLower(req.segs[1])]
	if obj == nil {
		return sfErr(http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("The requested resource does not exist: sObject type '%s' is not supported", req.segs[1])), nil
	}
	if obj.ReadOnly && req.method != http.MethodGet {
		return methodNotAllowed(req.method, "GET"), nil
	}
	switch len(req.segs) {
	case 2:
		if req.method != http.MethodPost {
			return methodNotAllowed(req.method, "POST"), nil
		}
		return e.create(ctx, tx, obj, req, nil)
	case 3:
		id, bad := parsePathID(obj, req.segs[2])
		if bad != nil {
			return *bad, nil
		}
		switch req.method {
		case http.MethodGet:
			return e.get(ctx, tx, obj, id, req)
		case http.MethodPatch:
			return e.update(ctx, tx, obj, id, req)
		case http.MethodDelete:
			return e.delete(ctx, tx, obj, id)
		}
		return methodNotAllowed(req.method, "GET, PATCH, DELETE"), nil
	case 4:
		switch req.method {
		case http.MethodPatch:
			return e.upsert(ctx, tx, obj, req.segs[2], req.segs[3], req)
		case http.MethodGet:
			return e.getByExternalID(ctx, tx, obj, req.segs[2], req.segs[3], req)
		}
		return methodNotAllowed(req.method, "GET, PATCH"), nil
	}
	return notFound(), nil
}

// parsePathID checks an id from a URL: malformed → MALFORMED_ID, other object → NOT_FOUND.
func parsePathID(obj *objectDef, raw string) (string, *result) {
	if !validIDSyntax(raw) {
		return "", sfErrP(http.StatusBadRequest, "MALFORMED_ID", fmt.Sprintf("%s ID: id value of incorrect type: %s", obj.Name, raw), "Id")
	}
	id := to18(raw)
	if !strings.HasPrefix(id, obj.Prefix) {
		r := notFound()
		return "", &r
	}
	return id, nil
}

func (e *Emulator) selectedFields(obj *objectDef, param string) ([]*fieldDef, *result) {
	if strings.TrimSpace(param) == "" {
		return obj.Fields, nil
	}
	var out []*fieldDef
	for _, name := range strings.Split(param, ",") {
		name = strings.TrimSpace(name)
		f := obj.field(name)
		if f == nil {
			return nil, sfErrP(http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'.", name, obj.Name), name)
		}
		out = append(out, f)
	}
	return out, nil
}

func (e *Emulator) get(ctx context.Context, tx *sql.Tx, obj *objectDef, id string, req *sfReq) (result, error) {
	fields, bad := e.selectedFields(obj, req.query.Get("fields"))
	if bad != nil {
		return *bad, nil
	}
	rec, found, err := e.loadRecord(ctx, tx, obj, id)
	if err != nil {
		return result{}, err
	}
	// A deleted record is in the recycle bin: reads see NOT_FOUND, writes ENTITY_IS_DELETED.
	if !found || rec.boolean("IsDeleted") {
		return notFound(), nil
	}
	return result{status: http.StatusOK, body: recordJSON(obj, req.version, rec, fields)}, nil
}

func (e *Emulator) getByExternalID(ctx context.Context, tx *sql.Tx, obj *objectDef, fieldName, value string, req *sfReq) (result, error) {
	f := obj.field(fieldName)
	if f == nil || !f.ExtID {
		return sfErr(http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+fieldName), nil
	}
	fields, bad := e.selectedFields(obj, req.query.Get("fields"))
	if bad != nil {
		return *bad, nil
	}
	matches, err := e.findByField(ctx, tx, obj, f, value)
	if err != nil {
		return result{}, err
	}
	switch len(matches) {
	case 0:
		return notFound(), nil
	case 1:
		return result{status: http.StatusOK, body: recordJSON(obj, req.version, matches[0], fields)}, nil
	}
	return multipleChoices(obj, req.version, matches), nil
}

func multipleChoices(obj *objectDef, version string, matches []record) result {
	urls := make([]string, len(matches))
	for i, m := range matches {
		urls[i] = "/services/data/" + version + "/sobjects/" + obj.Name + "/" + m.str("Id")
	}
	return result{status: http.StatusMultipleChoices, body: urls}
}

// findByField returns the live records whose field equals value (case-insensitively, as
// Salesforce compares external ids and emails).
func (e *Emulator) findByField(ctx context.Context, tx *sql.Tx, obj *objectDef, f *fieldDef, value string) ([]record, error) {
	where, args := `"IsDeleted" = 0`, []any(nil)
	// The fold index narrows the rows; EqualFold below still decides. An empty value also
	// matches null columns and a non-ASCII one is beyond foldExpr, so both scan.
	if f.Kind == kString && value != "" && isASCII(value) {
		where += " AND " + foldExpr(f.Name) + " = ?"
		args = append(args, strings.ToLower(value))
	}
	rows, err := e.loadRecords(ctx, tx, obj, where, args...)
	if err != nil {
		return nil, err
	}
	var out []record
	for _, r := range rows {
		if strings.EqualFold(r.str(f.Name), value) {
			out = append(out, r)
		}
	}
	return out, nil
}

// parseWriteBody decodes a create/update body and checks field names and value types.
func parseWriteBody(obj *objectDef, body []byte) (record, *result) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, sfErrP(http.StatusBadRequest, "JSON_PARSER_ERROR", "The HTTP entity body is required, but this request has no entity body.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		msg := "request body must be a JSON object"
		if err != nil {
			msg = err.Error()
		}
		return nil, sfErrP(http.StatusBadRequest, "JSON_PARSER_ERROR", msg)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic error reporting
	out := record{}
	for _, k := range keys {
		if k == "attributes" {
			continue
		}
		f := obj.field(k)
		if f == nil {
			return nil, sfErrP(http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", k, obj.Name), k)
		}
		if !f.Writable {
			return nil, sfErrP(http.StatusBadRequest, "INVALID_FIELD_FOR_INSERT_UPDATE",
				fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", f.Name), f.Name)
		}
		switch v := m[k].(type) {
		case nil:
			out[f.Name] = nil
		case string:
			if v == "" { // Salesforce stores an empty string as null
				out[f.Name] = nil
			} else {
				out[f.Name] = v
			}
		case json.Number, bool:
			out[f.Name] = fmt.Sprint(v)
		default:
			return nil, sfErrP(http.StatusBadRequest, "JSON_PARSER_ERROR", fmt.Sprintf("Cannot deserialize instance of string from %T value for field %s", v, f.Name), f.Name)
		}
	}
	return out, nil
}

// validate checks required fields, lengths, email syntax and references of a full record;
// touched limits the reference checks to the fields being written (nil = all).
func (e *Emulator) validate(ctx context.Context, tx *sql.Tx, obj *objectDef, rec record, touched map[string]bool) (*result, error) {
	var missing []string
	for _, f := range obj.Fields {
		if f.Required && rec[f.Name] == nil {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		return sfErrP(http.StatusBadRequest, "REQUIRED_FIELD_MISSING", fmt.Sprintf("Required fields are missing: [%s]", strings.Join(missing, ", ")), missing...), nil
	}
	for _, f := range obj.Fields {
		s, ok := rec[f.Name].(string)
		if !ok || f.MaxLen == 0 || utf8.RuneCountInString(s) <= f.MaxLen {
			continue
		}
		shown := s
		if utf8.RuneCountInString(shown) > 40 {
			shown = string([]rune(shown)[:40]) + "..."
		}
		return sfErrP(http.StatusBadRequest, "STRING_TOO_LONG", fmt.Sprintf("%s: data value too large: %s (max length=%d)", f.Name, shown, f.MaxLen), f.Name), nil
	}
	for _, f := range obj.Fields {
		if s, ok := rec[f.Name].(string); ok && f.Email && !validEmail(s) {
			return sfErrP(http.StatusBadRequest, "INVALID_EMAIL_ADDRESS", fmt.Sprintf("%s: invalid email address: %s", f.Name, s), f.Name), nil
		}
	}
	for _, f := range obj.Fields {
		s, ok := rec[f.Name].(string)
		if !ok || len(f.Refs) == 0 || (touched != nil && !touched[f.Name]) {
			continue
		}
		if !validIDSyntax(s) {
			return sfErrP(http.StatusBadRequest, "MALFORMED_ID", fmt.Sprintf("%s: id value of incorrect type: %s", f.Name, s), f.Name), nil
		}
		id := to18(s)
		rec[f.Name] = id
		allowed := false
		for _, p := range f.Refs {
			allowed = allowed || strings.HasPrefix(id, p)
		}
		if allowed {
			var err error
			if allowed, err = e.exists(ctx, tx, id); err != nil {
				return nil, err
			}
		}
		if !allowed {
			return sfErrP(http.StatusBadRequest, "INVALID_CROSS_REFERENCE_KEY", fmt.Sprintf("%s: invalid cross reference id", f.Name), f.Name), nil
		}
	}
	return nil, nil
}

// validEmail approximates Salesforce's email check: one @, a dotted domain, no spaces.
func validEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if strings.ContainsAny(s, " \t\r\n,;<>()[]\\\"") || strings.Contains(local, "@") {
		return false
	}
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.Contains(domain, "..") || strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") {
		return false
	}
	return true
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

func (e *Emulator) create(ctx context.Context, tx *sql.Tx, obj *objectDef, req *sfReq, preset record) (result, error) {
	changes, bad := parseWriteBody(obj, req.body)
	if bad != nil {
		return *bad, nil
	}
	for k, v := range preset {
		changes[k] = v
	}
	rec := record{}
	for _, f := range obj.Fields {
		switch f.Kind {
		case kBool:
			rec[f.Name] = false
		default:
			rec[f.Name] = nil
		}
	}
	for k, v := range changes {
		rec[k] = v
	}
	if obj == e.lead && rec["Status"] == nil {
		rec["Status"] = leadStatusOpen
	}
	if bad, err := e.validate(ctx, tx, obj, rec, nil); bad != nil || err != nil {
		return deref(bad), err
	}
	if obj == e.lead {
		if bad, err := e.checkDuplicate(ctx, tx, rec["Email"], ""); bad != nil || err != nil {
			return deref(bad), err
		}
	}
	if err := e.applyOwner(ctx, tx, obj, rec, req.header); err != nil {
		return result{}, err
	}
	id, err := e.newID(ctx, tx, obj.Prefix)
	if err != nil {
		return result{}, err
	}
	now := e.now().UTC().Truncate(time.Millisecond)
	rec["Id"] = id
	if obj.has("CreatedDate") {
		rec["CreatedDate"], rec["LastModifiedDate"] = now, now
	}
	if err := e.insertRecord(ctx, tx, obj, rec, false); err != nil {
		return result{}, err
	}
	return result{
		status: http.StatusCreated,
		body:   object{{"id", id}, {"success", true}, {"errors", []any{}}},
		header: map[string]string{"Location": "/services/data/" + req.version + "/sobjects/" + obj.Name + "/" + id},
	}, nil
}

func deref(r *result) result {
	if r == nil {
		return result{}
	}
	return *r
}

// loadWritable loads a record that is about to be changed.
func (e *Emulator) loadWritable(ctx context.Context, tx *sql.Tx, obj *objectDef, id string) (record, *result, error) {
	rec, found, err := e.loadRecord(ctx, tx, obj, id)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		r := notFound()
		return nil, &r, nil
	}
	if rec.boolean("IsDeleted") {
		return nil, sfErrP(http.StatusNotFound, "ENTITY_IS_DELETED", "entity is deleted"), nil
	}
	if obj == e.lead && rec.boolean("IsConverted") {
		return nil, sfErrP(http.StatusBadRequest, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead"), nil
	}
	return rec, nil, nil
}

// applyUpdate validates and writes changes onto an existing record.
func (e *Emulator) applyUpdate(ctx context.Context, tx *sql.Tx, obj *objectDef, rec, changes record, h http.Header) (*result, error) {
	merged := record{}
	for k, v := range rec {
		merged[k] = v
	}
	touched := map[string]bool{}
	for k, v := range changes {
		merged[k] = v
		touched[k] = true
	}
	if obj == e.lead && merged["Status"] == nil {
		merged["Status"] = leadStatusOpen
	}
	if bad, err := e.validate(ctx, tx, obj, merged, touched); bad != nil || err != nil {
		return bad, err
	}
	if obj == e.lead && touched["Email"] && !strings.EqualFold(rec.str("Email"), merged.str("Email")) {
		if bad, err := e.checkDuplicate(ctx, tx, merged["Email"], rec.str("Id")); bad != nil || err != nil {
			return bad, err
		}
	}
	if err := e.applyOwner(ctx, tx, obj, merged, h); err != nil {
		return nil, err
	}
	write := record{}
	for _, f := range obj.Fields {
		if f.Writable {
			write[f.Name] = merged[f.Name]
		}
	}
	if obj.has("LastModifiedDate") {
		write["LastModifiedDate"] = e.now().UTC().Truncate(time.Millisecond)
	}
	return nil, e.updateFields(ctx, tx, obj, rec.str("Id"), write)
}

func (e *Emulator) update(ctx context.Context, tx *sql.Tx, obj *objectDef, id string, req *sfReq) (result, error) {
	rec, bad, err := e.loadWritable(ctx, tx, obj, id)
	if bad != nil || err != nil {
		return deref(bad), err
	}
	changes, bad := parseWriteBody(obj, req.body)
	if bad != nil {
		return *bad, nil
	}
	if bad, err := e.applyUpdate(ctx, tx, obj, rec, changes, req.header); bad != nil || err != nil {
		return deref(bad), err
	}
	return result{status: http.StatusNoContent}, nil
}

func (e *Emulator) delete(ctx context.Context, tx *sql.Tx, obj *objectDef, id string) (result, error) {
	rec, found, err := e.loadRecord(ctx, tx, obj, id)
	if err != nil {
		return result{}, err
	}
	if !found {
		return notFound(), nil
	}
	if rec.boolean("IsDeleted") {
		return sfErr(http.StatusNotFound, "ENTITY_IS_DELETED", "entity is deleted"), nil
	}
	err = e.updateFields(ctx, tx, obj, id, record{"IsDeleted": true, "LastModifiedDate": e.now().UTC().Truncate(time.Millisecond)})
	return result{status: http.StatusNoContent}, err
}

func (e *Emulator) upsert(ctx context.Context, tx *sql.Tx, obj *objectDef, fieldName, value string, req *sfReq) (result, error) {
	f := obj.field(fieldName)
	if f == nil || !f.ExtID {
		return sfErr(http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+fieldName), nil
	}
	matches, err := e.findByField(ctx, tx, obj, f, value)
	if err != nil {
		return result{}, err
	}
	switch len(matches) {
	case 0:
		res, err := e.create(ctx, tx, obj, req, record{f.Name: value})
		if err != nil || res.status != http.StatusCreated {
			return res, err
		}
		res.body = append(res.body.(object), kv{"created", true})
		return res, nil
	case 1:
		rec := matches[0]
		if obj == e.lead && rec.boolean("IsConverted") {
			return sfErr(http.StatusBadRequest, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead"), nil
		}
		changes, bad := parseWriteBody(obj, req.body)
		if bad != nil {
			return *bad, nil
		}
		delete(changes, f.Name) // the key identifies the record; it is not rewritten
		if bad, err := e.applyUpdate(ctx, tx, obj, rec, changes, req.header); bad != nil || err != nil {
			return deref(bad), err
		}
		id := rec.str("Id")
		return result{status: http.StatusOK, body: object{{"id", id}, {"success", true}, {"errors", []any{}}, {"created", false}},
			header: map[string]string{"Location": "/services/data/" + req.version + "/sobjects/" + obj.Name + "/" + id}}, nil
	}
	return multipleChoices(obj, req.version, matches), nil
}

// ---- composite ----

const (
	maxCompositeSubrequests = 25
	maxCompositeQueries     = 5
)

type compositeSub struct {
	Method      string            `json:"method"`
	URL         string            `json:"url"`
	ReferenceID string            `json:"referenceId"`
	Body        json.RawMessage   `json:"body"`
	HTTPHeaders map[string]string `json:"httpHeaders"`
}

// composite runs the subrequests in the caller's transaction; commit is false when
// allOrNone must roll everything back.
func (e *Emulator) composite(ctx context.Context, tx *sql.Tx, req *sfReq) (result, bool, error) {
	if len(req.segs) != 1 {
		return notFound(), false, nil
	}
	if req.method != http.MethodPost {
		return methodNotAllowed(req.method, "POST"), false, nil
	}
	var in struct {
		AllOrNone        bool           `json:"allOrNone"`
		CompositeRequest []compositeSub `json:"compositeRequest"`
	}
	if err := json.Unmarshal(req.body, &in); err != nil {
		return sfErr(http.StatusBadRequest, "JSON_PARSER_ERROR", err.Error()), false, nil
	}
	subs := in.CompositeRequest
	if len(subs) == 0 {
		return sfErr(http.StatusBadRequest, "INVALID_INPUT", "compositeRequest must contain at least one subrequest"), false, nil
	}
	if len(subs) > maxCompositeSubrequests {
		return sfErr(http.StatusBadRequest, "LIMIT_EXCEEDED", fmt.Sprintf("Composite request has %d subrequests; the limit is %d", len(subs), maxCompositeSubrequests)), false, nil
	}
	queries := 0
	seen := map[string]bool{}
	for _, s := range subs {
		if strings.EqualFold(s.Method, http.MethodGet) && (strings.Contains(s.URL, "/query?") || strings.Contains(s.URL, "/queryAll?")) {
			queries++
		}
		if s.ReferenceID == "" || seen[s.ReferenceID] || !validReferenceID(s.ReferenceID) {
			return sfErr(http.StatusBadRequest, "INVALID_INPUT", fmt.Sprintf("Invalid or duplicate referenceId: '%s'", s.ReferenceID)), false, nil
		}
		seen[s.ReferenceID] = true
	}
	if queries > maxCompositeQueries {
		return sfErr(http.StatusBadRequest, "LIMIT_EXCEEDED", fmt.Sprintf("Composite request has %d queries; the limit is %d", queries, maxCompositeQueries)), false, nil
	}

	results := map[string]any{} // referenceId → decoded body, for @{ref.path}
	out := make([]object, len(subs))
	statuses := make([]int, len(subs))
	failed := false
	for i, s := range subs {
		if failed && in.AllOrNone {
			out[i] = subResponse(s.ReferenceID, halted("The transaction was rolled back since another operation in the same transaction failed."))
			continue
		}
		res, err := e.runSubrequest(ctx, tx, req, s, results)
		if err != nil {
			return result{}, false, err
		}
		statuses[i] = res.status
		if res.status >= 400 {
			failed = true
		}
		if res.body != nil && res.status < 400 {
			b, err := marshalJSON(res.body)
			if err != nil {
				return result{}, false, err
			}
			var generic any
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			if err := dec.Decode(&generic); err != nil {
				return result{}, false, err
			}
			results[s.ReferenceID] = generic
		}
		out[i] = subResponse(s.ReferenceID, res)
	}
	commit := true
	if failed && in.AllOrNone {
		commit = false
		for i, s := range subs {
			if statuses[i] > 0 && statuses[i] < 400 {
				out[i] = subResponse(s.ReferenceID, halted("The transaction was rolled back since another operation in the same transaction failed."))
			}
		}
	}
	return result{status: http.StatusOK, body: object{{"compositeResponse", out}}}, commit, nil
}

func validReferenceID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return s[0] < '0' || s[0] > '9'
}

func halted(msg string) result {
	return sfErr(http.StatusBadRequest, "PROCESSING_HALTED", msg)
}

func subResponse(ref string, res result) object {
	headers := map[string]string{}
	for k, v := range res.header {
		headers[k] = v
	}
	return object{{"body", res.body}, {"httpHeaders", headers}, {"httpStatusCode", res.status}, {"referenceId", ref}}
}

// runSubrequest resolves references and dispatches one subrequest inside a savepoint, so
// a failed subrequest leaves nothing behind even when allOrNone is false.
func (e *Emulator) runSubrequest(ctx context.Context, tx *sql.Tx, parent *sfReq, s compositeSub, results map[string]any) (result, error) {
	rawURL, err := resolveReferences(s.URL, results, false)
	if err != nil {
		return halted(err.Error()), nil
	}
	var body []byte
	if len(s.Body) > 0 && string(s.Body) != "null" {
		b, err := resolveReferences(string(s.Body), results, true)
		if err != nil {
			return halted(err.Error()), nil
		}
		body = []byte(b)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return sfErr(http.StatusBadRequest, "INVALID_INPUT", "invalid url: "+err.Error()), nil
	}
	version, segs, ok := splitDataPath(u.EscapedPath())
	if !ok {
		return notFound(), nil
	}
	if len(segs) > 0 && segs[0] == "composite" {
		return sfErr(http.StatusBadRequest, "INVALID_INPUT", "composite requests cannot be nested"), nil
	}
	header := parent.header.Clone()
	for k, v := range s.HTTPHeaders {
		header.Set(k, v)
	}
	sub := &sfReq{method: strings.ToUpper(s.Method), version: version, segs: segs, query: u.Query(), header: header, body: body}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT sub"); err != nil {
		return result{}, err
	}
	res, err := e.dispatchSF(ctx, tx, sub)
	if err == nil && res.status >= 400 {
		_, err = tx.ExecContext(ctx, "ROLLBACK TO sub")
	}
	if err != nil {
		return result{}, err
	}
	_, err = tx.ExecContext(ctx, "RELEASE sub")
	return res, err
}

// resolveReferences replaces every @{ref.path} in s. Inside JSON text (inJSON) a string
// value is escaped for use within a JSON string literal.
func resolveReferences(s string, results map[string]any, inJSON bool) (string, error) {
	var sb strings.Builder
	for {
		start := strings.Index(s, "@{")
		if start < 0 {
			sb.WriteString(s)
			return sb.String(), nil
		}
		end := strings.IndexByte(s[start:], '}')
		if end < 0 {
			sb.WriteString(s)
			return sb.String(), nil
		}
		expr := s[start+2 : start+end]
		v, err := lookupReference(expr, results)
		if err != nil {
			return "", err
		}
		var text string
		switch t := v.(type) {
		case string:
			text = t
			if inJSON {
				b, _ := marshalJSON(t)
				text = string(b[1 : len(b)-1])
			}
		case nil:
			text = "null"
		default:
			text = fmt.Sprint(t)
		}
		sb.WriteString(s[:start])
		sb.WriteString(text)
		s = s[start+end+1:]
	}
}

// lookupReference evaluates "ref.a.b[0].c" against earlier subrequest bodies.
func lookupReference(expr string, results map[string]any) (any, error) {
	parts := strings.Split(expr, ".")
	ref := parts[0]
	cur, ok := results[ref]
	fail := func() (any, error) {
		return nil, fmt.Errorf("Invalid reference specified. No value for %s found in %s. Provided referenceId ('%s') must match a previous successful subrequest.", expr, ref, ref)
	}
	if !ok {
		return fail()
	}
	for _, p := range parts[1:] {
		name, idx := p, -1
		if i := strings.IndexByte(p, '['); i >= 0 && strings.HasSuffix(p, "]") {
			n, err := strconv.Atoi(p[i+1 : len(p)-1])
			if err != nil {
				return fail()
			}
			name, idx = p[:i], n
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return fail()
		}
		if cur, ok = m[name]; !ok {
			return fail()
		}
		if idx >= 0 {
			arr, ok := cur.([]any)
			if !ok || idx >= len(arr) {
				return fail()
			}
			cur = arr[idx]
		}
	}
	return cur, nil
}

package emulator

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

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
	if isCollection(req.segs) {
		res, err := e.collections(ctx, tx, req)
		return res, res.status < 400, err
	}
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
		if strings.EqualFold(s.Method, http.MethodGet) && (strings.Contains(s.URL, "/query?") || strings.Contains(s.URL, "/queryAll?")) ||
			strings.Contains(s.URL, "/composite/sobjects") {
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
		if c, ok := res.body.(collectionResults); res.status >= 400 || ok && in.AllOrNone && c.anyFailed() {
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

// isCollection reports whether segs (after the version) name an sObject Collections resource.
func isCollection(segs []string) bool {
	return len(segs) >= 2 && segs[0] == "composite" && segs[1] == "sobjects"
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
	version, segs, ok := e.dataPath(u.EscapedPath())
	if !ok {
		return notFound(), nil
	}
	if len(segs) > 0 && segs[0] == "composite" && !isCollection(segs) {
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

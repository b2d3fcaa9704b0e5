package emulator

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// sfLimitInfo is the Sforce-Limit-Info value: the calls used today and the daily limit.
func (e *Emulator) sfLimitInfo() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.checkUsageDay()
	return fmt.Sprintf("api-usage=%d/%d", e.sfUsed, e.sfLimit)
}

// sfDialect words the pipeline's answers as the Salesforce REST API does; every answer
// carries the daily usage in Sforce-Limit-Info.
func (e *Emulator) sfDialect() *dialect {
	limit := sfErr(http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
	return &dialect{
		api:          apiSalesforce,
		unauthorized: sfErr(http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid"),
		limitReached: limit,
		faults: map[faultKind]result{
			faultRateLimit: limit,
			fault500:       sfErr(http.StatusInternalServerError, "UNKNOWN_EXCEPTION", "An unexpected error occurred (emulated fault)."),
			fault503:       sfErr(http.StatusServiceUnavailable, "SERVER_UNAVAILABLE", "Server is temporarily unavailable (emulated fault)."),
			faultLockRow:   sfErr(http.StatusBadRequest, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records"),
		},
		nested:   sfNested,
		badPath:  notFound(),
		badBody:  func(err error) result { return sfErr(http.StatusBadRequest, "JSON_PARSER_ERROR", err.Error()) },
		internal: func(err error) result { return sfErr(http.StatusInternalServerError, "UNKNOWN_EXCEPTION", err.Error()) },
		decorate: func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Sforce-Limit-Info", e.sfLimitInfo()) },
	}
}

func (e *Emulator) serveSalesforce(w http.ResponseWriter, r *http.Request) {
	version, segs, pathOK := e.dataPath(r.URL.EscapedPath())
	req := &sfReq{method: r.Method, version: version, segs: segs, query: r.URL.Query(), header: r.Header}
	e.serveAPI(w, r, e.sf, apiRequest{
		endpoint: sfEndpoint(segs),
		pathOK:   pathOK,
		run: func(ctx context.Context, tx *sql.Tx, body []byte) (result, bool, error) {
			req.body = body
			// A composite request decides itself what to keep: allOrNone rolls back its
			// successes, while without it the failed subrequests are already undone.
			if len(segs) > 0 && segs[0] == "composite" {
				return e.composite(ctx, tx, req)
			}
			res, err := e.dispatchSF(ctx, tx, req)
			return res, res.status < 400, err
		},
	})
}

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

// notFound is Salesforce's answer for a resource it does not have, which names no fields.
func notFound() result {
	return result{status: http.StatusNotFound, body: []object{{{"errorCode", "NOT_FOUND"}, {"message", "The requested resource does not exist"}}}}
}

func methodNotAllowed(method, allowed string) result {
	return sfErr(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", method, allowed))
}

// dataPath splits an escaped /services/data/vNN.N/... path; ok is false as well when the
// org does not offer that version.
func (e *Emulator) dataPath(escaped string) (version string, segs []string, ok bool) {
	version, segs, ok = splitDataPath(escaped)
	return version, segs, ok && e.offers(version)
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
	case isCollection(segs):
		return "composite/sobjects"
	default:
		return segs[0]
	}
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
	case "composite": // only sObject Collections, as composite subrequests
		if isCollection(req.segs) {
			return e.collections(ctx, tx, req)
		}
	}
	return notFound(), nil
}

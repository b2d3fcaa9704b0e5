package emulator

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// AE error codes (developer.salesforce.com/docs/marketing/pardot/guide/error-codes).
const (
	aeCodeInvalidProspectID = 3
	aeCodeInvalidEmail      = 4
	aeCodeInvalidParams     = 5
	aeCodeInvalidTimestamp  = 7
	aeCodeEmailExists       = 9
	aeCodeInvalidUserID     = 10
	aeCodeMissingParams     = 13
	aeCodeInvalidID         = 16
	aeCodeInvalidOrderBy    = 19
	aeCodeInvalidLimit      = 23
	aeCodeInvalidDeleted    = 27
	aeCodeEmailInUse        = 54
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
	aeCodeUnknownAction     = 205
	aeCodeInvalidActionArg  = 206
	aeCodeMissingActionArg  = 207
	aeCodeUnknownActionArg  = 208
	aeCodeTokenExpired      = 210
	aeCodeTokenInvalid      = 211
	aeCodeInvalidReadField  = 224
)

// Limits and names of the v5 API as the emulator serves it.
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

// aeErr is a v5 error answer.
func aeErr(status, code int, msg string) result {
	return result{status: status, body: object{{"code", code}, {"message", msg}}}
}

func aeErrP(status, code int, msg string) *result {
	r := aeErr(status, code, msg)
	return &r
}

// aeReq is one v5 request on /api/v5/objects.
type aeReq struct {
	method string
	object string
	id     string
	action string // of a record action, .../{object}[/{id}]/do/{action}
	query  url.Values
	body   []byte
	base   string
}

// splitAEPath splits /api/v5/objects/{object}[/{id}] and the record actions
// /api/v5/objects/{object}[/{id}]/do/{action}.
func splitAEPath(escaped string) (object, id, action string, ok bool) {
	rest, found := strings.CutPrefix(escaped, "/api/v5/objects/")
	if !found {
		return "", "", "", false
	}
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	switch {
	case len(parts) == 1:
		return parts[0], "", "", parts[0] != ""
	case len(parts) == 2:
		return parts[0], parts[1], "", parts[1] != ""
	case len(parts) == 3 && parts[1] == "do":
		return parts[0], "", parts[2], parts[0] != "" && parts[2] != ""
	case len(parts) == 4 && parts[2] == "do":
		return parts[0], parts[1], parts[3], parts[1] != "" && parts[3] != ""
	}
	return parts[0], "", "", false
}

// aeDialect words the pipeline's answers as Account Engagement v5 does.
func (e *Emulator) aeDialect() *dialect {
	concurrent := aeErr(http.StatusTooManyRequests, aeCodeConcurrent, "You have exceeded your concurrent request limit. Please wait, before trying again")
	return &dialect{
		api:          apiEngagement,
		unauthorized: aeErr(http.StatusUnauthorized, aeCodeInvalidToken, "access_token is invalid, unknown, or malformed"),
		limitReached: aeErr(http.StatusTooManyRequests, aeCodeDailyLimit, "Daily API rate limit met"),
		faults: map[faultKind]result{
			faultRateLimit: concurrent,
			fault500:       aeErr(http.StatusInternalServerError, aeCodeInternal, "An internal error occurred, please try your request again (emulated fault)"),
			fault503:       aeErr(http.StatusServiceUnavailable, aeCodeInternal, "Service temporarily unavailable (emulated fault)"),
			faultLockRow:   aeErr(http.StatusConflict, aeCodeConflict, "Conflicting Update (emulated fault)"),
		},
		badPath:  aeErr(http.StatusNotFound, aeCodeUnknownObject, "Endpoint not found"),
		badBody:  func(err error) result { return aeErr(http.StatusBadRequest, aeCodeInvalidJSON, err.Error()) },
		internal: func(err error) result { return aeErr(http.StatusInternalServerError, aeCodeInternal, err.Error()) },
		// X-Return-Api-Usage: 1 asks for the day's usage (§5.6: "used / daily max"; the exact
		// format is unconfirmed, written here as USED/MAX).
		decorate: func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Return-Api-Usage") == "1" {
				w.Header().Set("x-api-usage", e.aeUsage())
			}
		},
		admit: func(r *http.Request, token string) (func(), *result) {
			switch bu := strings.TrimSpace(r.Header.Get("Pardot-Business-Unit-Id")); {
			case bu == "":
				return nil, aeErrP(http.StatusBadRequest, aeCodeMissingHeader, "A required header is missing: Pardot-Business-Unit-Id")
			case bu != BusinessUnitID:
				return nil, aeErrP(http.StatusBadRequest, aeCodeUnknownBU, "Business Unit specified in Pardot-Business-Unit-Id header not found or inactive.")
			}
			if !e.acquireAE(token) {
				return nil, &concurrent
			}
			return func() { e.releaseAE(token) }, nil
		},
	}
}

func (e *Emulator) serveEngagement(w http.ResponseWriter, r *http.Request) {
	obj, id, action, pathOK := splitAEPath(r.URL.EscapedPath())
	endpoint := obj
	if endpoint == "" {
		endpoint = strings.TrimPrefix(r.URL.Path, "/api/v5/")
	}
	if action != "" {
		endpoint += " do/" + action
	}
	req := &aeReq{method: r.Method, object: obj, id: id, action: action, query: r.URL.Query(), base: baseURL(r)}
	e.serveAPI(w, r, e.ae, apiRequest{
		endpoint: endpoint,
		pathOK:   pathOK,
		run: func(ctx context.Context, tx *sql.Tx, body []byte) (result, bool, error) {
			req.body = body
			res, err := e.dispatchAE(ctx, tx, req)
			return res, res.status < 400, err
		},
	})
}

// acquireAE takes one of the token's concurrent-request slots; false means all are taken.
func (e *Emulator) acquireAE(token string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inflight[token] >= maxAEConcurrent {
		return false
	}
	e.inflight[token]++
	return true
}

// releaseAE gives back a slot taken by acquireAE.
func (e *Emulator) releaseAE(token string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inflight[token]--; e.inflight[token] <= 0 {
		delete(e.inflight, token)
	}
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
	if req.action != "" {
		// The record actions modelled (prospect-v5): POST .../prospects/do/undelete and
		// POST .../prospects/do/upsertLatestByEmail.
		action := map[string]func(context.Context, *sql.Tx, *aeReq) (result, error){
			"undelete":            e.undeleteProspect,
			"upsertLatestByEmail": e.upsertLatestByEmail,
		}[req.action]
		if req.object != aeObjProspects || req.id != "" || action == nil {
			return aeErr(http.StatusBadRequest, aeCodeUnknownAction, "Action name is either missing or incorrect"), nil
		}
		if req.method != http.MethodPost {
			return badMethod, nil
		}
		return action(ctx, tx, req)
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

// aeUsage is the x-api-usage value: the calls used today and the daily limit.
func (e *Emulator) aeUsage() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.checkUsageDay()
	return fmt.Sprintf("%d/%d", e.aeUsed, e.aeLimit)
}

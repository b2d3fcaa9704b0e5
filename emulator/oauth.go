package emulator

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// jwtGrantType is the OAuth 2.0 JWT bearer grant (RFC 7523).
const jwtGrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// maxAssertionLifetime is how far in the future a JWT bearer assertion may expire:
// Salesforce asks for an exp "within 3 minutes".
const maxAssertionLifetime = 3 * time.Minute

// jwtAudiences are the audiences Salesforce accepts besides the org's own My Domain
// URL, which the emulator plays.
var jwtAudiences = []string{"https://login.salesforce.com", "https://test.salesforce.com"}

// tokenFaults are the token endpoint's answers to injected faults: it has no lock-row or
// rate-limit errors of its own, so those become its 500 and 503.
var tokenFaults = map[faultKind]result{
	fault500:       oauthAnswer(http.StatusInternalServerError, "unknown_error", "retry your request"),
	faultLockRow:   oauthAnswer(http.StatusInternalServerError, "unknown_error", "retry your request"),
	fault503:       oauthAnswer(http.StatusServiceUnavailable, "temporarily_unavailable", "service unavailable"),
	faultRateLimit: oauthAnswer(http.StatusServiceUnavailable, "temporarily_unavailable", "service unavailable"),
}

// tokenDialect is what the token endpoint needs of the fault pipeline.
var tokenDialect = &dialect{api: apiToken, faults: tokenFaults}

// oauthAnswer is an OAuth error response, which is shaped unlike the API errors.
func oauthAnswer(status int, code, desc string) result {
	return result{status: status, body: object{{"error", code}, {"error_description", desc}}}
}

// serveToken is the OAuth token endpoint; it is not an API call, so it is neither
// authenticated nor counted against the daily limit.
func (e *Emulator) serveToken(w http.ResponseWriter, r *http.Request) {
	e.count(apiToken, "")
	e.withFaults(w, r, tokenDialect, func() result { return e.issueToken(r) }, func(res result) { writeResult(w, res) })
}

func oauthError(code, desc string) result {
	return oauthAnswer(http.StatusBadRequest, code, desc)
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
		userID, bad = e.checkAssertion(r.Context(), r.Form.Get("assertion"), baseURL(r))
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
	e.tokens[token] = tokenInfo{userID: userID, expires: issued.Add(e.tokenTTL)}
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

// checkAssertion validates a JWT bearer assertion's structure and claims, refusing with
// Salesforce's error descriptions (the signature is not verified: the emulator has no
// certificate to check it against); self is the emulator's base URL, its My Domain.
func (e *Emulator) checkAssertion(ctx context.Context, assertion, self string) (string, *result) {
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
	if !audienceOK(claims.Aud, self) {
		return invalid("audience is invalid")
	}
	// "expired authorization code" is what Salesforce is seen answering for an exp it
	// refuses; the emulator gives it for one too far ahead as well.
	exp, err := claims.Exp.Float64()
	if left := time.Unix(int64(exp), 0).Sub(e.now()); err != nil || left <= 0 || left > maxAssertionLifetime {
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

// audienceOK reports whether aud (a string, or an array as RFC 7519 allows) names
// Salesforce's login servers or self.
func audienceOK(aud any, self string) bool {
	var names []any
	switch a := aud.(type) {
	case string:
		names = []any{a}
	case []any:
		names = a
	}
	for _, n := range names {
		s, _ := n.(string)
		s = strings.TrimSuffix(s, "/")
		if s != "" && (s == strings.TrimSuffix(self, "/") || slices.Contains(jwtAudiences, s)) {
			return true
		}
	}
	return false
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

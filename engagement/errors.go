package engagement

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prospect-sync/prospect-sync/internal/httperror"
)

// Account Engagement error codes the helpers rely on.
const (
	CodeInvalidProspectID  = 3   // unknown (or deleted) prospect id
	CodeTooManyConcurrent  = 66  // more than 5 requests in flight for the business unit
	CodeDailyLimit         = 122 // daily API call limit spent
	CodeInvalidAccessToken = 184 // access_token is invalid, unknown, or malformed
	// CodeEmailInUse: an update gives a prospect the email another prospect of the business
	// unit has, where it allows one prospect per email ("Email address is already in use").
	CodeEmailInUse = 54
	// CodeProspectExists: a create, likewise ("A prospect with the specified email address
	// already exists").
	CodeProspectExists = 9
)

// IsEmailTaken reports Account Engagement's refusal of an email another prospect has.
func IsEmailTaken(err error) bool {
	e, ok := errors.AsType[*APIError](err)
	return ok && (e.Code == CodeEmailInUse || e.Code == CodeProspectExists)
}

// Business-unit problems are configuration errors, not data errors: every request
// fails until an operator fixes the setting. The codes follow the emulator; the
// official v5 code list could not be confirmed offline.
const (
	codeMissingRequiredHeader = 181
	codeUnknownBusinessUnit   = 201
)

// ConcurrentLimitDelay is the wait suggested after code 66: another request finishes within moments.
const ConcurrentLimitDelay = time.Second

// Bounds for the wait after code 122 (daily limit).
const (
	maxDailyLimitDelay = time.Hour
	minDailyLimitDelay = time.Minute
)

// APIError is an error answer from Account Engagement: {"code":N,"message":"..."}.
type APIError struct {
	Status     int           // HTTP status
	Code       int           // AE error code, 0 when the body had none
	Message    string        // AE message or the HTTP status text
	RetryAfter time.Duration // from a Retry-After header, 0 when absent
}

// Error implements error.
func (e *APIError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("engagement: %d code %d: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("engagement: %d: %s", e.Status, e.Message)
}

// parseAPIError turns an error response into *APIError.
func parseAPIError(status int, header http.Header, body []byte) *APIError {
	e := &APIError{Status: status, RetryAfter: httperror.RetryAfter(header.Get("Retry-After"))}
	var obj struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &obj); err == nil && (obj.Code != 0 || obj.Message != "") {
		e.Code, e.Message = obj.Code, obj.Message
		return e
	}
	e.Message = httperror.Message(status, body)
	return e
}

// Kind sorts the answer by what a caller can do about it. Business-unit and token problems are
// Auth (every request fails until an operator fixes the setting); other 400/422 answers are
// Data; an answer no rule names is Data too, shown rather than retried for ever.
func (e *APIError) Kind() httperror.Kind {
	switch {
	case e.Status == http.StatusNotFound || e.Code == CodeInvalidProspectID:
		return httperror.Gone
	case e.Code == CodeDailyLimit || e.Code == CodeTooManyConcurrent || e.Status == http.StatusTooManyRequests:
		return httperror.RateLimit
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.Code == CodeInvalidAccessToken ||
		e.Code == codeMissingRequiredHeader || e.Code == codeUnknownBusinessUnit:
		return httperror.Auth
	case e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity:
		return httperror.Data
	case e.Status == http.StatusConflict || e.Status >= 500:
		// 409 is a lock conflict on the record (the counterpart of Salesforce's UNABLE_TO_LOCK_ROW).
		return httperror.Outage
	}
	return httperror.Data
}

// RetryDelay is the wait after a rate limit: code 66 → about a second (a slot frees quickly);
// code 122 → until the next UTC midnight, capped to 1 h because the reset follows the account's
// time zone, which we do not know. A Retry-After header wins over both.
func (e *APIError) RetryDelay() time.Duration {
	if e.RetryAfter > 0 {
		return e.RetryAfter
	}
	if e.Code == CodeDailyLimit {
		now := time.Now().UTC()
		d := now.Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(now)
		return min(max(d, minDailyLimitDelay), maxDailyLimitDelay)
	}
	return ConcurrentLimitDelay
}

// Reason is the error's code (AE_<code>, apart from Salesforce's) and message for people.
func (e *APIError) Reason() (code, message string) {
	return "AE_" + strconv.Itoa(e.Code), e.Message
}

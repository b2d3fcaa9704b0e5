package engagement

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prospect-sync/prospect-sync/internal/httperror"
)

// Account Engagement error codes the helpers rely on.
const (
	CodeInvalidProspectID  = 3   // unknown (or deleted) prospect id
	CodeTooManyConcurrent  = 66  // more than 5 requests in flight for the business unit
	CodeDailyLimit         = 122 // daily API call limit spent
	CodeInvalidAccessToken = 184 // access_token is invalid, unknown, or malformed
)

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

// IsTransient reports whether a later retry may succeed: 5xx, code 66 (too many
// concurrent requests), code 122 (daily limit; see RateLimitDelay for how long)
// and network failures. A caller's own cancellation is not transient.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if e, ok := errors.AsType[*APIError](err); ok {
		// 409 is a lock conflict on the record (the counterpart of Salesforce's UNABLE_TO_LOCK_ROW).
		return e.Code == CodeTooManyConcurrent || e.Code == CodeDailyLimit || e.Status == http.StatusConflict ||
			e.Status == http.StatusTooManyRequests || e.Status >= 500
	}
	return httperror.IsNetwork(err)
}

// RateLimitDelay returns the wait for a rate-limit error: code 66 → about a
// second (a slot frees quickly); code 122 → until the next UTC midnight, capped
// to 1 h because the reset follows the account's time zone, which we do not know.
// A Retry-After header wins over both.
func RateLimitDelay(err error) (time.Duration, bool) {
	e, ok := errors.AsType[*APIError](err)
	if !ok {
		return 0, false
	}
	switch {
	case e.Code == CodeDailyLimit:
		if e.RetryAfter > 0 {
			return e.RetryAfter, true
		}
		now := time.Now().UTC()
		d := now.Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(now)
		return min(max(d, minDailyLimitDelay), maxDailyLimitDelay), true
	case e.Code == CodeTooManyConcurrent || e.Status == http.StatusTooManyRequests:
		if e.RetryAfter > 0 {
			return e.RetryAfter, true
		}
		return ConcurrentLimitDelay, true
	}
	return 0, false
}

// IsNotFound reports an unknown or deleted object (404, or code 3 "Invalid prospect ID").
func IsNotFound(err error) bool {
	e, ok := errors.AsType[*APIError](err)
	return ok && (e.Status == http.StatusNotFound || e.Code == CodeInvalidProspectID)
}

// IsAuth reports a credential or business-unit problem that survived the
// automatic re-authentication; an operator has to fix the configuration.
func IsAuth(err error) bool {
	e, ok := errors.AsType[*APIError](err)
	return ok && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.Code == CodeInvalidAccessToken ||
		e.Code == codeMissingRequiredHeader || e.Code == codeUnknownBusinessUnit)
}

// IsDataError reports a request rejected for its content (400/422 other than the
// limit and business-unit codes): retrying unchanged input fails again.
func IsDataError(err error) bool {
	e, ok := errors.AsType[*APIError](err)
	if !ok || e.Code == CodeTooManyConcurrent || e.Code == CodeDailyLimit || IsAuth(err) {
		return false
	}
	return e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity
}

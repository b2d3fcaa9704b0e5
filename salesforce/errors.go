package salesforce

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prospect-sync/prospect-sync/internal/httperror"
)

// Error codes the classification helpers and callers rely on.
const (
	CodeInvalidSession       = "INVALID_SESSION_ID"           // 401: token expired or revoked
	CodeRequestLimitExceeded = "REQUEST_LIMIT_EXCEEDED"       // 403: org's daily API limit spent
	CodeUnableToLockRow      = "UNABLE_TO_LOCK_ROW"           // 400: record locked by another transaction
	CodeServerUnavailable    = "SERVER_UNAVAILABLE"           // 503: Salesforce is down or overloaded
	CodeNotFound             = "NOT_FOUND"                    // 404: no such record
	CodeEntityIsDeleted      = "ENTITY_IS_DELETED"            // 404: record was deleted
	CodeConvertedLead        = "CANNOT_UPDATE_CONVERTED_LEAD" // 400: lead converted; use ConvertedContactId
	CodeMultipleChoices      = "MULTIPLE_CHOICES"             // 300: upsert matched several records (client-side code)
)

// DefaultRateLimitDelay is the wait suggested for REQUEST_LIMIT_EXCEEDED without
// a Retry-After header; the daily limit is a rolling 24 h window, so short waits only burn calls.
const DefaultRateLimitDelay = time.Minute

// APIError is an error answer from Salesforce: the first entry of the REST error
// array, or an OAuth error ({"error","error_description"}) from the token endpoint.
type APIError struct {
	Status     int           // HTTP status
	Code       string        // errorCode (REST) or error (OAuth), e.g. "INVALID_EMAIL_ADDRESS", "invalid_grant"
	Message    string        // message(s); several errors are joined with "; "
	Fields     []string      // fields the error is about, if any
	RetryAfter time.Duration // from a Retry-After header, 0 when absent
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "salesforce: %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if len(e.Fields) > 0 {
		b.WriteString(" (fields: " + strings.Join(e.Fields, ", ") + ")")
	}
	return b.String()
}

// restError is one element of Salesforce's error array.
type restError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields"`
}

// parseAPIError turns an error response into *APIError, whatever shape the body has.
func parseAPIError(status int, header http.Header, body []byte) *APIError {
	e := &APIError{Status: status, RetryAfter: httperror.RetryAfter(header.Get("Retry-After"))}
	var arr []restError
	if err := json.Unmarshal(body, &arr); err == nil && len(arr) > 0 {
		e.Code, e.Fields = arr[0].ErrorCode, arr[0].Fields
		msgs := make([]string, 0, len(arr))
		for _, x := range arr {
			msgs = append(msgs, x.Message)
		}
		e.Message = strings.Join(msgs, "; ")
		return e
	}
	var obj struct {
		Error       string   `json:"error"`
		Description string   `json:"error_description"`
		ErrorCode   string   `json:"errorCode"`
		Message     string   `json:"message"`
		Fields      []string `json:"fields"`
	}
	if err := json.Unmarshal(body, &obj); err == nil && (obj.Error != "" || obj.ErrorCode != "") {
		if obj.Error != "" {
			e.Code, e.Message = obj.Error, obj.Description
		} else {
			e.Code, e.Message, e.Fields = obj.ErrorCode, obj.Message, obj.Fields
		}
		return e
	}
	e.Message = httperror.Message(status, body)
	return e
}

// Kind sorts the answer by what a caller can do about it (docs/salesforce.md "Writing"). An
// answer no rule names is Data: retrying cannot help, so it is shown with its code rather than
// retried for ever (INACTIVE_OWNER_OR_USER, INSUFFICIENT_ACCESS_…).
func (e *APIError) Kind() httperror.Kind {
	switch {
	case e.Code == CodeConvertedLead:
		return httperror.Converted
	case e.Code == CodeNotFound || e.Code == CodeEntityIsDeleted || e.Status == http.StatusNotFound:
		return httperror.Gone
	case isDataErrorCode(e.Code):
		return httperror.Data
	case e.Code == CodeRequestLimitExceeded || e.Status == http.StatusTooManyRequests:
		return httperror.RateLimit
	case isAuth(e):
		return httperror.Auth
	case isOutage(e):
		return httperror.Outage
	}
	return httperror.Data
}

// RetryDelay is how long to wait after a rate limit: the Retry-After header if present, else
// DefaultRateLimitDelay.
func (e *APIError) RetryDelay() time.Duration {
	if e.RetryAfter > 0 {
		return e.RetryAfter
	}
	return DefaultRateLimitDelay
}

// Reason is the error's code and message for people: Salesforce's own, with the fields named.
func (e *APIError) Reason() (code, message string) {
	if len(e.Fields) == 0 {
		return e.Code, e.Message
	}
	return e.Code, e.Message + " (fields: " + strings.Join(e.Fields, ", ") + ")"
}

// isOutage: 5xx, UNABLE_TO_LOCK_ROW, SERVER_UNAVAILABLE: the same request may pass later.
func isOutage(e *APIError) bool {
	switch e.Code {
	case CodeUnableToLockRow, CodeServerUnavailable, "UNKNOWN_EXCEPTION":
		return true
	}
	switch e.Status {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// isAuth: a credential problem that survived the automatic re-authentication.
func isAuth(e *APIError) bool {
	switch e.Code {
	case CodeInvalidSession, "invalid_client", "invalid_grant", "invalid_client_id", "unauthorized_client", "INVALID_AUTH_HEADER":
		return true
	}
	return e.Status == http.StatusUnauthorized
}

// isDataErrorCode lists rejections caused by the record's data: retrying the
// same write fails again until the data changes. MULTIPLE_CHOICES (an upsert
// matching several records) belongs here too: only a data fix resolves it.
func isDataErrorCode(code string) bool {
	switch code {
	case "REQUIRED_FIELD_MISSING", "FIELD_CUSTOM_VALIDATION_EXCEPTION",
		"DUPLICATES_DETECTED", "DUPLICATE_VALUE", "INVALID_EMAIL_ADDRESS",
		"STRING_TOO_LONG", "INVALID_FIELD", "MALFORMED_ID",
		"FIELD_INTEGRITY_EXCEPTION", "INVALID_CROSS_REFERENCE_KEY",
		"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "INVALID_TYPE_ON_FIELD_IN_RECORD",
		"INVALID_FIELD_FOR_INSERT_UPDATE", "NUMBER_OUTSIDE_VALID_RANGE",
		"INVALID_ID_FIELD", "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
		"JSON_PARSER_ERROR", "INVALID_TYPE", CodeMultipleChoices:
		return true
	}
	return false
}

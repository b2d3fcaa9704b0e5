package engagement

import (
	"strconv"
	"testing"

	"github.com/prospect-sync/prospect-sync/internal/httperror/httperrortest"
)

// FuzzParseAPIError checks the error-body parser on any status, Retry-After value and body:
// it never panics and keeps the promises httperrortest.Check lists.
func FuzzParseAPIError(f *testing.F) {
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		e := parseAPIError(status, httperrortest.Header(retryAfter), body)
		httperrortest.Check(t, "engagement", status, retryAfter, body, httperrortest.Parsed{Err: e, Status: e.Status, RetryAfter: e.RetryAfter, Code: "AE_" + strconv.Itoa(e.Code)})
	})
}

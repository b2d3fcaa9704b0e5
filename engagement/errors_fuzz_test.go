package engagement

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestParseAPIErrorFuzzFindings keeps what FuzzParseAPIError found: a body cut inside a
// character, or not UTF-8 at all, gave an invalid UTF-8 message (which a Temporal failure, a
// protobuf string, cannot carry), and a large Retry-After wrapped around.
func TestParseAPIErrorFuzzFindings(t *testing.T) {
	cut := parseAPIError(502, http.Header{}, []byte("a"+strings.Repeat("é", 150)))
	if want := "a" + strings.Repeat("é", 99) + "…"; cut.Message != want {
		t.Errorf("cut message %q, want %q", cut.Message, want)
	}
	latin1 := parseAPIError(500, http.Header{}, []byte("\xff\xfe latin-1 caf\xe9"))
	if want := "\uFFFD latin-1 caf\uFFFD"; latin1.Message != want {
		t.Errorf("latin-1 message %q, want %q", latin1.Message, want)
	}
	for v, want := range map[string]time.Duration{
		"120":         2 * time.Minute,
		"9223372036":  9223372036 * time.Second,
		"9223372037":  0,
		"99999999999": 0, // wrapped to about 246 years
		"18446744074": 0, // wrapped to 0.29 s
	} {
		if got := parseAPIError(503, http.Header{"Retry-After": {v}}, nil).RetryAfter; got != want {
			t.Errorf("Retry-After %s: %v, want %v", v, got, want)
		}
	}
}

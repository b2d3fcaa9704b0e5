package salesforce

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prospect-sync/prospect-sync/internal/httperror"
)

// FuzzParseAPIError checks the error-body parser on any status, Retry-After value and body:
// it never panics and always returns an *APIError with that status, no negative
// Retry-After (delta-seconds read exactly, never wrapped past time.Duration's range), an
// Error() that names the status and is valid UTF-8 (it becomes a Temporal
// failure message, a protobuf string), and Kind, Reason and RetryDelay that answer (a known
// kind, the same code, a positive delay).
func FuzzParseAPIError(f *testing.F) {
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		header := http.Header{}
		if retryAfter != "" {
			header.Set("Retry-After", retryAfter)
		}
		e := parseAPIError(status, header, body)
		if e == nil {
			t.Fatalf("parseAPIError(%d, %q, %q) = nil", status, retryAfter, body)
		}
		if e.Status != status || e.RetryAfter < 0 {
			t.Fatalf("parseAPIError(%d, %q, %q): status %d, Retry-After %v", status, retryAfter, body, e.Status, e.RetryAfter)
		}
		// Delta-seconds are that many seconds, or 0 (malformed) past what a time.Duration holds.
		if n, err := strconv.Atoi(strings.TrimSpace(retryAfter)); err == nil && n >= 0 {
			want := time.Duration(0)
			if int64(n) <= math.MaxInt64/int64(time.Second) {
				want = time.Duration(n) * time.Second
			}
			if e.RetryAfter != want {
				t.Fatalf("parseAPIError(%d, %q, %q): Retry-After %v, want %v", status, retryAfter, body, e.RetryAfter, want)
			}
		}
		msg := e.Error()
		if !strings.HasPrefix(msg, fmt.Sprintf("salesforce: %d", status)) || !utf8.ValidString(msg) {
			t.Fatalf("parseAPIError(%d, %q, %q).Error() = %q: want the status first, valid UTF-8", status, retryAfter, body, msg)
		}
		if k := e.Kind(); k < httperror.Outage || k > httperror.Converted || httperror.KindOf(e) != k {
			t.Fatalf("parseAPIError(%d, %q, %q).Kind() = %v", status, retryAfter, body, k)
		}
		if code, _ := e.Reason(); code != e.Code {
			t.Fatalf("parseAPIError(%d, %q, %q).Reason() code %q, want %q", status, retryAfter, body, code, e.Code)
		}
		if d := e.RetryDelay(); d <= 0 {
			t.Fatalf("parseAPIError(%d, %q, %q).RetryDelay() = %v", status, retryAfter, body, d)
		}
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

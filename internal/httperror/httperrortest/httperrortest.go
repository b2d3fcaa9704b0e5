// Package httperrortest checks what both clients' error parsers promise, for their fuzz
// targets and the regression tests of what those found.
package httperrortest

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

// Parsed is what a client's parser made of one error answer.
type Parsed struct {
	Err        httperror.Kinded
	Status     int
	RetryAfter time.Duration
	// Code is what Reason must report.
	Code string
}

// Header is the answer's headers: Retry-After when given.
func Header(retryAfter string) http.Header {
	h := http.Header{}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	return h
}

// Check fails t unless p keeps the parser's promises for an answer of status, Retry-After and
// body: that status, no negative Retry-After (delta-seconds read exactly, never wrapped past
// time.Duration's range), an Error() that starts with prefix and the status and is valid UTF-8
// (it becomes a Temporal failure message, a protobuf string), a known Kind, the expected code
// from Reason, and a positive RetryDelay.
func Check(t *testing.T, prefix string, status int, retryAfter string, body []byte, p Parsed) {
	t.Helper()
	in := fmt.Sprintf("(%d, %q, %q)", status, retryAfter, body)
	if p.Err == nil {
		t.Fatalf("parseAPIError%s = nil", in)
	}
	if p.Status != status || p.RetryAfter < 0 {
		t.Fatalf("parseAPIError%s: status %d, Retry-After %v", in, p.Status, p.RetryAfter)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(retryAfter)); err == nil && n >= 0 {
		want := time.Duration(0) // malformed: past what a time.Duration holds
		if int64(n) <= math.MaxInt64/int64(time.Second) {
			want = time.Duration(n) * time.Second
		}
		if p.RetryAfter != want {
			t.Fatalf("parseAPIError%s: Retry-After %v, want %v", in, p.RetryAfter, want)
		}
	}
	if msg := p.Err.Error(); !strings.HasPrefix(msg, fmt.Sprintf("%s: %d", prefix, status)) || !utf8.ValidString(msg) {
		t.Fatalf("parseAPIError%s.Error() = %q: want %s and the status first, valid UTF-8", in, msg, prefix)
	}
	if k := p.Err.Kind(); k < httperror.Outage || k > httperror.Converted || httperror.KindOf(p.Err) != k {
		t.Fatalf("parseAPIError%s.Kind() = %v", in, k)
	}
	if code, _ := p.Err.Reason(); code != p.Code {
		t.Fatalf("parseAPIError%s.Reason() code %q, want %q", in, code, p.Code)
	}
	if d := p.Err.RetryDelay(); d <= 0 {
		t.Fatalf("parseAPIError%s.RetryDelay() = %v", in, d)
	}
}

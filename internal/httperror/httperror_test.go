package httperror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		in       string
		min, max time.Duration
	}{
		{"", 0, 0},
		{"7", 7 * time.Second, 7 * time.Second},
		{" 0 ", 0, 0},
		{"-3", 0, 0},
		{"soon", 0, 0},
		{time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), 58 * time.Minute, time.Hour},
		{time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 0, 0},
	} {
		if got := RetryAfter(tc.in); got < tc.min || got > tc.max {
			t.Errorf("RetryAfter(%q) = %v, want %v..%v", tc.in, got, tc.min, tc.max)
		}
	}
}

func TestMessage(t *testing.T) {
	if got := Message(502, []byte("  <html>bad gateway</html>\n")); got != "<html>bad gateway</html>" {
		t.Errorf("trimmed body: %q", got)
	}
	if got := Message(503, nil); got != "Service Unavailable" {
		t.Errorf("empty body: %q", got)
	}
	if got := Message(500, []byte(strings.Repeat("x", 500))); len(got) != maxMessage+len("…") {
		t.Errorf("long body cut to %d bytes", len(got))
	}
}

func TestIsNetwork(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{context.Canceled, false},
		{fmt.Errorf("post: %w", context.Canceled), false},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{context.DeadlineExceeded, true},
		{errors.New("validation failed"), false},
	} {
		if got := IsNetwork(tc.err); got != tc.want {
			t.Errorf("IsNetwork(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// What the clients' fuzz targets found in the helpers both parsers use: a body cut inside a
// character, or not UTF-8 at all, gave an invalid UTF-8 message (which a Temporal failure, a
// protobuf string, cannot carry), and a large Retry-After wrapped around.
func TestFuzzFindings(t *testing.T) {
	if got, want := Message(502, []byte("a"+strings.Repeat("é", 150))), "a"+strings.Repeat("é", 99)+"…"; got != want {
		t.Errorf("cut message %q, want %q", got, want)
	}
	if got, want := Message(500, []byte("\xff\xfe latin-1 caf\xe9")), "\uFFFD latin-1 caf\uFFFD"; got != want {
		t.Errorf("latin-1 message %q, want %q", got, want)
	}
	for v, want := range map[string]time.Duration{
		"120":         2 * time.Minute,
		"9223372036":  9223372036 * time.Second,
		"9223372037":  0,
		"99999999999": 0, // wrapped to about 246 years
		"18446744074": 0, // wrapped to 0.29 s
	} {
		if got := RetryAfter(v); got != want {
			t.Errorf("Retry-After %s: %v, want %v", v, got, want)
		}
	}
}

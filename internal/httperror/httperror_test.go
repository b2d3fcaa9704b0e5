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

// Package httperror reads what the Salesforce and Account Engagement clients have in common
// about failed HTTP calls: the Retry-After header, an error body that is not the API's JSON,
// and network failures worth retrying. Each client keeps its own APIError and error codes.
package httperror

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxMessage bounds how much of an unexpected body (an HTML error page, say) reaches an error.
const maxMessage = 200

// RetryAfter parses a Retry-After header value, delta-seconds or an HTTP date; 0 when absent,
// malformed or past.
func RetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// Message is the text to show for an error body the API's JSON did not explain: the body,
// trimmed and cut to a readable length, or the status text when the body is empty.
func Message(status int, body []byte) string {
	msg := strings.TrimSpace(string(body))
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "…"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return msg
}

// IsNetwork reports a failure below HTTP (reset, refused, timeout, a response cut short) that a
// later retry may not meet. A caller's own cancellation is not one.
func IsNetwork(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded)
}

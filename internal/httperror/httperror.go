// Package httperror reads what the Salesforce and Account Engagement clients have in common
// about failed HTTP calls: the Retry-After header, an error body that is not the API's JSON,
// and network failures worth retrying. Each client keeps its own APIError and error codes.
package httperror

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// maxMessage bounds how much of an unexpected body (an HTML error page, say) reaches an error.
const maxMessage = 200

// RetryAfter parses a Retry-After header value, delta-seconds or an HTTP date; 0 when absent,
// malformed (delta-seconds too large for a time.Duration included) or past.
func RetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		if int64(n) > math.MaxInt64/int64(time.Second) {
			return 0
		}
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
// trimmed and cut to a readable length, or the status text when the body is empty. It is
// valid UTF-8 (invalid bytes become U+FFFD, the cut falls between characters): it ends up in
// Temporal failure messages, protobuf strings, which refuse anything else.
func Message(status int, body []byte) string {
	msg := strings.ToValidUTF8(strings.TrimSpace(string(body)), "\uFFFD")
	if len(msg) > maxMessage {
		cut := maxMessage
		for !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
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

// Kind says what a caller can do about a failed call. Each client's APIError reports its own
// (from the codes its API documents), so callers decide with one switch whichever API failed.
type Kind int

// The kinds of failure.
const (
	// Unknown: not a failure of the API or the network (a caller's cancellation, say).
	Unknown Kind = iota
	// Outage: 5xx, a locked row, the network: the same call may pass later; retry with backoff.
	Outage
	// RateLimit: an API limit; retry after the delay the error carries.
	RateLimit
	// Auth: credentials or configuration refused; only an operator can fix it.
	Auth
	// Data: the request's data was refused; the same call fails until the data changes.
	Data
	// Gone: the object does not exist (any more).
	Gone
	// Converted: a Salesforce Lead was converted; its Contact is the record now.
	Converted
)

var kindNames = [...]string{"unknown", "outage", "rate limit", "auth", "data", "gone", "converted"}

// String names the kind for logs.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Kinded is an API error that knows its Kind, its code and message for people, and how long
// to wait before a retry (RateLimit).
type Kinded interface {
	error
	Kind() Kind
	Reason() (code, message string)
	RetryDelay() time.Duration
}

// KindOf sorts any error from a client call: an API answer by its own Kind, a network failure
// as an Outage, anything else (a caller's cancellation) as Unknown.
func KindOf(err error) Kind {
	if err == nil || errors.Is(err, context.Canceled) {
		return Unknown
	}
	if e, ok := errors.AsType[Kinded](err); ok {
		return e.Kind()
	}
	if IsNetwork(err) {
		return Outage
	}
	return Unknown
}

// Retryable reports whether the same call may succeed later without anyone changing anything.
func (k Kind) Retryable() bool { return k == Outage || k == RateLimit }

// RetryDelay returns the wait a rate-limited call asks for; false for any other failure.
func RetryDelay(err error) (time.Duration, bool) {
	if e, ok := errors.AsType[Kinded](err); ok && e.Kind() == RateLimit {
		return e.RetryDelay(), true
	}
	return 0, false
}

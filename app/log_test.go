package app

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// Errors reach the log with their message: zerolog's Interface marshals most errors as {}.
func TestSDKLoggerWritesErrorMessages(t *testing.T) {
	var buf bytes.Buffer
	l := SDKLogger{Z: zerolog.New(&buf)}
	cause := fmt.Errorf("salesforce: 503 SERVER_UNAVAILABLE: %w", errors.New("down for maintenance"))
	l.Error("Activity error.", "Error", cause, "Attempt", 2)
	l.With("WorkflowError", errors.New("boom")).Warn("unexpected activity failure", "error", errors.New("lock"))
	out := buf.String()
	if strings.Contains(out, "{}") {
		t.Errorf("an error logged as {}: %s", out)
	}
	for _, want := range []string{`"Error":"salesforce: 503 SERVER_UNAVAILABLE: down for maintenance"`, `"Attempt":2`, `"WorkflowError":"boom"`, `"error":"lock"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log %s lacks %s", out, want)
		}
	}
}

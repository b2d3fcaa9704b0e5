package app

import (
	"fmt"
	"io"
	"os"

	"github.com/rs/zerolog"
	sdklog "go.temporal.io/sdk/log"
)

// NewLogger builds the process logger: readable console output on a terminal, JSON otherwise.
func NewLogger(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("log level %q: %w", level, err)
	}
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "console"
			}
		}
	}
	switch format {
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	case "json":
	default:
		return zerolog.Logger{}, fmt.Errorf("log format %q: want auto, console or json", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// SDKLogger adapts zerolog to the Temporal SDK's logger interface.
type SDKLogger struct{ Z zerolog.Logger }

func (l SDKLogger) log(e *zerolog.Event, msg string, kv []any) {
	for i := 0; i+1 < len(kv); i += 2 {
		e = field(e, fmt.Sprint(kv[i]), kv[i+1])
	}
	e.Msg(msg)
}

// field adds one key-value. An error goes in as its message: through Interface, zerolog
// would marshal the error struct, which shows as {} for most errors (every activity failure
// the SDK logged read "Error":{}).
func field(e *zerolog.Event, key string, v any) *zerolog.Event {
	if err, ok := v.(error); ok {
		return e.Str(key, err.Error())
	}
	return e.Interface(key, v)
}

func (l SDKLogger) Debug(msg string, kv ...any) { l.log(l.Z.Debug(), msg, kv) }
func (l SDKLogger) Info(msg string, kv ...any)  { l.log(l.Z.Info(), msg, kv) }
func (l SDKLogger) Warn(msg string, kv ...any)  { l.log(l.Z.Warn(), msg, kv) }
func (l SDKLogger) Error(msg string, kv ...any) { l.log(l.Z.Error(), msg, kv) }

// With keeps key-values on a derived logger (the SDK adds workflow and activity ids this way).
func (l SDKLogger) With(kv ...any) sdklog.Logger {
	c := l.Z.With()
	for i := 0; i+1 < len(kv); i += 2 {
		if err, ok := kv[i+1].(error); ok {
			c = c.Str(fmt.Sprint(kv[i]), err.Error())
		} else {
			c = c.Interface(fmt.Sprint(kv[i]), kv[i+1])
		}
	}
	return SDKLogger{Z: c.Logger()}
}

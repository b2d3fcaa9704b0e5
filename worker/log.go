package main

import (
	"fmt"
	"io"
	"os"

	"github.com/rs/zerolog"
	sdklog "go.temporal.io/sdk/log"
)

// newLogger builds the process logger: readable console output on a terminal, JSON otherwise.
func newLogger(w io.Writer, level, format string) (zerolog.Logger, error) {
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

// sdkLogger adapts zerolog to the Temporal SDK's logger interface.
type sdkLogger struct{ z zerolog.Logger }

func (l sdkLogger) log(e *zerolog.Event, msg string, kv []any) {
	for i := 0; i+1 < len(kv); i += 2 {
		e = e.Interface(fmt.Sprint(kv[i]), kv[i+1])
	}
	e.Msg(msg)
}

func (l sdkLogger) Debug(msg string, kv ...any) { l.log(l.z.Debug(), msg, kv) }
func (l sdkLogger) Info(msg string, kv ...any)  { l.log(l.z.Info(), msg, kv) }
func (l sdkLogger) Warn(msg string, kv ...any)  { l.log(l.z.Warn(), msg, kv) }
func (l sdkLogger) Error(msg string, kv ...any) { l.log(l.z.Error(), msg, kv) }

// With keeps key-values on a derived logger (the SDK adds workflow and activity ids this way).
func (l sdkLogger) With(kv ...any) sdklog.Logger {
	c := l.z.With()
	for i := 0; i+1 < len(kv); i += 2 {
		c = c.Interface(fmt.Sprint(kv[i]), kv[i+1])
	}
	return sdkLogger{z: c.Logger()}
}

package devserver

import (
	"fmt"
	"sync/atomic"

	"github.com/rs/zerolog"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLogger adapts zerolog to the Temporal server's logger. The server is chatty at info
// level, so only warnings and errors pass unless the zerolog level is debug.
type serverLogger struct {
	z zerolog.Logger
	// stopping silences warnings while the services stop: they dial each other as they go down.
	stopping *atomic.Bool
}

func newServerLogger(z zerolog.Logger, stopping *atomic.Bool) log.Logger {
	return serverLogger{z: z.With().Str("component", "temporal-server").Logger(), stopping: stopping}
}

func (l serverLogger) event(e *zerolog.Event, msg string, tags []tag.Tag) {
	for _, t := range tags {
		e = e.Str(t.Key(), fmt.Sprint(t.Value()))
	}
	e.Msg(msg)
}

func (l serverLogger) Debug(msg string, tags ...tag.Tag) { l.event(l.z.Trace(), msg, tags) }
func (l serverLogger) Info(msg string, tags ...tag.Tag)  { l.event(l.z.Debug(), msg, tags) }
func (l serverLogger) Warn(msg string, tags ...tag.Tag) {
	if l.stopping.Load() {
		return
	}
	l.event(l.z.Warn(), msg, tags)
}
func (l serverLogger) Error(msg string, tags ...tag.Tag) { l.event(l.z.Error(), msg, tags) }
func (l serverLogger) DPanic(msg string, tags ...tag.Tag) {
	l.event(l.z.Error(), msg, tags)
}
func (l serverLogger) Panic(msg string, tags ...tag.Tag) {
	l.event(l.z.Error(), msg, tags)
	panic(msg)
}
func (l serverLogger) Fatal(msg string, tags ...tag.Tag) { l.event(l.z.Fatal(), msg, tags) }

// With keeps tags attached to a derived logger, as the server expects.
func (l serverLogger) With(tags ...tag.Tag) log.Logger {
	c := l.z.With()
	for _, t := range tags {
		c = c.Str(t.Key(), fmt.Sprint(t.Value()))
	}
	return serverLogger{z: c.Logger(), stopping: l.stopping}
}

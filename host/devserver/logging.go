package devserver

import (
	"context"
	"errors"
	"strings"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// The Temporal server is chatty, and most of what it says in a dev
// server's life is noise to its user: errors while its services find each
// other at start, errors from every service whose peers are gone at stop.
// So its logs go through a gate: below Options.LogLevel they are dropped;
// while the server comes up they are held, and shown only if it fails to
// come up; once Stop is called they are dropped. A few messages about what
// a dev server leaves out on purpose are always dropped.

// logGate is shared by every logger derived from the server's.
type logGate struct {
	level zap.AtomicLevel

	mu      sync.Mutex
	holding bool
	held    []heldEntry
}

type heldEntry struct {
	core   zapcore.Core
	entry  zapcore.Entry
	fields []zapcore.Field
}

func newLogGate(level zapcore.Level) *logGate {
	return &logGate{level: zap.NewAtomicLevelAt(level), holding: true}
}

// hold keeps an entry while the server comes up; it says whether it did.
func (g *logGate) hold(core zapcore.Core, e zapcore.Entry, fields []zapcore.Field) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.holding {
		return false
	}
	g.held = append(g.held, heldEntry{core, e, append([]zapcore.Field(nil), fields...)})
	return true
}

// open lets entries through from now on, after writing the held ones if
// show is set.
func (g *logGate) open(show bool) {
	g.mu.Lock()
	held := g.held
	g.holding, g.held = false, nil
	g.mu.Unlock()
	if show {
		for _, h := range held {
			write(h.core, h.entry, h.fields)
		}
	}
}

// mute drops everything but fatal errors from now on.
func (g *logGate) mute() { g.level.SetLevel(zapcore.FatalLevel) }

// expected are the starts of messages about a dev server's choices.
var expected = []string{
	"HTTP API port has not been set", // no HTTP API: the UI and SDKs use gRPC
}

// serverCore is the server's view of the caller's logger.
type serverCore struct {
	zapcore.Core
	gate *logGate
}

func (c serverCore) Enabled(l zapcore.Level) bool {
	return c.gate.level.Enabled(l) && c.Core.Enabled(l)
}

func (c serverCore) With(fields []zapcore.Field) zapcore.Core {
	return serverCore{c.Core.With(fields), c.gate}
}

func (c serverCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if !c.Enabled(e.Level) {
		return ce
	}
	for _, prefix := range expected {
		if strings.HasPrefix(e.Message, prefix) {
			return ce
		}
	}
	return ce.AddCore(e, gatedWriter(c))
}

// gatedWriter writes an entry that serverCore let through, unless the
// gate holds it or it is a stopping worker's cancelled poll.
type gatedWriter serverCore

func (w gatedWriter) Write(e zapcore.Entry, fields []zapcore.Field) error {
	if cancelledPoll(e, fields) {
		return nil
	}
	// A fatal error is written at once: the process is about to end.
	if e.Level < zapcore.DPanicLevel && w.gate.hold(w.Core, e, fields) {
		return nil
	}
	write(w.Core, e, fields)
	return nil
}

// write hands an entry to core the way a logger would, so that core's own
// levels and sampling apply.
func write(core zapcore.Core, e zapcore.Entry, fields []zapcore.Field) {
	if ce := core.Check(e, nil); ce != nil {
		ce.Write(fields...)
	}
}

// cancelledPoll is the error the frontend logs when a worker that stops
// cancels its long poll: a stopping worker is no error.
func cancelledPoll(e zapcore.Entry, fields []zapcore.Field) bool {
	if !strings.HasPrefix(e.Message, "Unable to call matching.Poll") {
		return false
	}
	for _, f := range fields {
		if err, ok := f.Interface.(error); ok && f.Type == zapcore.ErrorType &&
			(errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "context canceled")) {
			return true
		}
	}
	return false
}

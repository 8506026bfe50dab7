package devserver

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func gated(level zapcore.Level) (*zap.Logger, *logGate, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	gate := newLogGate(level)
	return zap.New(core).WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return serverCore{c, gate} })), gate, logs
}

func messages(logs *observer.ObservedLogs) []string {
	var out []string
	for _, e := range logs.AllUntimed() {
		out = append(out, e.Message)
	}
	return out
}

func TestLogGate(t *testing.T) {
	t.Parallel()

	t.Run("what the server says while it comes up is dropped once it is up", func(t *testing.T) {
		t.Parallel()
		l, gate, logs := gated(zapcore.WarnLevel)
		l.Error("Frontend is not healthy yet")
		require.Zero(t, logs.Len())
		gate.open(false)
		l.Info("below the level")
		l.Warn("HTTP API port has not been set. Nexus HTTP endpoints will not be available.")
		l.Warn("after start")
		require.Equal(t, []string{"after start"}, messages(logs))
		gate.mute()
		l.Error("a peer is gone")
		require.Equal(t, []string{"after start"}, messages(logs), "nothing while it stops")
	})

	t.Run("and shown when it fails to come up", func(t *testing.T) {
		t.Parallel()
		l, gate, logs := gated(zapcore.WarnLevel)
		l.With(zap.String("service", "frontend")).Error("cannot bind")
		gate.open(true)
		require.Equal(t, []string{"cannot bind"}, messages(logs))
		require.Equal(t, map[string]any{"service": "frontend"}, logs.All()[0].ContextMap(), "with its logger's fields")
	})

	t.Run("a stopping worker's cancelled poll is no error", func(t *testing.T) {
		t.Parallel()
		l, gate, logs := gated(zapcore.WarnLevel)
		gate.open(false)
		l.Error("Unable to call matching.PollWorkflowTaskQueue.", zap.Error(context.Canceled))
		l.Error("Unable to call matching.PollWorkflowTaskQueue.", zap.Error(fmt.Errorf("wrapped: %w", errors.New("context canceled"))))
		l.Error("Unable to call matching.PollWorkflowTaskQueue.", zap.Error(errors.New("Not enough hosts to serve the request")))
		require.Equal(t, 1, logs.Len())
		require.Equal(t, "Not enough hosts to serve the request", logs.All()[0].ContextMap()["error"])
	})
}

package host

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func observed(level zapcore.Level) (log.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(level)
	return NewSDKLogger(zap.New(core)), logs
}

func TestSDKLoggerLevelsAndFields(t *testing.T) {
	t.Parallel()

	l, logs := observed(zapcore.DebugLevel)
	boom := errors.New("boom")
	l.Debug("polling", "TaskQueue", "statedriven")
	l.Info("started", "WorkflowID", "order-42", "RunID", "r1", "Attempt", 2)
	l.Warn("slow", "workflow_id", "order-42")
	l.Error("failed", "Error", boom)

	entries := logs.AllUntimed()
	require.Len(t, entries, 4)
	require.Equal(t, []zapcore.Level{zapcore.DebugLevel, zapcore.InfoLevel, zapcore.WarnLevel, zapcore.ErrorLevel},
		[]zapcore.Level{entries[0].Level, entries[1].Level, entries[2].Level, entries[3].Level})
	require.Equal(t, map[string]any{"task_queue": "statedriven"}, entries[0].ContextMap())
	require.Equal(t, map[string]any{"workflow_id": "order-42", "run_id": "r1", "attempt": int64(2)}, entries[1].ContextMap())
	require.Equal(t, map[string]any{"workflow_id": "order-42"}, entries[2].ContextMap())
	require.Equal(t, "boom", entries[3].ContextMap()["error"])
}

func TestSDKLoggerDropsBelowLevel(t *testing.T) {
	t.Parallel()

	l, logs := observed(zapcore.InfoLevel)
	l.Debug("hidden", "k", "v")
	l.Info("shown")
	require.Equal(t, 1, logs.Len())
	require.Equal(t, "shown", logs.All()[0].Message)
}

func TestSDKLoggerOddKeyValues(t *testing.T) {
	t.Parallel()

	l, logs := observed(zapcore.DebugLevel)
	l.Info("odd", "a", 1, "dangling")
	l.Info("not a string key", 42, "v")
	require.Equal(t, map[string]any{"a": int64(1), "!BADKEY": "dangling"}, logs.All()[0].ContextMap())
	require.Equal(t, map[string]any{"42": "v"}, logs.All()[1].ContextMap())
}

func TestSDKLoggerWith(t *testing.T) {
	t.Parallel()

	l, logs := observed(zapcore.DebugLevel)
	withLogger, ok := l.(log.WithLogger)
	require.True(t, ok, "the adapter implements log.WithLogger")
	child := withLogger.With("Namespace", "default")
	child.Info("from the child", "ActivityType", "RunStep")
	l.Info("from the parent")

	require.Equal(t, map[string]any{"namespace": "default", "activity_type": "RunStep"}, logs.All()[0].ContextMap())
	require.Empty(t, logs.All()[1].ContextMap(), "With does not change the parent")

	_, ok = l.(log.WithSkipCallers)
	require.True(t, ok, "the adapter implements log.WithSkipCallers")
}

func TestSnakeCase(t *testing.T) {
	t.Parallel()

	for in, want := range map[string]string{
		"WorkflowID":   "workflow_id",
		"RunID":        "run_id",
		"TaskQueue":    "task_queue",
		"Namespace":    "namespace",
		"HTTPServer":   "http_server",
		"workflow_id":  "workflow_id",
		"Attempt2Go":   "attempt2_go",
		"already_Snak": "already_snak",
		"":             "",
	} {
		require.Equal(t, want, snakeCase(in), in)
	}
}

func TestNewLogger(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer
	l, err := NewLogger("warn", "json", &buf)
	require.NoError(t, err)
	l.Info("dropped")
	l.Warn("kept", zap.String("workflow_id", "order-42"))
	var entry map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &entry), buf.String())
	require.Equal(t, "warn", entry["level"])
	require.Equal(t, "kept", entry["msg"])
	require.Equal(t, "order-42", entry["workflow_id"])
	require.Contains(t, entry, "ts")

	buf.Reset()
	l, err = NewLogger("debug", "console", &buf)
	require.NoError(t, err)
	l.Debug("hello", zap.Int("n", 1))
	require.Contains(t, buf.String(), "DEBUG\thello\t{\"n\": 1}")

	_, err = NewLogger("loud", "console", &buf)
	require.EqualError(t, err, `log level "loud" is not one of debug, info, warn, error`)
	_, err = NewLogger("info", "yaml", &buf)
	require.EqualError(t, err, `log format "yaml" is not console or json`)
}

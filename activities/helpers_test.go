package activities

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/statedriven/statedriven/contract"
)

// bundle is what most tests need: a registry, and a test activity
// environment in which a Runner over that registry serves RunStep.
type bundle struct {
	reg  *Registry
	env  *testsuite.TestActivityEnvironment
	logs *recordingLogger
}

func setup(t *testing.T, opts RunnerOptions) *bundle {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	logs := &recordingLogger{}
	suite.SetLogger(logs)
	env := suite.NewTestActivityEnvironment()
	reg := NewRegistry()
	NewRunner(reg, opts).Register(env)
	return &bundle{reg: reg, env: env, logs: logs}
}

// run executes RunStep as a real activity call and returns the step's
// result as the workflow would see it (decoded from JSON).
func (b *bundle) run(t *testing.T, in contract.StepInput) (any, error) {
	t.Helper()
	if in.WorkflowID == "" {
		in.WorkflowID = "wf-1"
	}
	if in.Step == "" {
		in.Step = "step"
	}
	val, err := b.env.ExecuteActivity(contract.RunStepName, in)
	if err != nil {
		return nil, err
	}
	var out contract.StepOutput
	require.NoError(t, val.Get(&out))
	return out.Result, nil
}

// requireAppError checks that err is an application error of type errType
// and retryability, and returns it.
func requireAppError(t *testing.T, err error, errType string, nonRetryable bool) *temporal.ApplicationError {
	t.Helper()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "not an application error: %v", err)
	require.Equal(t, errType, appErr.Type(), "message: %s", appErr.Message())
	require.Equal(t, nonRetryable, appErr.NonRetryable(), "message: %s", appErr.Message())
	return appErr
}

// wantErr describes an expected failure in the action tables; the zero
// value expects success.
type wantErr struct {
	errType      string
	nonRetryable bool
	contains     []string
}

func (w wantErr) check(t *testing.T, err error) {
	t.Helper()
	appErr := requireAppError(t, err, w.errType, w.nonRetryable)
	for _, s := range w.contains {
		require.Contains(t, appErr.Message(), s)
	}
}

var badParamsErr = func(contains ...string) *wantErr {
	return &wantErr{errType: ErrorTypeBadParams, nonRetryable: true, contains: contains}
}

// recordingLogger keeps what is logged, for the log action's tests.
type recordingLogger struct {
	mu      sync.Mutex
	entries []logEntry
}

type logEntry struct {
	level, msg string
	keyvals    map[string]string
}

func (l *recordingLogger) add(level, msg string, keyvals []any) {
	kv := make(map[string]string)
	for i := 0; i+1 < len(keyvals); i += 2 {
		kv[fmt.Sprint(keyvals[i])] = fmt.Sprint(keyvals[i+1])
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, logEntry{level: level, msg: msg, keyvals: kv})
}

func (l *recordingLogger) Debug(msg string, keyvals ...any) { l.add("debug", msg, keyvals) }
func (l *recordingLogger) Info(msg string, keyvals ...any)  { l.add("info", msg, keyvals) }
func (l *recordingLogger) Warn(msg string, keyvals ...any)  { l.add("warn", msg, keyvals) }
func (l *recordingLogger) Error(msg string, keyvals ...any) { l.add("error", msg, keyvals) }

// find returns the entries with message msg.
func (l *recordingLogger) find(msg string) []logEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(l.entries), func(e logEntry) bool { return e.msg != msg })
}

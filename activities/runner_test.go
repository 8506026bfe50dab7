package activities

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/statedriven/statedriven/contract"
)

func TestRunStepUnknownAction(t *testing.T) {
	t.Parallel()
	b := setup(t, RunnerOptions{})
	_, err := b.run(t, contract.StepInput{Step: "process", Action: "custom_processing"})
	appErr := requireAppError(t, err, ErrorTypeUnknownAction, true)
	require.Equal(t,
		`unknown action "custom_processing" in step "process": this worker registers aggregate, http, log, transform, validate, wait; register it with Registry.Register`,
		appErr.Message())

	_, err = b.run(t, contract.StepInput{Step: "process"})
	appErr = requireAppError(t, err, ErrorTypeUnknownAction, true)
	require.Equal(t, "step \"process\" names no action; set `action:` or `specialist:` on it", appErr.Message())
}

func TestRunStepCustomAction(t *testing.T) {
	t.Parallel()
	b := setup(t, RunnerOptions{})
	b.reg.MustRegister("custom_processing", func(_ context.Context, in contract.StepInput) (any, error) {
		return map[string]any{
			"workflow": in.WorkflowID,
			"step":     in.Step,
			"factor":   in.Params["factor"],
			"amount":   in.Input.(map[string]any)["amount"],
			"checked":  in.Steps["validate"],
			"item":     in.Item,
			"index":    in.Index,
		}, nil
	})
	got, err := b.run(t, contract.StepInput{
		WorkflowID: "order-42",
		Step:       "process",
		Action:     "custom_processing",
		Params:     map[string]any{"factor": 2},
		Input:      map[string]any{"amount": 10},
		Steps:      map[string]any{"validate": map[string]any{"valid": true}},
		Item:       "b",
		Index:      1,
	})
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"workflow": "order-42", "step": "process", "factor": 2.0, "amount": 10.0,
		"checked": map[string]any{"valid": true}, "item": "b", "index": 1.0,
	}, got)

	started := b.logs.find("action started")
	require.NotEmpty(t, started)
	require.Equal(t, "order-42", started[0].keyvals["workflow_id"])
	require.Equal(t, "process", started[0].keyvals["step"])
	require.Equal(t, "custom_processing", started[0].keyvals["action"])
}

func TestRunStepClassifiesErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		err          error
		errType      string
		nonRetryable bool
		message      string
	}{
		{
			name:    "plain error becomes ActionError",
			err:     errors.New("database is down"),
			errType: ErrorTypeAction, message: `action "act": database is down`,
		},
		{
			name:    "typed retryable error keeps its type",
			err:     NewError("Busy", "try again in %d s", 5),
			errType: "Busy", message: "try again in 5 s",
		},
		{
			name:    "wrapped non-retryable error keeps type and retryability",
			err:     fmt.Errorf("reserve: %w", NewNonRetryableError("InsufficientFunds", "balance %d < %d", 3, 10)),
			errType: "InsufficientFunds", nonRetryable: true, message: "balance 3 < 10",
		},
		{
			name:    "%w in NewError formats the cause's text",
			err:     NewNonRetryableError("Refused", "upstream: %w", errors.New("no")),
			errType: "Refused", nonRetryable: true, message: "upstream: no",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, RunnerOptions{})
			b.reg.MustRegister("act", func(context.Context, contract.StepInput) (any, error) { return nil, tc.err })
			_, err := b.run(t, contract.StepInput{Action: "act"})
			appErr := requireAppError(t, err, tc.errType, tc.nonRetryable)
			require.Equal(t, tc.message, appErr.Message())
		})
	}
}

func TestWaitCancelledStopsPromptly(t *testing.T) {
	t.Parallel()
	b := setup(t, RunnerOptions{})
	// The activity context derives from the worker's background context:
	// cancelling it cancels the running activity, as a worker would.
	bg, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.env.SetWorkerOptions(worker.Options{BackgroundActivityContext: bg})

	wait, ok := b.reg.Lookup("wait")
	require.True(t, ok)
	started := make(chan struct{})
	b.reg.MustRegister("watched_wait", func(ctx context.Context, in contract.StepInput) (any, error) {
		close(started)
		return wait(ctx, in)
	})
	go func() {
		<-started
		cancel()
	}()
	// Five minutes fit the test environment's ten-minute attempt; the test
	// only returns if the wait ends on the cancellation.
	_, err := b.run(t, contract.StepInput{Action: "watched_wait", Params: map[string]any{"duration": "5m"}})
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		require.NotEqual(t, ErrorTypeAction, appErr.Type(), "a cancellation must not become an ActionError: %v", err)
	}
	require.ErrorContains(t, err, "context canceled")
}

func TestWaitActionReturnsContextError(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := waitAction(ctx, contract.StepInput{Params: map[string]any{"duration": "1h"}})
		done <- err
	}()
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	require.EqualError(t, err, "wait 1h0m0s: context canceled")
}

func TestHeartbeatBeatsUntilStopped(t *testing.T) {
	t.Parallel()
	var beats atomic.Int64
	hb := startHeartbeat(context.Background(), time.Millisecond, func() { beats.Add(1) })
	require.Eventually(t, func() bool { return beats.Load() >= 3 }, 10*time.Second, time.Millisecond)

	hb.Stop()
	// Stop returns only once the goroutine is gone: nothing beats after it.
	select {
	case <-hb.done:
	default:
		require.Fail(t, "the heartbeat goroutine is still running after Stop")
	}
	n := beats.Load()
	hb.Stop() // idempotent
	require.Equal(t, n, beats.Load())
}

func TestHeartbeatStopsWhenContextDone(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var beats atomic.Int64
	hb := startHeartbeat(ctx, time.Millisecond, func() { beats.Add(1) })
	require.Eventually(t, func() bool { return beats.Load() >= 1 }, 10*time.Second, time.Millisecond)
	cancel()
	require.Eventually(t, func() bool {
		select {
		case <-hb.done:
			return true
		default:
			return false
		}
	}, 10*time.Second, time.Millisecond)
	hb.Stop()
}

func TestHeartbeatZeroInterval(t *testing.T) {
	t.Parallel()
	// RunStep passes HeartbeatTimeout/3; a zero interval must not panic the
	// ticker.
	hb := startHeartbeat(context.Background(), 0, func() {})
	hb.Stop()
}

func TestRunStepOutsideTheEnvironment(t *testing.T) {
	t.Parallel()
	// Actions may be called directly (unit tests of custom actions): the
	// built-ins must not need an activity context.
	a, ok := NewRegistry().Lookup("log")
	require.True(t, ok)
	got, err := a(context.Background(), contract.StepInput{Params: map[string]any{"message": "hi"}})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"message": "hi"}, got)
}

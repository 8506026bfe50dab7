package client

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

var complete = workflows.Result{State: statemachine.Complete}

// The result comes from the long poll when it answers.
func TestAwaitResultAnswered(t *testing.T) {
	t.Parallel()
	get := func(context.Context) (workflows.Result, error) { return complete, nil }
	ended := func(context.Context) bool { t.Error("no need to ask"); return false }
	res, err := awaitResult(context.Background(), get, ended, time.Hour)
	require.NoError(t, err)
	require.Equal(t, complete, res)
}

// A long poll that missed the run's end is cancelled once the run is seen
// to have ended, and the result is asked for again.
func TestAwaitResultAfterAMissedEnd(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	get := func(ctx context.Context) (workflows.Result, error) {
		if calls.Add(1) == 1 {
			<-ctx.Done() // the poll that never hears of the end
			return workflows.Result{}, ctx.Err()
		}
		return complete, nil
	}
	var asked atomic.Int32
	ended := func(context.Context) bool { return asked.Add(1) >= 2 }
	// Without the retry, the wait would last until this deadline.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := awaitResult(ctx, get, ended, time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, complete, res)
	require.EqualValues(t, 2, calls.Load())
	// At least until it said ended; once more when a tick and the second
	// answer arrive together and the select takes the tick.
	require.GreaterOrEqual(t, asked.Load(), int32(2), "asked until it said ended")
}

// A run that failed is an answer too, and the caller's cancellation ends
// the wait.
func TestAwaitResultFailureAndCancel(t *testing.T) {
	t.Parallel()
	failed := errors.New("workflow execution error")
	res, err := awaitResult(context.Background(),
		func(context.Context) (workflows.Result, error) { return workflows.Result{}, failed },
		func(context.Context) bool { return false }, time.Millisecond)
	require.ErrorIs(t, err, failed)
	require.Equal(t, workflows.Result{}, res)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = awaitResult(ctx,
		func(ctx context.Context) (workflows.Result, error) {
			<-ctx.Done()
			return workflows.Result{}, ctx.Err()
		},
		func(context.Context) bool { return false }, time.Millisecond)
	require.ErrorIs(t, err, context.Canceled)
}

package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/statedriven/statedriven/contract"
)

// RunnerOptions configure a Runner. The zero value is ready to use.
type RunnerOptions struct {
	// HTTPClient sends the http action's requests, as it is: a client
	// given here is not guarded, and HTTPAllow does not apply to it. Nil
	// means a client of the runner's own, with Go's default transport
	// settings, no overall timeout (the action's `timeout` param bounds
	// each request), no proxy from the environment, at most 5 redirects,
	// and no connection to a loopback, link-local, private, unspecified,
	// multicast or cloud metadata address unless HTTPAllow names it.
	HTTPClient *http.Client
	// HTTPAllow lists the networks, among those refused by default, that
	// the runner's own client may reach anyway: a worker reads it from
	// STATEDRIVEN_HTTP_ALLOW (see ParseHTTPAllow). An address is a
	// prefix of its full length (127.0.0.1/32).
	HTTPAllow []netip.Prefix
}

func (o RunnerOptions) withDefaults() RunnerOptions {
	if o.HTTPClient == nil {
		o.HTTPClient = newGuardedClient(o.HTTPAllow)
	}
	return o
}

// Runner is the RunStep activity: it runs the action a step names, taken
// from its Registry.
type Runner struct {
	reg  *Registry
	opts RunnerOptions
	own  bool // the HTTP client is the runner's own, built from HTTPAllow
}

// AllowHTTP replaces the allow-list of the runner's own HTTP client (a
// client given as RunnerOptions.HTTPClient is left as it is). Call it
// before the runner serves a worker: host.Run does, with the worker's
// STATEDRIVEN_HTTP_ALLOW, through Registration.Configure.
func (r *Runner) AllowHTTP(allow []netip.Prefix) {
	if r.own {
		r.opts.HTTPAllow = allow
		r.opts.HTTPClient = newGuardedClient(allow)
	}
}

// NewRunner returns a runner over reg (nil means NewRegistry()).
func NewRunner(reg *Registry, opts RunnerOptions) *Runner {
	if reg == nil {
		reg = NewRegistry()
	}
	return &Runner{reg: reg, opts: opts.withDefaults(), own: opts.HTTPClient == nil}
}

// Register registers RunStep with a worker (or a test environment) under
// the activity type contract.RunStepName.
func (r *Runner) Register(w worker.ActivityRegistry) {
	w.RegisterActivityWithOptions(r.RunStep, activity.RegisterOptions{Name: contract.RunStepName})
}

// RunStep runs the action named by in.Action and returns its result.
//
// An action that is not registered fails the step at once with an
// UnknownAction error. While the action runs, RunStep heartbeats every
// third of the step's heartbeat timeout, if it has one, so long actions
// (wait, slow http calls) neither time out nor miss a cancellation: a
// Temporal activity learns that it is cancelled through its heartbeats.
//
// Failures keep the type the action gave them. A plain Go error becomes a
// retryable ActionError; one that wraps an application error (with %w) is
// returned as that application error, so its type survives; the
// context's own error after a cancellation is returned as it is, which
// Temporal records as a cancellation.
func (r *Runner) RunStep(ctx context.Context, in contract.StepInput) (contract.StepOutput, error) {
	if in.Action == "" {
		return contract.StepOutput{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("step %q names no action; set `action:` or `specialist:` on it", in.Step),
			ErrorTypeUnknownAction, nil)
	}
	act, ok := r.reg.Lookup(in.Action)
	if !ok {
		return contract.StepOutput{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("unknown action %q in step %q: this worker registers %s; register it with Registry.Register",
				in.Action, in.Step, strings.Join(r.reg.Names(), ", ")),
			ErrorTypeUnknownAction, nil)
	}

	info := activity.GetInfo(ctx)
	logger := log.With(activity.GetLogger(ctx),
		"workflow_id", in.WorkflowID, "step", in.Step, "action", in.Action, "attempt", info.Attempt)
	// Every action heartbeats once it has run a second (or a third of its
	// heartbeat timeout), so that a long one sees a cancel, a skip or a
	// rollback through its context: Temporal delivers an activity's
	// cancellation only in the answer to a heartbeat. The SDK throttles
	// what reaches the server (to 30 s without a heartbeat timeout).
	interval := time.Second
	if info.HeartbeatTimeout > 0 {
		interval = info.HeartbeatTimeout / 3
	}
	hb := startHeartbeat(ctx, interval, func() { activity.RecordHeartbeat(ctx) })
	defer hb.Stop()

	metrics := activity.GetMetricsHandler(ctx)
	if info.Attempt > 1 {
		metrics.WithTags(map[string]string{"action": in.Action}).Counter(contract.MetricStepRetries).Inc(1)
	}
	logger.Debug("action started")
	start := time.Now()
	result, err := act(withHTTPClient(ctx, r.opts.HTTPClient), in)
	elapsed := time.Since(start)
	if err != nil {
		err = classify(ctx, in, err)
	}
	metrics.WithTags(map[string]string{"action": in.Action, "outcome": outcome(ctx, err)}).
		Timer(contract.MetricStepDuration).Record(elapsed)
	if err != nil {
		// Not logged here: the SDK logs a failed activity, and the
		// workflow records it.
		return contract.StepOutput{}, err
	}
	logger.Debug("action finished", "elapsed", elapsed)
	return contract.StepOutput{Result: result}, nil
}

// outcome is the outcome label of a step's duration.
func outcome(ctx context.Context, err error) string {
	var canceledErr *temporal.CanceledError
	switch {
	case err == nil:
		return contract.OutcomeOK
	case errors.As(err, &canceledErr), ctx.Err() != nil && errors.Is(err, context.Canceled):
		return contract.OutcomeCancelled
	default:
		return contract.OutcomeError
	}
}

// classify gives a failure a type that definitions can route on.
func classify(ctx context.Context, in contract.StepInput, err error) error {
	var appErr *temporal.ApplicationError
	var canceledErr *temporal.CanceledError
	switch {
	case errors.Is(err, activity.ErrResultPending), errors.As(err, &canceledErr):
		return err
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return err
	case errors.As(err, &appErr):
		// The SDK types a wrapped error by its wrapper's Go type; hand it
		// the application error itself so the type the action chose holds.
		return appErr
	default:
		return NewError(ErrorTypeAction, "action %q: %w", in.Action, err)
	}
}

// heartbeat calls beat at a fixed interval from its own goroutine until
// Stop is called or ctx is done.
type heartbeat struct {
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func startHeartbeat(ctx context.Context, interval time.Duration, beat func()) *heartbeat {
	if interval <= 0 {
		interval = time.Millisecond
	}
	h := &heartbeat{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				beat()
			}
		}
	}()
	return h
}

// Stop ends the heartbeats and returns once the goroutine has exited, so no
// heartbeat is recorded after the action returned.
func (h *heartbeat) Stop() {
	h.stopOnce.Do(func() { close(h.stop) })
	<-h.done
}

type httpClientKey struct{}

func withHTTPClient(ctx context.Context, c *http.Client) context.Context {
	return context.WithValue(ctx, httpClientKey{}, c)
}

// defaultHTTPClient serves an http action called outside a Runner; it is
// guarded as a Runner's own client is, with an empty allow-list.
var defaultHTTPClient = newGuardedClient(nil)

func httpClient(ctx context.Context) *http.Client {
	if c, ok := ctx.Value(httpClientKey{}).(*http.Client); ok && c != nil {
		return c
	}
	return defaultHTTPClient
}

// stepLogger is the activity's logger with the step's keys. Outside an
// activity (an action called directly, as in a unit test) it discards.
func stepLogger(ctx context.Context, in contract.StepInput) log.Logger {
	if !activity.IsActivity(ctx) {
		return log.NewStructuredLogger(slog.New(slog.DiscardHandler))
	}
	return log.With(activity.GetLogger(ctx), "workflow_id", in.WorkflowID, "step", in.Step)
}

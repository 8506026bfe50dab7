package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/statedriven/statedriven/activities"
	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/projection"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

// compileYAML compiles a definition given as YAML text, for the tests
// that run in the SDK's test environment and need no server.
func compileYAML(t *testing.T, yaml string) *definition.Plan {
	t.Helper()
	doc, err := definition.Parse(t.Name()+".yaml", []byte(yaml))
	require.NoError(t, err)
	p, err := definition.Compile(doc, definition.Options{})
	require.NoError(t, err)
	return p
}

// newTestEnv is the SDK's time-skipping environment with the interpreter
// and the real RunStep (built-in actions only) registered, so hour-long
// timers fire at once while the workflow sees them take their time.
func newTestEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	// The wall-clock idle limit of the environment, not of the workflow:
	// a loaded machine running -race needs more than the default 3 s.
	env.SetTestTimeout(testTimeout)
	// The deadlock detector's 1 s is a bound on wall-clock time too: the
	// first workflow task of the process builds the CEL environment, which
	// under -race on a loaded machine takes longer. On a server the task
	// would be retried; here it would end the run.
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: testTimeout})
	workflows.Register(env)
	projection.Register(env, projection.Discard)
	activities.NewRunner(activities.NewRegistry(), activities.RunnerOptions{}).Register(env)
	return env
}

// envHistory reads the machine's history through the history query.
func envHistory(t *testing.T, env *testsuite.TestWorkflowEnvironment) []statemachine.Record {
	t.Helper()
	v, err := env.QueryWorkflow(contract.QueryHistory)
	require.NoError(t, err)
	var h []statemachine.Record
	require.NoError(t, v.Get(&h))
	return h
}

func envProgress(t *testing.T, env *testsuite.TestWorkflowEnvironment) contract.Progress {
	t.Helper()
	v, err := env.QueryWorkflow(contract.QueryProgress)
	require.NoError(t, err)
	var p contract.Progress
	require.NoError(t, v.Get(&p))
	return p
}

// A wait for a signal and a review each time out on their timer: with
// on_timeout the run goes there whatever the conditions say; without it a
// wait fails with type Timeout and a review counts as a rejection (type
// Rejected), both taking the failure route (wait and review steps route
// on success and failure only) and ending the run when nothing routes
// them. A signal or a decision before the timeout cancels it.
func TestWaitAndReviewTimeouts(t *testing.T) {
	t.Parallel()
	const (
		// The step the timeouts route to: a real action, so the run
		// shows it ran.
		late = `
  - name: late
    action: log
    params: {message: late}
    end: true
`
		done = `
  - name: done
    action: log
    params: {message: done}
    end: true
`
		waitTimeout   = "no confirmed signal within 2h0m0s"
		reviewTimeout = "no decision within 24h0m0s"
	)
	type want struct {
		state statemachine.State
		// step is the step the wait or review led to; "" when the run
		// failed there.
		step string
		// reason is recorded on the move out of the wait or review (the
		// fail record when the run ended there).
		reason string
		// output is the waiting step's output, error_type and error for
		// a timeout.
		output map[string]any
		// after is the workflow time the wait or review lasted.
		after time.Duration
	}
	cases := []struct {
		name string
		// steps follow the first step: the wait (held) or the review
		// (approve) under test, then the steps it routes to.
		steps string
		// signalAt or approveAt, when set, send the signal or the approve
		// update that far into the wait or review.
		signalAt, approveAt time.Duration
		want                want
	}{
		{
			name: "wait with on_timeout",
			steps: `
  - name: held
    wait: {signal: confirmed, timeout: 2h, on_timeout: late}
    next: done
` + done + late,
			want: want{statemachine.Complete, "late", "step held failed: Timeout: " + waitTimeout,
				map[string]any{"error_type": "Timeout", "error": waitTimeout}, 2 * time.Hour},
		},
		{
			name: "wait with on_timeout, over the failure route",
			steps: `
  - name: held
    wait: {signal: confirmed, timeout: 2h, on_timeout: late}
    conditions: {success: done, failure: done}
` + done + late,
			want: want{statemachine.Complete, "late", "step held failed: Timeout: " + waitTimeout,
				map[string]any{"error_type": "Timeout", "error": waitTimeout}, 2 * time.Hour},
		},
		{
			name: "wait with on_timeout, signalled in time",
			steps: `
  - name: held
    wait: {signal: confirmed, timeout: 2h, on_timeout: late}
    next: done
` + done + late,
			signalAt: time.Hour,
			want: want{statemachine.Complete, "done", "",
				map[string]any{"signal": "confirmed", "payload": map[string]any{"by": "ops"}}, time.Hour},
		},
		{
			name: "wait without on_timeout, the failure route",
			steps: `
  - name: held
    wait: {signal: confirmed, timeout: 2h}
    conditions: {success: done, failure: late}
` + done + late,
			want: want{statemachine.Complete, "late", "step held failed: Timeout: " + waitTimeout,
				map[string]any{"error_type": "Timeout", "error": waitTimeout}, 2 * time.Hour},
		},
		{
			name: "wait without on_timeout, not routed",
			steps: `
  - name: held
    wait: {signal: confirmed, timeout: 2h}
    next: done
` + done,
			want: want{statemachine.Failed, "", "Timeout: " + waitTimeout, nil, 2 * time.Hour},
		},
		{
			name: "review with on_timeout",
			steps: `
  - name: approve
    type: review
    review: {timeout: 24h, on_timeout: late}
    conditions: {success: done}
` + done + late,
			want: want{statemachine.Complete, "late", "step approve failed: Timeout: " + reviewTimeout,
				map[string]any{"error_type": "Timeout", "error": reviewTimeout}, 24 * time.Hour},
		},
		{
			name: "review with on_timeout, approved in time",
			steps: `
  - name: approve
    type: review
    review: {timeout: 24h, on_timeout: late}
    conditions: {success: done}
` + done + late,
			approveAt: 23 * time.Hour,
			want: want{statemachine.Complete, "done", "",
				map[string]any{"approved": true, "reason": "in time"}, 23 * time.Hour},
		},
		{
			name: "review without on_timeout, the failure route",
			steps: `
  - name: approve
    type: review
    review: {timeout: 24h}
    conditions: {success: done, failure: late}
` + done + late,
			want: want{statemachine.Complete, "late", "step approve failed: Rejected: " + reviewTimeout,
				map[string]any{"error_type": "Rejected", "error": reviewTimeout}, 24 * time.Hour},
		},
		{
			name: "review without on_timeout, not routed",
			steps: `
  - name: approve
    type: review
    review: {timeout: 24h}
    next: done
` + done,
			want: want{statemachine.Failed, "", "Rejected: " + reviewTimeout, nil, 24 * time.Hour},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			plan := compileYAML(t, "workflow_id: timeouts\ninitial_step: first\nsteps:\n"+
				"  - name: first\n    action: log\n    params: {message: first}\n"+c.steps)
			held := plan.Steps[1].Name
			env := newTestEnv(t)
			if c.signalAt > 0 {
				env.RegisterDelayedCallback(func() {
					env.SignalWorkflow("confirmed", map[string]any{"by": "ops"})
				}, c.signalAt)
			}
			if c.approveAt > 0 {
				env.RegisterDelayedCallback(func() {
					env.UpdateWorkflowNoRejection(contract.UpdateApprove, "", t, contract.Reason{Reason: "in time"})
				}, c.approveAt)
			}
			env.ExecuteWorkflow(contract.WorkflowType, workflows.NewInput(plan, nil))
			require.True(t, env.IsWorkflowCompleted())

			var res workflows.Result
			err := env.GetWorkflowResult(&res)
			h := envHistory(t, env)
			requireContiguous(t, h)
			p := envProgress(t, env)
			require.Equal(t, c.want.state.String(), p.Status, "run error: %v", err)

			// The record that entered the wait or review, and the one that
			// left it.
			in := indexWhere(h, func(r statemachine.Record) bool { return r.Step == held && r.From != r.To })
			require.GreaterOrEqual(t, in, 0, "no record enters %s", held)
			out := indexWhere(h, func(r statemachine.Record) bool { return r.Seq > h[in].Seq && r.From == h[in].To && r.From != r.To })
			require.GreaterOrEqual(t, out, 0, "no record leaves %s", held)
			require.Equal(t, c.want.after, h[out].At.Sub(h[in].At), "workflow time spent in %s", h[in].To)
			require.Equal(t, c.want.reason, h[out].Reason)

			if c.want.step == "" {
				var app *temporal.ApplicationError
				require.ErrorAs(t, err, &app)
				require.Equal(t, workflows.ErrTypeRunFailed, app.Type())
				require.Contains(t, app.Error(), c.want.reason)
				require.Equal(t, statemachine.EventFail, h[out].Event)
				require.Equal(t, held, h[out].Step)
				require.Equal(t, c.want.reason, p.Error)
				require.Equal(t, []string{"first"}, steps(h, statemachine.EventStepCompleted))
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want.state, res.State)
			require.Equal(t, c.want.step, h[out].Step)
			require.Equal(t, c.want.output, res.Steps[held])
			want := []string{"first", c.want.step}
			if c.want.reason == "" {
				// The wait or review succeeded and counts as a step.
				want = []string{"first", held, c.want.step}
			}
			require.Equal(t, want, steps(h, statemachine.EventStepCompleted))
			require.Equal(t, statemachine.Complete, h[len(h)-1].To)
		})
	}
}

// indexWhere is the index of the first record that ok accepts, or -1.
func indexWhere(h []statemachine.Record, ok func(statemachine.Record) bool) int {
	for i, r := range h {
		if ok(r) {
			return i
		}
	}
	return -1
}

// A timeout that falls while the run is paused is taken when the run
// resumes: the timer keeps workflow time, the pause only holds the move.
// A pause stops the clock of a wait's timeout and of a review's: paused
// at 1h for 2h, a 2h timeout has 1h left at the resume and fires at 4h.
func TestTimeoutClockStopsWhilePaused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, step, held string
		state            statemachine.State
		reason           string
	}{
		{"wait", "  - name: held\n    wait: {signal: confirmed, timeout: 2h, on_timeout: late}\n", "held",
			statemachine.Waiting, "step held failed: Timeout: no confirmed signal within 2h0m0s"},
		{"review", "  - name: approve\n    type: review\n    review: {timeout: 2h, on_timeout: late}\n", "approve",
			statemachine.Review, "step approve failed: Timeout: no decision within 2h0m0s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			plan := compileYAML(t, "workflow_id: paused-timeout\ninitial_step: "+c.held+"\nsteps:\n"+c.step+
				"    next: done\n  - name: done\n    type: succeed\n  - name: late\n    action: log\n    params: {message: late}\n")
			env := newTestEnv(t)
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(contract.SignalPause, contract.Reason{Reason: "hold on"}) }, time.Hour)
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(contract.SignalResume, contract.Reason{Reason: "go on"}) }, 3*time.Hour)
			env.ExecuteWorkflow(contract.WorkflowType, workflows.NewInput(plan, nil))
			require.True(t, env.IsWorkflowCompleted())
			var res workflows.Result
			require.NoError(t, env.GetWorkflowResult(&res))
			require.Equal(t, statemachine.Complete, res.State)

			h := envHistory(t, env)
			requireContiguous(t, h)
			start := h[0].At
			type move struct {
				From, To statemachine.State
				Step     string
				Event    statemachine.Event
				Reason   string
				After    time.Duration
			}
			var moves []move
			for _, r := range h {
				moves = append(moves, move{r.From, r.To, r.Step, r.Event, r.Reason, r.At.Sub(start)})
			}
			require.Equal(t, []move{
				{statemachine.Initial, c.state, c.held, statemachine.EventStart, "", 0},
				{c.state, statemachine.Paused, c.held, statemachine.EventPause, "hold on", time.Hour},
				{statemachine.Paused, c.state, c.held, statemachine.EventResume, "go on", 3 * time.Hour},
				{c.state, statemachine.Processing, "late", statemachine.EventStep, c.reason, 4 * time.Hour},
				{statemachine.Processing, statemachine.Processing, "late", statemachine.EventStepCompleted, "", 4 * time.Hour},
				{statemachine.Processing, statemachine.Complete, "late", statemachine.EventComplete, "", 4 * time.Hour},
			}, moves)
		})
	}
}

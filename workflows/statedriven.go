package workflows

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/expression"
	"github.com/statedriven/statedriven/statemachine"
)

// Error types of the failures a run ends with; clients and definitions
// can match on them.
const (
	// ErrTypeBadPlan: the input's plan was edited after it was compiled, or
	// its expressions do not compile. Nothing ran.
	ErrTypeBadPlan = "BadPlan"
	// ErrTypeRunFailed: the run ended in FAILED.
	ErrTypeRunFailed = "RunFailed"
	// ErrTypeExpression: an input mapping, condition or map items
	// expression failed at run time; a step failure that can be routed.
	ErrTypeExpression = "ExpressionError"
	// ErrTypeRejected: a review was rejected.
	ErrTypeRejected = "Rejected"
	// ErrTypeTimeout: a wait or a review timed out without on_timeout.
	ErrTypeTimeout = "Timeout"
	// ErrTypeBadInput: the run's input does not match the definition's
	// input_schema. Nothing ran.
	ErrTypeBadInput = "BadInput"
	// ErrTypeInternal: the engine met a state it should never reach.
	ErrTypeInternal = "InternalError"
)

// expressions is the CEL environment, built once per process. Building it
// is pure, so sharing it across workflow executions is deterministic.
var expressions = sync.OnceValues(expression.NewEnv)

// run is one execution of a plan: the machine, the data, and what the
// handlers need to see. Workflow coroutines never run at once, so it needs
// no lock.
type run struct {
	in     Input
	plan   *definition.Plan
	m      *statemachine.Machine
	logger log.Logger

	steps    map[string]any // step outputs by name
	next     string         // the step to run next
	current  []string       // the steps running now
	progs    map[string]*expression.Program
	errMsg   string
	reason   string // why the next transition happens (a routed failure)
	executed int    // steps executed in this Temporal run
	runs     int    // continue-as-new generations before this one
	segStart uint64 // the machine's Seq when this Temporal run began

	pub  publisher // what the Web UI was last shown
	proj projector // what the Redis projection holds

	origin *workflow.Execution // the run a map batch works for; nil otherwise

	paused    bool
	cancelled *string // the reason, once a cancel signal arrived
	cancelWho string  // who asked for the cancel
	review    *decision
	hooks     []definition.Action // hook actions due after the last transition
	stepScope workflow.CancelFunc // cancels the running step's activities

	control bool                 // the operator-control semantics (ControlVersion)
	running *definition.PlanStep // the step running now, nil between steps
	done    []doneStep           // completed steps, for rollback and compensation
	partial doneStep             // what the running step has completed so far
	op      *operation           // an operation waiting for the running step to stop
	rolling string               // the steps a rollback is compensating, for the details line
	who     string               // who caused the next transition (a redrive's operator)

	routedFrom  string // the step that routed the run to the one running now
	redriveFrom string // where a redrive of a run ending at a fail step starts
}

// decision is a reviewer's answer to a review step.
type decision struct {
	approved bool
	reason   string
	who      string
}

// StateDriven is the interpreter workflow, registered as
// StateDrivenWorkflow. Its body drives a statemachine.Machine over the
// plan in its input: every action step an activity with the step's retry
// policy and timeouts, parallel branches as futures, waits as timers or
// signals, reviews as updates, sub-workflows as child workflows. It
// continues as new when the server suggests it (or after
// Input.MaxStepsPerRun steps), carrying the machine and the data across.
func StateDriven(ctx workflow.Context, in Input) (Result, error) {
	r, err := newRun(ctx, in)
	if err != nil {
		return Result{}, err
	}
	if err := r.handlers(ctx); err != nil {
		return Result{}, err
	}
	return r.drive(ctx)
}

func newRun(ctx workflow.Context, in Input) (*run, error) {
	plan := &in.Plan
	if err := plan.Verify(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("the plan in the input does not match its hash: "+err.Error(), ErrTypeBadPlan, nil)
	}
	if in.Carry == nil {
		// The starter checks this before starting; a run started any other
		// way (the Temporal CLI, a program) is checked here, before any step.
		if err := checkInput(plan, in.Data); err != nil {
			return nil, err
		}
	}
	r := &run{
		in:     in,
		plan:   plan,
		logger: log.With(workflow.GetLogger(ctx), "definition", plan.Name),
		steps:  map[string]any{},
		progs:  map[string]*expression.Program{},
		next:   plan.Initial,
		// -1 so that the first publish shows progress 0 too.
		pub: publisher{progress: -1},
	}
	if err := r.compile(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeBadPlan, nil)
	}
	cfg := statemachine.Config{
		TotalSteps: plan.TotalSteps,
		OnEnter:    r.hookFuncs(plan.OnEnter),
		OnExit:     r.hookFuncs(plan.OnExit),
		OnRecord:   countRecords(workflow.GetMetricsHandler(ctx)),
	}
	if in.HistoryWindow > 0 {
		cfg.HistoryWindow = in.HistoryWindow
		cfg.CheckpointWindow = cmp.Or(in.RollbackWindow, DefaultRollbackWindow)
	}
	var err error
	if c := in.Carry; c != nil {
		r.m, err = statemachine.Restore(c.Machine, cfg)
		if c.Steps != nil {
			r.steps = c.Steps
		}
		r.next, r.paused, r.runs = c.Next, c.Paused, c.Runs
		r.proj.written = c.Projected
		r.done = c.Done
	} else {
		r.m, err = statemachine.New(cfg)
	}
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("cannot build the state machine: "+err.Error(), ErrTypeBadPlan, nil)
	}
	// The records this run makes are saved nowhere else until they travel
	// into the next run's input: keep them all until then.
	r.segStart = r.m.Seq()
	if in.HistoryWindow > 0 {
		r.m.KeepFrom(r.segStart + 1)
	}
	r.proj.on = projects(ctx, in)
	r.control = controls(ctx, in)
	if rd := in.Redrive; rd != nil && in.Carry == nil {
		s, ok := plan.Step(rd.From)
		if !ok || s.Group != "" {
			return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("redrive from step %q: the plan has no such step outside a parallel group", rd.From), ErrTypeBadPlan, nil)
		}
		for _, k := range sortedKeys(rd.Steps) {
			r.steps[k] = rd.Steps[k]
		}
		r.next = rd.From
		r.reason = fmt.Sprintf("redrive of %s (run %s) from step %s", rd.WorkflowID, rd.RunID, rd.From)
		if rd.Reason != "" {
			r.reason += ": " + rd.Reason
		}
		r.who = whoOf(rd.Who)
	}
	return r, nil
}

// compile compiles every expression of the plan once, so a step never
// pays for it and a bad plan is refused before anything runs.
func (r *run) compile() error {
	add := func(src string, kind expression.Kind) error {
		if _, err := r.programFor(src, kind); err != nil {
			return fmt.Errorf("expression %q: %w", src, err)
		}
		return nil
	}
	for _, s := range r.plan.Steps {
		for _, k := range sortedKeys(s.Input) {
			if err := add(s.Input[k], expression.Any); err != nil {
				return err
			}
		}
		for _, ch := range s.When {
			if err := add(ch.If, expression.Bool); err != nil {
				return err
			}
		}
		if s.Map != nil {
			if err := add(s.Map.Items, expression.List); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *run) program(src string, kind expression.Kind) *expression.Program {
	return r.progs[kind.String()+":"+src]
}

// programFor returns the compiled expression, compiling it on first use:
// for expressions the plan holds in params (a transform's mapping), which
// compile only evaluates in the activity but the run reads for StepRefs.
func (r *run) programFor(src string, kind expression.Kind) (*expression.Program, error) {
	key := kind.String() + ":" + src
	if p, ok := r.progs[key]; ok {
		return p, nil
	}
	env, err := expressions()
	if err != nil {
		return nil, err
	}
	p, err := env.Compile(src, kind)
	if err != nil {
		return nil, err
	}
	if r.progs == nil {
		r.progs = map[string]*expression.Program{}
	}
	r.progs[key] = p
	return p, nil
}

// hookFuncs turns the plan's hooks into machine hooks that queue the hook
// actions; they run as activities right after the transition.
func (r *run) hookFuncs(hooks map[string][]definition.Action) map[statemachine.State]func(statemachine.Record) {
	if len(hooks) == 0 {
		return nil
	}
	out := map[statemachine.State]func(statemachine.Record){}
	for _, name := range sortedKeys(hooks) {
		st, err := statemachine.ParseState(name)
		if err != nil {
			continue // the compiler refused unknown states already
		}
		actions := hooks[name]
		out[st] = func(statemachine.Record) { r.hooks = append(r.hooks, actions...) }
	}
	return out
}

// drive runs steps until the run ends, pauses included.
func (r *run) drive(ctx workflow.Context) (Result, error) {
	r.publish(ctx)
	workflow.Go(ctx, r.publisherLoop)
	if r.proj.on {
		workflow.Go(ctx, r.projectLoop)
	}
	for r.next != "" {
		if err := workflow.Await(ctx, func() bool { return !r.paused || r.cancelled != nil || r.op != nil }); err != nil {
			return r.finishCancelled(ctx, "cancelled through Temporal")
		}
		if r.cancelled != nil {
			return r.finishCancelled(ctx, *r.cancelled)
		}
		if r.op != nil {
			if end, res, err := r.applyOp(ctx, nil, false); end {
				return res, err
			}
			continue
		}
		if r.shouldContinueAsNew(ctx) {
			return r.continueAsNew(ctx)
		}
		s, ok := r.plan.Step(r.next)
		if !ok {
			return r.finishFailed(ctx, r.next, &failure{Type: ErrTypeInternal, Message: fmt.Sprintf("step %q is not in the plan", r.next)})
		}
		r.executed++
		next, f := r.runStep(ctx, s)
		if ctx.Err() != nil {
			return r.finishCancelled(ctx, "cancelled through Temporal")
		}
		if r.cancelled != nil {
			return r.finishCancelled(ctx, *r.cancelled)
		}
		if r.op != nil {
			if f == nil {
				r.next = next
			}
			if end, res, err := r.applyOp(ctx, s, f == nil); end {
				return res, err
			}
			continue
		}
		if f != nil {
			if s.Kind == definition.KindFail && r.routedFrom != "" {
				// A redrive goes back to the step whose result sent the
				// run to this fail step, not to the fail step itself.
				r.redriveFrom = r.routedFrom
			}
			return r.finishFailed(ctx, s.Name, f)
		}
		r.routedFrom = s.Name
		r.next = next
	}
	return r.finishComplete(ctx)
}

// failure is why a step did not succeed.
type failure struct {
	Type    string
	Message string
	// route is where a timeout with on_timeout goes, whatever the
	// step's conditions say.
	route string
}

func (f *failure) String() string {
	if f.Type == "" {
		return f.Message
	}
	return f.Type + ": " + f.Message
}

// stateOf is the state a run is in while a step of kind k runs.
func stateOf(k definition.Kind) statemachine.State {
	switch k {
	case definition.KindWait:
		return statemachine.Waiting
	case definition.KindReview:
		return statemachine.Review
	}
	return statemachine.Processing
}

// runStep runs one step and returns the step to go to next ("" to end in
// COMPLETE), or the failure that ends the run.
func (r *run) runStep(ctx workflow.Context, s *definition.PlanStep) (string, *failure) {
	switch s.Kind {
	case definition.KindSucceed:
		if r.m.State() == statemachine.Initial {
			r.enter(ctx, s)
		}
		return "", nil
	case definition.KindFail:
		if r.m.State() == statemachine.Initial {
			r.enter(ctx, s)
		}
		msg := s.Error
		if r.reason != "" {
			msg += " (" + r.reason + ")"
		}
		return "", &failure{Message: msg}
	}
	if err := r.enter(ctx, s); err != nil {
		return "", err
	}
	r.running, r.partial = s, doneStep{}
	out, f := r.execute(ctx, s)
	if cur, ok := r.plan.Step(s.Name); ok {
		s = cur // a modify may have changed its routes meanwhile
	}
	r.running = nil
	r.current = nil
	if f != nil && (r.op != nil || r.cancelled != nil || ctx.Err() != nil) {
		return "", f // stopped for an operator: the drive loop decides
	}
	if f != nil {
		r.finishUnit(s.Name)
		return r.routeFailure(s, f)
	}
	if s.Kind != definition.KindParallel {
		if err := r.completeStep(ctx, r.setOutput(s.Name, out), s.Remaining, false); err != nil {
			return "", err
		}
	}
	r.finishUnit(s.Name)
	for _, ch := range s.When {
		ok, err := r.program(ch.If, expression.Bool).EvalBool(r.vars(out, nil))
		if err != nil {
			return r.routeFailure(s, &failure{Type: ErrTypeExpression, Message: err.Error()})
		}
		if ok {
			r.reason = fmt.Sprintf("when %s", ch.If)
			return ch.Next, nil
		}
	}
	r.reason = ""
	return s.Next, nil
}

// routeFailure sends a failed step's run to the step its conditions name
// for the error type, else to conditions.failure, else ends it.
func (r *run) routeFailure(s *definition.PlanStep, f *failure) (string, *failure) {
	target, ok := s.OnError[f.Type]
	if !ok {
		target = s.OnFailure
	}
	if f.route != "" {
		target = f.route
	}
	if target == "" {
		return "", f
	}
	r.steps[s.Name] = map[string]any{"error": f.Message, "error_type": f.Type}
	r.reason = fmt.Sprintf("step %s failed: %s", s.Name, f)
	r.logger.Info("step failed, routed", "step", s.Name, "err", f.String(), "next", target)
	return target, nil
}

// enter moves the machine to the state of step s.
func (r *run) enter(ctx workflow.Context, s *definition.PlanStep) *failure {
	to := stateOf(s.Kind)
	ev := statemachine.EventStep
	switch {
	case r.m.State() == statemachine.Initial && r.in.Redrive != nil && r.in.Carry == nil:
		ev = statemachine.EventRedrive
	case r.m.State() == statemachine.Initial:
		ev = statemachine.EventStart
	case to == statemachine.Waiting:
		ev = statemachine.EventWait
	case to == statemachine.Review:
		ev = statemachine.EventReview
	}
	_, err := r.m.Transition(to, statemachine.Cause{Step: s.Name, Event: ev, Reason: r.reason, Who: r.who}, workflow.Now(ctx))
	r.reason, r.who = "", ""
	if err != nil {
		return &failure{Type: ErrTypeInternal, Message: err.Error()}
	}
	r.current = []string{s.Name}
	r.afterTransition(ctx)
	return nil
}

// undo is what a step's completion changed in the step outputs: the
// checkpoint data of runs with a history window. Rolling back n steps
// applies the last n in reverse, so a checkpoint costs one output, not
// all of them, and the carried checkpoints stay bounded by the window
// times the largest output.
type undo struct {
	Step string `json:"step"`
	// Had says whether the step had an output before; Prev is that output.
	Had  bool `json:"had"`
	Prev any  `json:"prev,omitempty"`
}

// setOutput records a step's output and returns what it replaced.
func (r *run) setOutput(name string, out any) undo {
	prev, had := r.steps[name]
	r.steps[name] = out
	return undo{Step: name, Had: had, Prev: prev}
}

// completeStep records a finished step, with a checkpoint. The new
// progress is published by the transition that follows at once, or, for a
// branch of a parallel step, right away.
func (r *run) completeStep(ctx workflow.Context, u undo, remaining int, publish bool) *failure {
	return r.completeStepWith(ctx, u, remaining, publish, statemachine.Cause{})
}

// completeStepWith is completeStep with the record's cause (a skip).
func (r *run) completeStepWith(ctx workflow.Context, u undo, remaining int, publish bool, c statemachine.Cause) *failure {
	var data []byte
	var err error
	if r.in.HistoryWindow > 0 {
		data, err = json.Marshal(u)
	} else {
		// Runs from before the windows keep a whole copy of the outputs
		// in every checkpoint, as they always did.
		data, err = json.Marshal(r.steps)
	}
	if err != nil {
		return &failure{Type: ErrTypeInternal, Message: "checkpoint data: " + err.Error()}
	}
	if _, err := r.m.CompleteStepWith(u.Step, remaining, data, c, workflow.Now(ctx)); err != nil {
		return &failure{Type: ErrTypeInternal, Message: err.Error()}
	}
	r.noteCompletion(u.Step)
	if publish || r.m.State() == statemachine.Paused {
		r.publish(ctx)
	}
	return nil
}

// afterTransition publishes the new state and runs the hooks it queued.
func (r *run) afterTransition(ctx workflow.Context) {
	r.publish(ctx)
	hooks := r.hooks
	r.hooks = nil
	for _, h := range hooks {
		r.runHook(ctx, h)
	}
}

// vars are what expressions see.
func (r *run) vars(result, item any) expression.Vars {
	return expression.Vars{Input: r.inputData(), Steps: r.steps, Result: result, Item: item}
}

func (r *run) inputData() any {
	if r.in.Data == nil {
		return map[string]any{}
	}
	return r.in.Data
}

// details is the line a person reads in the Web UI:
// "PROCESSING — step 3/7: analyze".
func (r *run) details() string {
	st := r.m.State()
	done := r.m.CompletedCount()
	total := max(r.m.Total(), done)
	switch {
	case r.rolling != "":
		return fmt.Sprintf("ROLLING BACK — compensating %s; %d/%d steps done", r.rolling, done, total)
	case st == statemachine.Paused:
		return fmt.Sprintf("PAUSED — %d/%d steps done; resume returns to %s", done, total, r.m.Resumes())
	case r.control && st == statemachine.Review && len(r.current) > 0:
		return fmt.Sprintf("REVIEW — step %d/%d: %s waits for a person to approve or reject", min(done+1, total), total, strings.Join(r.current, ", "))
	case st.Terminal() || len(r.current) == 0:
		line := fmt.Sprintf("%s — %d/%d steps done", st, done, total)
		if r.errMsg != "" {
			line += ": " + r.errMsg
		}
		return line
	}
	return fmt.Sprintf("%s — step %d/%d: %s", st, min(done+1, total), total, strings.Join(r.current, ", "))
}

func (r *run) shouldContinueAsNew(ctx workflow.Context) bool {
	if r.executed == 0 {
		return false // make progress in every run
	}
	if r.in.MaxStepsPerRun > 0 && r.executed >= r.in.MaxStepsPerRun {
		return true
	}
	// Half the window, so that the records of the next step (a parallel
	// step makes one per branch) still fit before the run carries them.
	if w := r.in.HistoryWindow; w > 0 && r.m.Seq()-r.segStart >= uint64(max(w/2, 1)) {
		return true
	}
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

// continueAsNew carries the machine and data into a fresh run, after the
// signals already received are applied so none is lost. A carry too large
// for Temporal ends the run in FAILED instead of leaving it stuck on a
// workflow task that the server refuses forever.
func (r *run) continueAsNew(ctx workflow.Context) (Result, error) {
	r.drainSignals(ctx)
	// A cancel drained here used to be dropped by the carry; runs with a
	// window (which did not exist then) honour it, older ones replay.
	if r.cancelled != nil && r.in.HistoryWindow > 0 {
		return r.finishCancelled(ctx, *r.cancelled)
	}
	next := r.in
	r.projectFinal(ctx)
	next.Carry = &Carry{Machine: r.m.Snapshot(), Steps: r.steps, Next: r.next, Paused: r.paused, Runs: r.runs + 1, Done: r.done}
	if r.proj.on {
		next.Projection = ProjectionVersion
		next.Carry.Projected = r.proj.written
	}
	if r.in.HistoryWindow > 0 {
		if f := checkPayload("the state carried into the next run", next,
			"lower the run's rollback_window or make the steps' outputs smaller"); f != nil {
			return r.finishFailed(ctx, r.next, f)
		}
	}
	r.flush(ctx, true)
	r.endHandlers(ctx, "the run continued as new before the operation could be applied: send it again")
	r.logger.Info("continuing as new", "next", r.next, "runs", r.runs+1)
	return Result{}, workflow.NewContinueAsNewError(ctx, contract.WorkflowType, next)
}

func (r *run) finishComplete(ctx workflow.Context) (Result, error) {
	return r.finishWith(ctx, statemachine.Cause{Step: r.m.Step(), Event: statemachine.EventComplete})
}

// finishWith ends the run in COMPLETE with cause c (the engine's, or an
// operator's transition).
func (r *run) finishWith(ctx workflow.Context, c statemachine.Cause) (Result, error) {
	if _, err := r.m.Transition(statemachine.Complete, c, workflow.Now(ctx)); err != nil {
		return r.finishFailed(ctx, r.m.Step(), &failure{Type: ErrTypeInternal, Message: err.Error()})
	}
	r.current = nil
	r.afterTransition(ctx)
	r.endHandlers(ctx, "the run completed before the operation could be applied")
	r.flush(ctx, true)
	r.projectFinal(ctx)
	return r.result(), nil
}

func (r *run) finishFailed(ctx workflow.Context, step string, f *failure) (Result, error) {
	return r.finishFailedWith(ctx, step, f, statemachine.Cause{})
}

// finishFailedWith ends the run in FAILED; c, when it names an event (an
// operator's transition), is the record's cause.
func (r *run) finishFailedWith(ctx workflow.Context, step string, f *failure, c statemachine.Cause) (Result, error) {
	r.errMsg = f.String()
	r.current = nil
	var err error
	if c.Event == "" {
		_, err = r.m.Fail(step, r.errMsg, workflow.Now(ctx))
	} else {
		c.Reason = r.errMsg
		_, err = r.m.Transition(statemachine.Failed, c, workflow.Now(ctx))
	}
	if err != nil {
		r.logger.Error("cannot record the failure", "step", step, "err", err)
	}
	r.afterTransition(ctx)
	r.endHandlers(ctx, "the run failed before the operation could be applied")
	r.flush(ctx, true)
	r.projectFinal(ctx)
	r.logger.Info("run failed", "step", step, "err", r.errMsg)
	details := Result{State: r.m.State(), Error: r.errMsg}
	if r.control {
		details = r.endDetails(step)
	}
	return Result{State: r.m.State(), Steps: r.steps, Error: r.errMsg},
		temporal.NewNonRetryableApplicationError(fmt.Sprintf("step %s: %s", step, r.errMsg), ErrTypeRunFailed, nil, details)
}

// endDetails is what a FAILED or CANCELLED run leaves for a redrive: the
// step it stopped at, the outputs (unless over the payload limit) and the
// plan's hash.
func (r *run) endDetails(step string) Result {
	if r.redriveFrom != "" {
		step = r.redriveFrom
	}
	res := Result{State: r.m.State(), Error: r.errMsg, Steps: r.steps, Step: step, PlanHash: r.plan.Hash}
	if f := checkPayload("the run's step outputs", res, "each step's output is still in the run's history, as its activity's result"); f != nil {
		res.Steps, res.StepsOmitted = nil, f.Message
	}
	return res
}

// finishCancelled ends the run in CANCELLED. It works on a disconnected
// context so that it can still record the end after Temporal cancelled
// the workflow, and returns a cancellation so Temporal shows Canceled.
// First the compensations of the completed steps run, newest first; one
// that fails for good ends the run in FAILED instead, with both reasons.
func (r *run) finishCancelled(ctx workflow.Context, reason string) (Result, error) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	if r.stepScope != nil {
		r.stepScope()
	}
	step := r.m.Step()
	if r.running != nil {
		step = r.running.Name
	} else if r.next != "" {
		step = r.next
	}
	r.current = nil
	if r.control {
		if groups := r.compensationsOnCancel(); len(groups) > 0 {
			if f := r.compensate(dctx, groups, "cancel"); f != nil {
				return r.finishFailedWith(dctx, step, &failure{Type: f.Type, Message: fmt.Sprintf("cancelled (%s), then %s", reason, f.Message)},
					statemachine.Cause{Step: step, Event: statemachine.EventCancel, Who: r.cancelWho})
			}
		}
	}
	c := statemachine.Cause{Reason: reason, Who: r.cancelWho}
	if r.control {
		c.Step = step // the step it stopped, not the last one compensated
	}
	if _, err := r.m.CancelWith(c, workflow.Now(dctx)); err != nil {
		r.logger.Error("cannot record the cancellation", "err", err)
	}
	r.afterTransition(dctx)
	r.endHandlers(dctx, "the run was cancelled before the operation could be applied")
	r.flush(dctx, true)
	r.projectFinal(dctx)
	if r.control {
		return Result{State: r.m.State(), Steps: r.steps}, temporal.NewCanceledError(r.endDetails(step))
	}
	return Result{State: r.m.State(), Steps: r.steps}, temporal.NewCanceledError(reason)
}

// endHandlers answers an operation that the run's end overtook, and lets
// the update handlers still running return before the run closes.
func (r *run) endHandlers(ctx workflow.Context, why string) {
	if r.op != nil && !r.op.done {
		r.op.finish(errors.New(why))
	}
	if !workflow.AllHandlersFinished(ctx) {
		_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// asFailure classifies an activity or child workflow error.
func asFailure(err error) *failure {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return &failure{Type: app.Type(), Message: app.Message()}
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return &failure{Type: ErrTypeTimeout, Message: timeout.Error()}
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return &failure{Type: "Canceled", Message: "cancelled"}
	}
	return &failure{Message: err.Error()}
}

// checkInput refuses an input that does not match the plan's input_schema.
func checkInput(plan *definition.Plan, data map[string]any) error {
	var input any
	if data != nil {
		input = data
	}
	ps, err := plan.CheckInput(input)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeBadPlan, nil)
	}
	if len(ps) == 0 {
		return nil
	}
	return temporal.NewNonRetryableApplicationError("the input does not match the definition's input_schema: "+strings.Join(ps.InputLines(), "; "), ErrTypeBadInput, nil)
}

// result is what a COMPLETE run returns: its step outputs, unless they
// are over the payload limit; then none, and StepsOmitted says why.
func (r *run) result() Result {
	res := Result{State: r.m.State(), Steps: r.steps}
	if r.in.HistoryWindow == 0 {
		return res // runs from before the check return what they did
	}
	if f := checkPayload("the run's result (its step outputs)", res, "each step's output is still in the run's history, as its activity's result"); f != nil {
		r.logger.Warn("result without step outputs", "err", f.String())
		return Result{State: res.State, StepsOmitted: f.Message}
	}
	return res
}

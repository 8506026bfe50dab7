package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/expression"
	"github.com/statedriven/statedriven/statemachine"
)

// execute runs the work of step s and returns its output.
func (r *run) execute(ctx workflow.Context, s *definition.PlanStep) (any, *failure) {
	sctx, cancel := workflow.WithCancel(ctx)
	r.stepScope = cancel
	defer func() {
		cancel()
		r.stepScope = nil
	}()
	if r.op != nil || (r.control && r.cancelled != nil) {
		// An operator's request arrived while the step was being entered
		// (its hooks ran): the step starts cancelled and stops at once.
		cancel()
	}
	switch s.Kind {
	case definition.KindAction:
		in, f := r.stepInput(s)
		if f != nil {
			return nil, f
		}
		return r.activity(sctx, s, s.Action, s.Specialist, in).get(sctx)
	case definition.KindParallel:
		return r.parallel(sctx, s)
	case definition.KindMap:
		return r.mapStep(sctx, s)
	case definition.KindWorkflow:
		return r.child(sctx, s).get(sctx)
	case definition.KindWait:
		return r.wait(sctx, s)
	case definition.KindReview:
		return r.reviewStep(sctx, s)
	}
	return nil, &failure{Type: ErrTypeInternal, Message: fmt.Sprintf("step %q has unknown kind %q", s.Name, s.Kind)}
}

// stepInput evaluates the step's input mapping; without one an action
// gets the run's input.
func (r *run) stepInput(s *definition.PlanStep) (any, *failure) {
	return r.mapping(s, nil)
}

func (r *run) mapping(s *definition.PlanStep, item any) (any, *failure) {
	if len(s.Input) == 0 {
		return r.inputData(), nil
	}
	return r.evalInput(s, item)
}

// itemInput is the input of one item of a map step: its input mapping,
// which sees the item, or the item itself. A map step never sends the
// run's whole input with every item: a map over thousands of items of a
// large input would send it thousands of times.
func (r *run) itemInput(s *definition.PlanStep, item any) (any, *failure) {
	if len(s.Input) == 0 {
		return item, nil
	}
	return r.evalInput(s, item)
}

// evalInput evaluates the step's input mapping.
func (r *run) evalInput(s *definition.PlanStep, item any) (any, *failure) {
	out := make(map[string]any, len(s.Input))
	for _, k := range sortedKeys(s.Input) {
		v, err := r.program(s.Input[k], expression.Any).Eval(r.vars(nil, item))
		if err != nil {
			return nil, &failure{Type: ErrTypeExpression, Message: fmt.Sprintf("input %s: %v", k, err)}
		}
		out[k] = v
	}
	return out, nil
}

// pending is a started piece of work whose output is still to come.
type pending struct {
	future workflow.Future
	fail   *failure
}

func (p pending) get(ctx workflow.Context) (any, *failure) {
	if p.fail != nil {
		return nil, p.fail
	}
	var out contract.StepOutput
	if err := p.future.Get(ctx, &out); err != nil {
		return nil, asFailure(err)
	}
	return out.Result, nil
}

// activityOptions turns the step's policy into Temporal's.
func (r *run) activityOptions(ctx workflow.Context, s *definition.PlanStep, action, specialist string) workflow.ActivityOptions {
	queue := workflow.GetInfo(ctx).TaskQueueName
	if specialist != "" {
		queue = contract.SpecialistQueue(queue, specialist)
	}
	ao := workflow.ActivityOptions{
		TaskQueue: queue,
		Summary:   fmt.Sprintf("%s: %s", s.Name, action),
	}
	if t := s.Timeouts; t != nil {
		ao.StartToCloseTimeout = t.StartToClose.D
		ao.ScheduleToCloseTimeout = t.ScheduleToClose.D
		ao.HeartbeatTimeout = t.Heartbeat.D
	}
	if ao.StartToCloseTimeout == 0 && ao.ScheduleToCloseTimeout == 0 {
		ao.StartToCloseTimeout = definition.DefaultTimeouts.StartToClose.D
	}
	if p := s.Retry; p != nil {
		ao.RetryPolicy = &temporal.RetryPolicy{
			InitialInterval:        p.InitialInterval.D,
			BackoffCoefficient:     p.BackoffCoefficient,
			MaximumInterval:        p.MaximumInterval.D,
			MaximumAttempts:        int32(p.MaximumAttempts),
			NonRetryableErrorTypes: p.NonRetryableErrors,
		}
	}
	return ao
}

// TransformAction is the built-in action whose mapping may read earlier
// outputs (`steps.<name>`): its input carries those its mapping names.
const TransformAction = "transform"

// stepsFor is the earlier outputs an action call carries: every one for
// aggregate, those a transform mapping reads (all of them when it reads
// steps by a computed name), none for any other action, so an activity's
// input does not grow with the run.
func (r *run) stepsFor(action string, params map[string]any) map[string]any {
	switch action {
	case AggregateAction:
		return r.steps
	case TransformAction:
	default:
		return nil
	}
	mapping, _ := params["mapping"].(map[string]any)
	var names []string
	for _, key := range sortedKeys(mapping) {
		src, _ := mapping[key].(string)
		p, err := r.programFor(src, expression.Any)
		if err != nil {
			return nil // the action reports the bad mapping itself
		}
		refs, all := p.StepRefs()
		if all {
			return r.steps
		}
		names = append(names, refs...)
	}
	if len(names) == 0 {
		return nil
	}
	out := make(map[string]any, len(names))
	for _, n := range names {
		if v, ok := r.steps[n]; ok {
			out[n] = v
		}
	}
	return out
}

// AggregateAction is the built-in action that merges earlier outputs: the
// only one whose input carries them (contract.StepInput.Steps).
const AggregateAction = "aggregate"

// activity starts the RunStep activity for one action of step s.
func (r *run) activity(ctx workflow.Context, s *definition.PlanStep, action, specialist string, input any) pending {
	return r.activityItem(ctx, s, action, specialist, s.Params, input, nil, 0)
}

// activityItem starts RunStep for one action call; map steps pass the
// item and its index.
func (r *run) activityItem(ctx workflow.Context, s *definition.PlanStep, action, specialist string, params map[string]any, input, item any, index int) pending {
	exec := r.execution(ctx)
	actx := workflow.WithActivityOptions(ctx, r.activityOptions(ctx, s, action, specialist))
	steps := r.stepsFor(action, params)
	in := contract.StepInput{
		WorkflowID: exec.ID,
		RunID:      exec.RunID,
		Definition: r.plan.Name,
		Step:       s.Name,
		Action:     action,
		Params:     params,
		Input:      input,
		Steps:      steps,
		Item:       item,
		Index:      index,
	}
	// Over the limit, the server would refuse the workflow task that
	// schedules the activity, again and again: fail the step instead.
	if f := checkPayload(fmt.Sprintf("the input of step %s", s.Name), in,
		"pass the step less data (an input: mapping that picks what it needs)"); f != nil {
		return pending{fail: f}
	}
	return pending{future: workflow.ExecuteActivity(actx, contract.RunStepName, in)}
}

// branch is one arm of a parallel step.
type branch struct {
	name string
	work pending
}

// parallel runs the branches of s at once and joins when all finish; what
// a failing branch does is the step's on_branch_failure.
func (r *run) parallel(ctx workflow.Context, s *definition.PlanStep) (any, *failure) {
	var arms []branch
	if s.Action != "" {
		in, f := r.stepInput(s)
		arms = append(arms, branch{s.Name, pendingOr(f, func() pending { return r.activity(ctx, s, s.Action, s.Specialist, in) })})
	}
	for _, name := range s.Branches {
		b, _ := r.plan.Step(name)
		arms = append(arms, branch{name, r.startBranch(ctx, b)})
	}
	r.current = make([]string, len(arms))
	for i, a := range arms {
		r.current[i] = a.name
	}
	r.publish(ctx)

	outputs := map[string]any{}
	var first, internal *failure
	var failedBranch string
	left := len(arms)
	finish := func(name string, out any, f *failure) {
		left--
		r.current = removeName(r.current, name)
		if f != nil {
			r.logger.Warn("branch failed", "step", s.Name, "branch", name, "err", f.String())
			out = map[string]any{"error": f.Message, "error_type": f.Type}
			if first == nil {
				first, failedBranch = f, name
				if s.OnBranchFailure == definition.FailFast {
					r.cancelStep()
				}
			}
		}
		outputs[name] = out
		u := r.setOutput(name, out)
		if f == nil && internal == nil {
			internal = r.completeStep(ctx, u, left+s.Remaining, left > 0)
		}
	}
	sel := workflow.NewSelector(ctx)
	for _, a := range arms {
		if a.work.fail != nil {
			finish(a.name, nil, a.work.fail)
			continue
		}
		sel.AddFuture(a.work.future, func(fut workflow.Future) {
			out, f := pending{future: fut}.get(ctx)
			finish(a.name, out, f)
		})
	}
	// Branches are joined in the order they finish, which replay repeats.
	for left > 0 {
		sel.Select(ctx)
	}
	if internal != nil {
		return nil, internal
	}
	if first != nil && s.OnBranchFailure != definition.Ignore {
		return nil, &failure{Type: first.Type, Message: fmt.Sprintf("branch %s: %s", failedBranch, first.Message)}
	}
	if s.Action == "" {
		r.steps[s.Name] = outputs
	}
	return outputs, nil
}

func pendingOr(f *failure, start func() pending) pending {
	if f != nil {
		return pending{fail: f}
	}
	return start()
}

// startBranch starts a branch step: an action, a map or a sub-workflow.
func (r *run) startBranch(ctx workflow.Context, b *definition.PlanStep) pending {
	switch b.Kind {
	case definition.KindAction:
		in, f := r.stepInput(b)
		return pendingOr(f, func() pending { return r.activity(ctx, b, b.Action, b.Specialist, in) })
	case definition.KindWorkflow:
		return r.child(ctx, b)
	case definition.KindMap:
		// A map branch runs as its own coroutine; its result arrives
		// through a settable future like any other branch's.
		fut, set := workflow.NewFuture(ctx)
		workflow.Go(ctx, func(gctx workflow.Context) {
			out, f := r.mapStep(gctx, b)
			if f != nil {
				set.Set(nil, temporal.NewApplicationError(f.Message, f.Type))
				return
			}
			set.Set(contract.StepOutput{Result: out}, nil)
		})
		return pending{future: fut}
	}
	return pending{fail: &failure{Type: ErrTypeInternal, Message: fmt.Sprintf("branch %q is a %s step", b.Name, b.Kind)}}
}

// cancelStep cancels the work of the running step (fail_fast).
func (r *run) cancelStep() {
	if r.stepScope != nil {
		r.stepScope()
	}
}

func removeName(names []string, name string) []string {
	out := names[:0]
	for _, n := range names {
		if n != name {
			out = append(out, n)
		}
	}
	return out
}

// mapStep runs the step's action once per item, at most Concurrency at a
// time, and returns the outputs in the items' order. A run with a history
// window runs more than MapBatchSize items in batches, each in a child
// workflow, so that no history grows with the number of items.
func (r *run) mapStep(ctx workflow.Context, s *definition.PlanStep) (any, *failure) {
	raw, err := r.program(s.Map.Items, expression.List).Eval(r.vars(nil, nil))
	if err != nil {
		return nil, &failure{Type: ErrTypeExpression, Message: "map items: " + err.Error()}
	}
	items, _ := raw.([]any)
	if r.in.HistoryWindow > 0 && len(items) > MapBatchSize {
		return r.mapBatches(ctx, s, items)
	}
	results, f := r.mapItems(ctx, s, items, 0, func(i int) (any, *failure) { return r.itemInput(s, items[i]) })
	if f != nil {
		return nil, f
	}
	return results, nil
}

// mapItems runs the map step's action for items (the step's items from
// offset on), at most Concurrency at a time; input gives the input of
// item i. The first failure starts no more items; those running finish.
func (r *run) mapItems(ctx workflow.Context, s *definition.PlanStep, items []any, offset int, input func(i int) (any, *failure)) ([]any, *failure) {
	results := make([]any, len(items))
	sel := workflow.NewSelector(ctx)
	var first *failure
	fail := func(i int, f *failure) {
		if first == nil {
			first = &failure{Type: f.Type, Message: fmt.Sprintf("item %d: %s", offset+i, f.Message)}
		}
	}
	inFlight, next := 0, 0
	// A pause starts no new item; those in flight finish.
	held := func() bool { return r.control && r.paused }
	for {
		for first == nil && next < len(items) && inFlight < s.Map.Concurrency && !held() {
			i := next
			next++
			in, f := input(i)
			if f != nil {
				fail(i, f)
				break
			}
			p := r.activityItem(ctx, s, s.Map.Action, s.Map.Specialist, s.Map.Params, in, items[i], offset+i)
			if p.fail != nil {
				fail(i, p.fail)
				break
			}
			inFlight++
			sel.AddFuture(p.future, func(fut workflow.Future) {
				inFlight--
				out, f := pending{future: fut}.get(ctx)
				if f != nil {
					fail(i, f)
				}
				results[i] = out
			})
		}
		if inFlight == 0 {
			if first == nil && next < len(items) && held() {
				if err := workflow.Await(ctx, func() bool { return !held() }); err != nil {
					return results, asFailure(err)
				}
				continue
			}
			break
		}
		sel.Select(ctx)
	}
	return results, first
}

// child runs a sub-workflow step as a child workflow of this run.
func (r *run) child(ctx workflow.Context, s *definition.PlanStep) pending {
	if s.Child == nil {
		return pending{fail: &failure{Type: ErrTypeInternal, Message: fmt.Sprintf("step %q has no sub-workflow plan", s.Name)}}
	}
	in, f := r.stepInput(s)
	if f != nil {
		return pending{fail: f}
	}
	data, _ := in.(map[string]any)
	info := workflow.GetInfo(ctx)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:    fmt.Sprintf("%s/%s", info.WorkflowExecution.ID, s.Name),
		TaskQueue:     info.TaskQueueName,
		StaticSummary: fmt.Sprintf("%s: sub-workflow %s", s.Name, s.Child.Name),
	})
	fut := workflow.ExecuteChildWorkflow(cctx, contract.WorkflowType, Input{Plan: *s.Child, Data: data, NoSearchAttributes: r.in.NoSearchAttributes, ProgressEvery: r.in.ProgressEvery, Projection: r.in.Projection, Control: r.in.Control})
	// The child's Result becomes the step's output.
	out, set := workflow.NewFuture(ctx)
	workflow.Go(ctx, func(gctx workflow.Context) {
		var res Result
		if err := fut.Get(gctx, &res); err != nil {
			set.Set(nil, err)
			return
		}
		set.Set(contract.StepOutput{Result: map[string]any{"state": res.State.String(), "steps": res.Steps}}, nil)
	})
	return pending{future: out}
}

// wait holds the run in WAITING for a duration, or until a signal (or
// its timeout).
func (r *run) wait(ctx workflow.Context, s *definition.PlanStep) (any, *failure) {
	w := s.Wait
	if r.control {
		return r.waitPausable(ctx, s)
	}
	if w.Duration.Set {
		if err := workflow.NewTimerWithOptions(ctx, w.Duration.D, workflow.TimerOptions{Summary: s.Name + ": wait " + w.Duration.String()}).Get(ctx, nil); err != nil {
			return nil, asFailure(err)
		}
		return map[string]any{"waited": w.Duration.String()}, nil
	}
	ch := workflow.GetSignalChannel(ctx, w.Signal)
	var payload any
	received, timedOut := false, false
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, &payload)
		received = true
	})
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
	if w.Timeout.Set {
		sel.AddFuture(workflow.NewTimerWithOptions(ctx, w.Timeout.D, workflow.TimerOptions{Summary: s.Name + ": timeout"}), func(workflow.Future) { timedOut = true })
	}
	sel.Select(ctx)
	switch {
	case received:
		return map[string]any{"signal": w.Signal, "payload": payload}, nil
	case timedOut:
		return r.timedOut(w.OnTimeout, fmt.Sprintf("no %s signal within %s", w.Signal, w.Timeout))
	}
	return nil, &failure{Type: "Canceled", Message: "cancelled"}
}

// waitPausable is wait for runs with the operator's semantics: a pause
// stops the clock of a duration and of a signal's timeout, and a signal
// that arrives while the run is paused stays in its channel until the
// resume.
func (r *run) waitPausable(ctx workflow.Context, s *definition.PlanStep) (any, *failure) {
	w := s.Wait
	if w.Duration.Set {
		if _, err := r.awaitRunning(ctx, w.Duration.D, s.Name+": wait "+w.Duration.String(), func() bool { return false }); err != nil {
			return nil, asFailure(err)
		}
		return map[string]any{"waited": w.Duration.String()}, nil
	}
	ch := workflow.GetSignalChannel(ctx, w.Signal)
	var limit time.Duration
	if w.Timeout.Set {
		limit = w.Timeout.D
	}
	got, err := r.awaitRunning(ctx, limit, s.Name+": timeout", func() bool { return ch.Len() > 0 })
	if err != nil {
		return nil, asFailure(err)
	}
	if !got {
		return r.timedOut(w.OnTimeout, fmt.Sprintf("no %s signal within %s", w.Signal, w.Timeout))
	}
	var payload any
	ch.ReceiveAsync(&payload)
	return map[string]any{"signal": w.Signal, "payload": payload}, nil
}

// timedOut routes a timeout to on_timeout, or fails the step.
func (r *run) timedOut(target, msg string) (any, *failure) {
	return nil, &failure{Type: ErrTypeTimeout, Message: msg, route: target}
}

// reviewStep holds the run in REVIEW until the approve or reject update,
// or the review's timeout.
func (r *run) reviewStep(ctx workflow.Context, s *definition.PlanStep) (any, *failure) {
	r.review = nil
	var timedOut bool
	if r.control {
		var limit time.Duration
		if t := s.Review.Timeout; t.Set {
			limit = t.D
		}
		got, err := r.awaitRunning(ctx, limit, s.Name+": review timeout", func() bool { return r.review != nil })
		if err != nil {
			return nil, asFailure(err)
		}
		timedOut = !got
	} else if t := s.Review.Timeout; t.Set {
		ok, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: t.D, TimerOptions: workflow.TimerOptions{Summary: s.Name + ": review timeout"}},
			func() bool { return r.review != nil })
		if err != nil {
			return nil, asFailure(err)
		}
		timedOut = !ok
	} else if err := workflow.Await(ctx, func() bool { return r.review != nil }); err != nil {
		return nil, asFailure(err)
	}
	if timedOut {
		if s.Review.OnTimeout == "" {
			return nil, &failure{Type: ErrTypeRejected, Message: fmt.Sprintf("no decision within %s", s.Review.Timeout)}
		}
		return r.timedOut(s.Review.OnTimeout, fmt.Sprintf("no decision within %s", s.Review.Timeout))
	}
	d := r.review
	r.review = nil
	if r.control {
		ev := statemachine.EventApprove
		if !d.approved {
			ev = statemachine.EventReject
		}
		if _, err := r.m.Note(statemachine.Cause{Step: s.Name, Event: ev, Reason: d.reason, Who: d.who}, workflow.Now(ctx)); err != nil {
			return nil, &failure{Type: ErrTypeInternal, Message: err.Error()}
		}
	}
	if !d.approved {
		msg := "rejected"
		if d.reason != "" {
			msg += ": " + d.reason
		}
		return nil, &failure{Type: ErrTypeRejected, Message: msg}
	}
	return map[string]any{"approved": true, "reason": d.reason}, nil
}

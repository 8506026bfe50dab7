package workflows

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/expression"
	"github.com/statedriven/statedriven/statemachine"
)

// The operator's control of a run (issue 11): rollback, skip, manual
// transitions and modify as validated updates, compensation on rollback
// and cancel, and a pause that also stops the clocks of waits and
// reviews.

const (
	// ControlVersion is Input.Control for runs with these semantics
	// (NewInput sets it). An input without it, from before them or written
	// by hand, is decided by a version marker: a new run gets them, a
	// recorded one replays as it ran.
	ControlVersion = 1
	// controlChange is the GetVersion change ID for inputs without Control.
	controlChange = "operator-control"
	// doneWindow bounds the completed steps a run remembers for rollback
	// and compensation: a cancel compensates at most this many, newest
	// first, so a loop of months carries a bounded list.
	doneWindow = 1000
)

// controls says whether the run has the operator-control semantics.
func controls(ctx workflow.Context, in Input) bool {
	if in.Control > 0 {
		return in.Control >= ControlVersion
	}
	return workflow.GetVersion(ctx, controlChange, workflow.DefaultVersion, ControlVersion) >= ControlVersion
}

// doneStep is a step the run completed, as rollback counts steps: a
// parallel group is one, however many branches it ran.
type doneStep struct {
	Step string `json:"step"`
	// Marks is how many checkpoints of the machine the step made: one, or
	// one per branch of a parallel group (plus a skip's).
	Marks int `json:"marks"`
	// Comp are the steps with a compensation that completed in it, in the
	// order they completed.
	Comp []string `json:"comp,omitempty"`
}

// operation is an operator's request that ends the running step, applied
// by the drive loop once the step has stopped.
type operation struct {
	kind   string // contract.UpdateRollback, UpdateSkip or UpdateTransition
	steps  int
	to     statemachine.State
	step   string // skip: the step to skip
	reason string
	who    string
	done   bool
	err    error
}

func (op *operation) finish(err error) {
	op.done, op.err = true, err
}

func whoOf(who string) string {
	if strings.TrimSpace(who) == "" {
		return contract.AnonymousWho
	}
	return who
}

// noteCompletion counts a checkpoint the machine just took for the
// running step.
func (r *run) noteCompletion(name string) {
	r.partial.Marks++
	if s, ok := r.plan.Step(name); ok && s.Compensate != nil && s.Compensate.Action != "" {
		r.partial.Comp = append(r.partial.Comp, name)
	}
}

// finishUnit files the step that just ended with its checkpoints as one
// completed step, for rollback and compensation.
func (r *run) finishUnit(name string) {
	if r.partial.Marks > 0 {
		r.partial.Step = name
		r.done = append(r.done, r.partial)
		// Beyond the rollback window a step is kept only for its
		// compensations: a loop without any carries no more than the
		// window, one with them at most doneWindow steps.
		if w := cmp.Or(r.in.RollbackWindow, DefaultRollbackWindow); r.in.HistoryWindow > 0 && len(r.done) > w {
			if old := len(r.done) - w - 1; len(r.done[old].Comp) == 0 {
				r.done = slices.Delete(r.done, old, old+1)
			}
		}
		if len(r.done) > doneWindow {
			r.done = slices.Delete(r.done, 0, len(r.done)-doneWindow)
		}
	}
	r.partial = doneStep{}
}

// registerControl installs the operator's updates.
func (r *run) registerControl(ctx workflow.Context) error {
	type spec struct {
		name, desc string
		handler    any
		validator  any
	}
	specs := []spec{
		{contract.UpdatePause, "pause the run: no new step starts, waits and review timeouts stop counting; answers whether it took effect",
			func(ctx workflow.Context, in contract.Reason) (contract.StateView, error) {
				_, err := r.m.PauseWith(statemachine.Cause{Reason: in.Reason, Who: whoOf(in.Who)}, workflow.Now(ctx))
				if err == nil {
					r.paused = true
					r.afterTransition(ctx)
				}
				return r.stateView(), err
			},
			refusing(ctx, contract.UpdatePause, func(in contract.Reason) error { return r.canPause() })},
		{contract.UpdateResume, "resume a paused run where it stopped; answers whether it took effect",
			func(ctx workflow.Context, in contract.Reason) (contract.StateView, error) {
				_, err := r.m.ResumeWith(statemachine.Cause{Reason: in.Reason, Who: whoOf(in.Who)}, workflow.Now(ctx))
				if err == nil {
					r.paused = false
					r.afterTransition(ctx)
				}
				return r.stateView(), err
			},
			refusing(ctx, contract.UpdateResume, func(in contract.Reason) error { return r.canResume() })},
		{contract.UpdateRollback, `{"steps": N, "reason": "…", "who": "…"}: undo the last N completed steps (a parallel group is one), run their compensations newest first, and go on from the first step undone`,
			func(ctx workflow.Context, in contract.RollbackRequest) (contract.StateView, error) {
				return r.submit(ctx, &operation{kind: contract.UpdateRollback, steps: in.Steps, reason: in.Reason, who: whoOf(in.Who)})
			},
			refusing(ctx, contract.UpdateRollback, func(in contract.RollbackRequest) error { return r.canRollback(in.Steps) })},
		{contract.UpdateSkip, `{"reason": "…", "who": "…"}: end the running step as skipped (empty output, success route)`,
			func(ctx workflow.Context, in contract.Reason) (contract.StateView, error) {
				if r.running == nil {
					// The step ended between the validator and the handler.
					return r.stateView(), errors.New("the step had already finished when the skip arrived: nothing was skipped")
				}
				return r.submit(ctx, &operation{kind: contract.UpdateSkip, step: r.running.Name, reason: in.Reason, who: whoOf(in.Who)})
			},
			refusing(ctx, contract.UpdateSkip, func(in contract.Reason) error { return r.canSkip() })},
		{contract.UpdateTransition, `{"to": STATE, "reason": "…", "who": "…"}: move the run by hand through the transition table: PAUSED, the state a paused run resumes to, COMPLETE, FAILED or CANCELLED`,
			r.transitionHandler,
			refusing(ctx, contract.UpdateTransition, func(in contract.TransitionRequest) error { _, err := r.canTransition(in.To); return err })},
		{contract.UpdateModify, `{"plan": PLAN} or {"definition": DOC}, with "reason" and "who": replace the steps the run has not reached`,
			r.modifyHandler,
			refusing(ctx, contract.UpdateModify, func(in contract.ModifyRequest) error { _, err := r.checkModify(in); return err })},
	}
	for _, s := range specs {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, s.name, s.handler,
			workflow.UpdateHandlerOptions{Validator: s.validator, Description: s.desc}); err != nil {
			return fmt.Errorf("set update handler %s: %w", s.name, err)
		}
	}
	return nil
}

// busy refuses an operation while another one that ends the running step
// is being applied, or a rollback's compensations run.
func (r *run) busy() error {
	switch {
	case r.rolling != "":
		return errors.New("a rollback's compensations are still running: try again when it has finished (starter status shows it)")
	case r.op != nil:
		return fmt.Errorf("another operation (%s) is being applied: try again when it has finished", r.op.kind)
	case r.cancelled != nil:
		return errors.New("the run is being cancelled")
	}
	return nil
}

func (r *run) finished() error {
	if st := r.m.State(); st.Terminal() {
		return fmt.Errorf("the run is %s: a finished run does not change", st)
	}
	return nil
}

func (r *run) canPause() error {
	if err := r.finished(); err != nil {
		return err
	}
	if r.m.State() == statemachine.Paused {
		return fmt.Errorf("the run is already paused (it resumes to %s)", r.m.Resumes())
	}
	return r.m.Check(statemachine.Paused, statemachine.Cause{Step: r.m.Step(), Event: statemachine.EventPause})
}

func (r *run) canResume() error {
	if err := r.finished(); err != nil {
		return err
	}
	if st := r.m.State(); st != statemachine.Paused {
		return fmt.Errorf("the run is %s, not paused: only a paused run resumes", st)
	}
	return nil
}

// submit hands an operation to the drive loop, ends the running step and
// waits until the operation has been applied.
func (r *run) submit(ctx workflow.Context, op *operation) (contract.StateView, error) {
	if err := r.busy(); err != nil {
		// Two requests validated in one workflow task: the first wins.
		return r.stateView(), err
	}
	r.op = op
	r.cancelStep()
	// Answer with the operation's outcome even if the run is cancelled
	// meanwhile: the drive loop applies it, or its end answers it.
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	if err := workflow.Await(dctx, func() bool { return op.done }); err != nil {
		return r.stateView(), err
	}
	return r.stateView(), op.err
}

// canRollback is the rollback update's validator.
func (r *run) canRollback(n int) error {
	if err := r.finished(); err != nil {
		return err
	}
	if err := r.busy(); err != nil {
		return err
	}
	if n < 1 {
		return fmt.Errorf("steps is %d: roll back at least 1 step", n)
	}
	if n > len(r.done) {
		return fmt.Errorf("cannot roll back %d step(s): only %d completed step(s) can be undone (%s)", n, len(r.done), r.doneNames())
	}
	marks := r.rollbackMarks(n)
	if err := r.m.CanRollback(marks); err != nil {
		if errors.Is(err, statemachine.ErrRollback) && !errors.As(err, new(*statemachine.TransitionError)) {
			return fmt.Errorf("cannot roll back %d step(s): the run keeps checkpoints for its last %d only (rollback_window)", n, r.reach())
		}
		return err
	}
	return nil
}

// rollbackMarks is how many of the machine's checkpoints undoing the
// last n steps drops: theirs and those of the running step.
func (r *run) rollbackMarks(n int) int {
	marks := r.partial.Marks
	for _, d := range r.done[len(r.done)-n:] {
		marks += d.Marks
	}
	return marks
}

// reach is how many completed steps a rollback can undo now.
func (r *run) reach() int {
	n := 0
	for n < len(r.done) && r.m.CanRollback(r.rollbackMarks(n+1)) == nil {
		n++
	}
	return n
}

func (r *run) doneNames() string {
	if len(r.done) == 0 {
		return "none yet"
	}
	names := make([]string, 0, min(len(r.done), 5))
	for i := len(r.done) - 1; i >= 0 && len(names) < 5; i-- {
		names = append(names, r.done[i].Step)
	}
	s := "newest first: " + strings.Join(names, ", ")
	if len(r.done) > 5 {
		s += ", …"
	}
	return s
}

func (r *run) canSkip() error {
	if err := r.finished(); err != nil {
		return err
	}
	if err := r.busy(); err != nil {
		return err
	}
	if r.running == nil {
		if r.next != "" {
			return fmt.Errorf("no step is running: the run is %s and goes on with %s; skip acts on a running step", r.m.State(), r.next)
		}
		return fmt.Errorf("no step is running: the run is %s", r.m.State())
	}
	return nil
}

// canTransition is the transition update's validator: the machine's
// table and guards, then what the engine can do.
func (r *run) canTransition(name string) (statemachine.State, error) {
	to, err := statemachine.ParseState(strings.ToUpper(strings.TrimSpace(name)))
	if err != nil {
		return to, fmt.Errorf("%q is not a state: one of %s", name, statesList())
	}
	if err := r.finished(); err != nil {
		return to, err
	}
	st := r.m.State()
	if err := r.m.Check(to, statemachine.Cause{Step: r.m.Step(), Event: statemachine.EventManual}); err != nil {
		return to, err
	}
	switch {
	case to == statemachine.Paused:
		return to, nil
	case st == statemachine.Paused && to == r.m.Resumes():
		return to, nil
	case to.Terminal():
		return to, r.busy()
	}
	return to, fmt.Errorf("the run enters %s only by running a step of that kind: use skip or rollback to change which step runs", to)
}

func statesList() string {
	names := make([]string, 0, len(statemachine.States()))
	for _, s := range statemachine.States() {
		names = append(names, s.String())
	}
	return strings.Join(names, ", ")
}

func (r *run) transitionHandler(ctx workflow.Context, in contract.TransitionRequest) (contract.StateView, error) {
	to, err := r.canTransition(in.To)
	if err != nil {
		return r.stateView(), err
	}
	c := statemachine.Cause{Step: r.m.Step(), Event: statemachine.EventManual, Reason: in.Reason, Who: whoOf(in.Who)}
	switch {
	case to == statemachine.Paused:
		if _, err := r.m.Transition(to, c, workflow.Now(ctx)); err != nil {
			return r.stateView(), err
		}
		r.paused = true
		r.afterTransition(ctx)
		return r.stateView(), nil
	case !to.Terminal():
		if _, err := r.m.Transition(to, c, workflow.Now(ctx)); err != nil {
			return r.stateView(), err
		}
		r.paused = false
		r.afterTransition(ctx)
		return r.stateView(), nil
	case to == statemachine.Cancelled:
		reason := in.Reason
		if reason == "" {
			reason = "cancelled by transition"
		}
		r.cancelled, r.cancelWho = &reason, whoOf(in.Who)
		r.cancelStep()
		return r.stateView(), nil
	}
	return r.submit(ctx, &operation{kind: contract.UpdateTransition, to: to, reason: in.Reason, who: whoOf(in.Who)})
}

// checkModify is the modify update's validator: the new plan, compiled
// and checked, or every problem with it.
func (r *run) checkModify(in contract.ModifyRequest) (*definition.Plan, error) {
	if err := r.finished(); err != nil {
		return nil, err
	}
	if err := r.busy(); err != nil {
		return nil, err
	}
	var plan *definition.Plan
	switch {
	case len(in.Plan) > 0 && len(in.Definition) > 0:
		return nil, errors.New("give plan or definition, not both")
	case len(in.Plan) > 0:
		plan = new(definition.Plan)
		if err := json.Unmarshal(in.Plan, plan); err != nil {
			return nil, fmt.Errorf("plan: %v", err)
		}
		if err := plan.Verify(); err != nil {
			return nil, fmt.Errorf("plan: %v (send the plan as compiled, or send the definition)", err)
		}
	case len(in.Definition) > 0:
		data := []byte(in.Definition)
		var text string
		if json.Unmarshal(in.Definition, &text) == nil {
			data = []byte(text) // YAML (or JSON) in a string
		}
		doc, err := definition.Parse("modify.yaml", data)
		if err == nil {
			plan, err = definition.Compile(doc, definition.Options{})
		}
		if err != nil {
			return nil, fmt.Errorf("the new definition is refused: %v", err)
		}
	default:
		return nil, errors.New(`give the new steps: {"plan": PLAN} or {"definition": DOC}`)
	}
	var problems []string
	if plan.Name != r.plan.Name {
		problems = append(problems, fmt.Sprintf("the definition is %q, the run's is %q: modify changes steps, not which definition runs", plan.Name, r.plan.Name))
	}
	if plan.Hash == r.plan.Hash {
		problems = append(problems, "the plan is the run's plan already: nothing to change")
	}
	// Every step that has run, and the one running, stays as it is.
	kept := sortedKeys(r.steps)
	if r.running != nil {
		kept = append(kept, r.running.Name)
		kept = append(kept, r.running.Branches...)
	}
	for _, d := range r.done {
		kept = append(kept, d.Step)
	}
	slices.Sort(kept)
	for _, name := range slices.Compact(kept) {
		old, _ := r.plan.Step(name)
		nw, ok := plan.Step(name)
		switch {
		case old == nil:
		case !ok:
			problems = append(problems, fmt.Sprintf("step %s has run (or runs now): the new definition must keep it", name))
		case !sameStep(old, nw):
			problems = append(problems, fmt.Sprintf("step %s has run (or runs now): the new definition must keep it as it is", name))
		}
	}
	if r.running == nil && r.next != "" {
		if _, ok := plan.Step(r.next); !ok {
			problems = append(problems, fmt.Sprintf("the run goes on with step %s: the new definition must have it", r.next))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("the new definition is refused: %s", strings.Join(problems, "; "))
	}
	if err := (&run{plan: plan}).compile(); err != nil {
		return nil, fmt.Errorf("the new definition is refused: %v", err)
	}
	return plan, nil
}

// sameStep compares the work of two compiled steps: their routes (next,
// when, conditions) may differ, since a modify sends the run elsewhere
// after them, and so may the estimates, which follow the steps after.
func sameStep(a, b *definition.PlanStep) bool {
	x, y := *a, *b
	for _, s := range []*definition.PlanStep{&x, &y} {
		s.Remaining, s.Next, s.When, s.OnFailure, s.OnError, s.Description = 0, "", nil, "", nil, ""
	}
	ja, err1 := json.Marshal(x)
	jb, err2 := json.Marshal(y)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func (r *run) modifyHandler(ctx workflow.Context, in contract.ModifyRequest) (contract.StateView, error) {
	plan, err := r.checkModify(in)
	if err != nil {
		return r.stateView(), err
	}
	old := r.plan.Hash
	r.in.Plan = *plan
	r.plan = &r.in.Plan
	r.progs = map[string]*expression.Program{}
	if err := r.compile(); err != nil {
		return r.stateView(), err
	}
	if r.running != nil {
		if s, ok := r.plan.Step(r.running.Name); ok {
			r.running = s
		}
	}
	reason := fmt.Sprintf("plan %s → %s", old, plan.Hash)
	if in.Reason != "" {
		reason += ": " + in.Reason
	}
	if _, err := r.m.Note(statemachine.Cause{Step: r.m.Step(), Event: statemachine.EventModify, Reason: reason, Who: whoOf(in.Who)}, workflow.Now(ctx)); err != nil {
		return r.stateView(), err
	}
	r.afterTransition(ctx)
	return r.stateView(), nil
}

// applyOp applies the pending operation once the running step s (nil
// between steps) has stopped; completed says the step finished by itself
// first. It returns true with the run's end when the operation ends it.
func (r *run) applyOp(ctx workflow.Context, s *definition.PlanStep, completed bool) (bool, Result, error) {
	op := r.op
	r.current = nil
	defer func() {
		r.op = nil
		if !op.done {
			op.finish(nil)
		}
	}()
	switch op.kind {
	case contract.UpdateSkip:
		if completed || s == nil || s.Name != op.step {
			op.finish(fmt.Errorf("step %s had already finished when the skip arrived: nothing was skipped", op.step))
			return false, Result{}, nil
		}
		if f := r.skip(ctx, s, op); f != nil {
			res, err := r.finishFailed(ctx, s.Name, f)
			return true, res, err
		}
		return false, Result{}, nil
	case contract.UpdateTransition:
		step := r.m.Step()
		if s != nil {
			step = s.Name
		}
		c := statemachine.Cause{Step: step, Event: statemachine.EventManual, Reason: op.reason, Who: op.who}
		op.finish(nil)
		if op.to == statemachine.Complete {
			res, err := r.finishWith(ctx, c)
			return true, res, err
		}
		msg := "failed by transition"
		if op.reason != "" {
			msg += ": " + op.reason
		}
		res, err := r.finishFailedWith(ctx, step, &failure{Message: msg}, c)
		return true, res, err
	case contract.UpdateRollback:
		if f := r.rollback(ctx, op, s != nil && !completed); f != nil {
			op.finish(errors.New(f.String()))
			res, err := r.finishFailed(ctx, r.m.Step(), f)
			return true, res, err
		}
		return false, Result{}, nil
	}
	op.finish(fmt.Errorf("unknown operation %s", op.kind))
	return false, Result{}, nil
}

// skip ends the interrupted step s as skipped: an empty output, recorded
// as a skip with who and why, and the route of a success.
func (r *run) skip(ctx workflow.Context, s *definition.PlanStep, op *operation) *failure {
	out := map[string]any{}
	u := r.setOutput(s.Name, out)
	reason := op.reason
	if reason == "" {
		reason = "skipped by an operator"
	}
	if f := r.completeStepWith(ctx, u, s.Remaining, false, statemachine.Cause{Event: statemachine.EventSkip, Reason: reason, Who: op.who}); f != nil {
		return f
	}
	r.finishUnit(s.Name)
	r.next = r.successRoute(s, out)
	r.afterTransition(ctx)
	return nil
}

// successRoute is where a step goes after succeeding with out: the first
// `when` that holds (one that cannot be evaluated does not), else next.
func (r *run) successRoute(s *definition.PlanStep, out any) string {
	for _, ch := range s.When {
		if ok, err := r.program(ch.If, expression.Bool).EvalBool(r.vars(out, nil)); err == nil && ok {
			r.reason = fmt.Sprintf("when %s", ch.If)
			return ch.Next
		}
	}
	return s.Next
}

// rollback undoes the last op.steps completed steps (and what the
// interrupted step had done): their compensations newest first, a
// parallel group's together, then the machine back to the checkpoint
// before them, and the run goes on from the first step undone.
func (r *run) rollback(ctx workflow.Context, op *operation, interrupted bool) *failure {
	n := op.steps
	if n < 1 || n > len(r.done) {
		op.finish(fmt.Errorf("cannot roll back %d step(s): only %d completed", n, len(r.done)))
		return nil
	}
	if !interrupted {
		r.partial = doneStep{}
	}
	undone := slices.Clone(r.done[len(r.done)-n:])
	marks := r.rollbackMarks(n)
	if err := r.m.CanRollback(marks); err != nil {
		op.finish(err)
		return nil
	}
	groups := [][]string{}
	if len(r.partial.Comp) > 0 {
		groups = append(groups, r.partial.Comp)
	}
	for i := len(undone) - 1; i >= 0; i-- {
		if len(undone[i].Comp) > 0 {
			groups = append(groups, undone[i].Comp)
		}
	}
	names := make([]string, len(undone))
	for i, d := range undone {
		names[i] = d.Step
	}
	r.rolling = strings.Join(names, ", ")
	r.publish(ctx)
	// A cancel that arrives meanwhile waits for the compensations, so
	// none runs twice (the cancel compensates what is left afterwards).
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	f := r.compensate(dctx, groups, "rollback")
	r.rolling = ""
	if f != nil {
		return &failure{Type: f.Type, Message: fmt.Sprintf("rollback of %s: %s", strings.Join(names, ", "), f.Message)}
	}
	dropped := r.m.Checkpoints()
	dropped = dropped[len(dropped)-marks:]
	reason := fmt.Sprintf("rolled back %d step(s): %s", n, strings.Join(names, ", "))
	if op.reason != "" {
		reason += ": " + op.reason
	}
	target, err := r.m.RollbackWith(marks, statemachine.Cause{Reason: reason, Who: op.who}, workflow.Now(ctx))
	if err != nil {
		op.finish(err)
		return nil
	}
	if err := r.restore(target, dropped); err != nil {
		return &failure{Type: ErrTypeInternal, Message: "rollback: " + err.Error()}
	}
	r.done = r.done[:len(r.done)-n]
	r.partial = doneStep{}
	r.next = undone[0].Step
	r.reason = ""
	r.afterTransition(ctx)
	return nil
}

// restore puts the step outputs back as they were at target: runs with a
// history window undo the dropped checkpoints newest first; older runs
// keep every output in each checkpoint.
func (r *run) restore(target statemachine.Checkpoint, dropped []statemachine.Checkpoint) error {
	if r.in.HistoryWindow == 0 {
		steps := map[string]any{}
		if len(target.Data) > 0 {
			if err := json.Unmarshal(target.Data, &steps); err != nil {
				return err
			}
		}
		r.steps = steps
		return nil
	}
	for i := len(dropped) - 1; i >= 0; i-- {
		var u undo
		if err := json.Unmarshal(dropped[i].Data, &u); err != nil {
			return err
		}
		if u.Had {
			r.steps[u.Step] = u.Prev
		} else {
			delete(r.steps, u.Step)
		}
	}
	return nil
}

// compensate runs the compensations of groups in order, the steps of one
// group at once, each with its step's retry policy and timeouts. Each one
// that ran is noted in the history; the first that fails for good stops
// the rest (after its group) and is returned.
func (r *run) compensate(ctx workflow.Context, groups [][]string, why string) *failure {
	for _, group := range groups {
		works := make([]pending, len(group))
		for i, name := range group {
			works[i] = r.compensation(ctx, name)
		}
		var first *failure
		for i, name := range group {
			_, f := works[i].get(ctx)
			ev, reason := statemachine.EventCompensate, "compensated for "+why
			if f != nil {
				ev, reason = statemachine.EventCompensateFailed, "compensation failed: "+f.String()
				if first == nil {
					first = &failure{Type: f.Type, Message: fmt.Sprintf("compensation of %s failed: %s", name, f.Message)}
				}
			}
			if _, err := r.m.Note(statemachine.Cause{Step: name, Event: ev, Reason: reason}, workflow.Now(ctx)); err != nil {
				r.logger.Error("cannot note the compensation", "step", name, "err", err)
			}
		}
		r.publish(ctx)
		if first != nil {
			return first
		}
	}
	return nil
}

// compensation starts the compensate action of step name. Its input is
// the step's name, its output and the run's input.
func (r *run) compensation(ctx workflow.Context, name string) pending {
	s, ok := r.plan.Step(name)
	if !ok || s.Compensate == nil {
		return pending{fail: &failure{Type: ErrTypeInternal, Message: fmt.Sprintf("step %s has no compensation", name)}}
	}
	c := s.Compensate
	input := map[string]any{"step": name, "output": r.steps[name], "input": r.inputData()}
	return r.activityItem(ctx, s, c.Action, c.Specialist, c.Params, input, nil, 0)
}

// compensationsOnCancel are the groups a cancel compensates: what the
// running step completed, then every remembered completed step, newest
// first.
func (r *run) compensationsOnCancel() [][]string {
	var groups [][]string
	if len(r.partial.Comp) > 0 {
		groups = append(groups, r.partial.Comp)
	}
	for i := len(r.done) - 1; i >= 0; i-- {
		if len(r.done[i].Comp) > 0 {
			groups = append(groups, r.done[i].Comp)
		}
	}
	return groups
}

// awaitRunning waits until cond holds while the run is not paused, or
// until d of time not paused has passed (d == 0: no limit). It returns
// false when the time ran out. A pause stops the clock: the timer is
// cancelled and a new one counts what was left after the resume.
func (r *run) awaitRunning(ctx workflow.Context, d time.Duration, summary string, cond func() bool) (bool, error) {
	left := d
	for {
		if r.paused {
			if err := workflow.Await(ctx, func() bool { return !r.paused }); err != nil {
				return false, err
			}
		}
		if d == 0 {
			if err := workflow.Await(ctx, func() bool { return r.paused || cond() }); err != nil {
				return false, err
			}
			if r.paused {
				continue
			}
			return true, nil
		}
		if left <= 0 {
			return false, nil
		}
		start := workflow.Now(ctx)
		tctx, cancel := workflow.WithCancel(ctx)
		timer := workflow.NewTimerWithOptions(tctx, left, workflow.TimerOptions{Summary: summary})
		err := workflow.Await(ctx, func() bool { return r.paused || cond() || timer.IsReady() })
		switch {
		case err != nil:
			cancel()
			return false, err
		case cond() && !r.paused:
			cancel()
			return true, nil
		case timer.IsReady():
			return false, nil
		}
		// Paused: stop the clock; a new timer counts what is left.
		cancel()
		left -= workflow.Now(ctx).Sub(start)
	}
}

// noteRefused records a signal the run could not act on, so that a
// sender without an answer sees why in the history.
func (r *run) noteRefused(ctx workflow.Context, name, who string, err error) {
	countRefused(ctx, name, "signal")
	if _, nerr := r.m.Note(statemachine.Cause{Step: r.m.Step(), Event: statemachine.EventRefused, Reason: name + " refused: " + refusal(err), Who: whoOf(who)}, workflow.Now(ctx)); nerr == nil {
		r.afterTransition(ctx)
	}
}

// refusal is an error's message without the machine's prefix.
func refusal(err error) string {
	var te *statemachine.TransitionError
	if errors.As(err, &te) && te.Guard == "" {
		return te.Why
	}
	return err.Error()
}

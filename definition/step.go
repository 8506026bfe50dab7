package definition

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/statedriven/statedriven/expression"
)

// step validates step i and compiles it: the fields its kind allows, what
// the kind does, its input mapping, its retry policy and timeouts, then
// where it routes.
func (c *compiler) step(i int) PlanStep {
	s := &c.def.Steps[i]
	k := c.kinds[i]
	ps := PlanStep{Name: s.Name, Kind: k, Description: s.Description, Group: c.group[s.Name], Weight: 1}
	_, isBranch := c.group[s.Name]

	retryable := c.fieldsOfKind(i, k)
	c.body(i, &ps)
	if ps.Kind == KindParallel {
		c.parallel(i, &ps)
	}
	c.inputs(i, &ps)
	if retryable || isBranch {
		ps.Retry = c.retry(i, s.Retry)
		ps.Timeouts = c.timeouts(i, s.Timeouts)
	}
	if isBranch {
		c.branchRoutes(i)
		return ps
	}
	c.routes(i, &ps)
	return ps
}

// fieldsOfKind reports the fields step i sets that its kind k does not use,
// and returns whether the step runs as activities (so has a retry policy
// and timeouts).
func (c *compiler) fieldsOfKind(i int, k Kind) (retryable bool) {
	s := &c.def.Steps[i]
	c.only(i, k, KindAction, "compensate", s.Compensate != nil)
	c.only(i, k, KindAction, "parallel_with", len(s.ParallelWith) > 0)
	c.only(i, k, KindAction, "input", len(s.Input) > 0 && k != KindWorkflow && k != KindMap)
	c.only(i, k, KindAction, "params", len(s.Params) > 0 && k != KindWorkflow)
	c.only(i, k, KindFail, "error", s.Error != "")
	if s.OnBranchFailure != "" && k != KindParallel && len(s.ParallelWith) == 0 {
		c.problem(stepPath(i, "on_branch_failure"), "on_branch_failure is only for parallel steps", "remove it, or add parallel_with: or branches:")
	}
	retryable = k == KindAction || k == KindMap || k == KindParallel
	c.only(i, k, KindAction, "retry", s.Retry != nil && !retryable)
	c.only(i, k, KindAction, "timeouts", s.Timeouts != nil && !retryable)
	return retryable
}

// only reports a field set on a step of a kind it does not belong to.
func (c *compiler) only(i int, k, want Kind, field string, set bool) {
	if set && k != want && k != "" {
		c.problem(stepPath(i, field), fmt.Sprintf("%s is not used by %s steps", field, k), "remove it")
	}
}

// body compiles what step i does, by its kind.
func (c *compiler) body(i int, ps *PlanStep) {
	s := &c.def.Steps[i]
	switch ps.Kind {
	case KindAction:
		c.action(i, ps)
	case KindParallel:
		ps.Branches = s.Branches
		ps.Weight = len(s.Branches)
	case KindWait:
		ps.Wait = c.wait(i, s.Wait)
	case KindReview:
		ps.Review = c.review(i, s.Review)
	case KindMap:
		ps.Map = c.mapStep(i, s.Map)
	case KindWorkflow:
		ps.Params = s.Params
		ps.Child = c.child(i, s.Workflow)
	case KindSucceed, KindFail:
		ps.Weight = 0
		ps.Error = s.Error
		if ps.Kind == KindFail && ps.Error == "" {
			ps.Error = fmt.Sprintf("the run reached fail step %q", s.Name)
		}
	}
}

// action compiles an action step; with parallel_with (the seed's form) it
// becomes a parallel step whose own action is one more branch.
func (c *compiler) action(i int, ps *PlanStep) {
	s := &c.def.Steps[i]
	ps.Action, ps.Specialist, ps.Params = s.Action, s.Specialist, s.Params
	if ps.Action == "" {
		// The seed's form routes a step to a specialist without naming
		// an action: the specialist gets the step's name as the action.
		ps.Action = s.Name
	}
	c.actionParams(stepPath(i), ps.Action, ps.Specialist, ps.Params)
	if s.Compensate != nil {
		if s.Compensate.Action == "" {
			c.problem(stepPath(i, "compensate"), "compensate has no action", "add action: the action that undoes this step")
		}
		c.actionParams(stepPath(i, "compensate"), s.Compensate.Action, s.Compensate.Specialist, s.Compensate.Params)
		ps.Compensate = s.Compensate
	}
	if len(s.ParallelWith) > 0 {
		ps.Kind, ps.Branches = KindParallel, s.ParallelWith
		ps.Weight = len(s.ParallelWith) + 1
	}
}

// parallel checks a parallel step's on_branch_failure and the kinds of its
// branches.
func (c *compiler) parallel(i int, ps *PlanStep) {
	s := &c.def.Steps[i]
	ps.OnBranchFailure = FailFast
	switch s.OnBranchFailure {
	case "", FailFast, WaitAll, Ignore:
		if s.OnBranchFailure != "" {
			ps.OnBranchFailure = s.OnBranchFailure
		}
	default:
		c.problem(stepPath(i, "on_branch_failure"), fmt.Sprintf("unknown on_branch_failure %q", s.OnBranchFailure), "use fail_fast (the default), wait_all or ignore")
	}
	field := "branches"
	if len(s.ParallelWith) > 0 {
		field = "parallel_with"
	}
	for j, b := range ps.Branches {
		bi, ok := c.index[b]
		if !ok || c.kinds[bi] == "" {
			continue // reported already
		}
		switch c.kinds[bi] {
		case KindAction, KindMap, KindWorkflow:
		default:
			c.problem(stepPath(i, field, strconv.Itoa(j)), fmt.Sprintf("branch %q is a %s step; a branch must be an action, map or workflow step", b, c.kinds[bi]), "nest other kinds in a sub-workflow")
		}
	}
}

// inputs checks step i's input mapping: every value an expression.
func (c *compiler) inputs(i int, ps *PlanStep) {
	s := &c.def.Steps[i]
	if len(s.Input) == 0 {
		return
	}
	ps.Input = s.Input
	for _, key := range sortedKeys(s.Input) {
		c.expr(stepPath(i, "input", pointerEscape(key)), s.Input[key], expression.Any)
	}
}

// branchRoutes reports routes set on step i, a parallel branch: a branch
// runs inside its group, and the group routes.
func (c *compiler) branchRoutes(i int) {
	s := &c.def.Steps[i]
	group := c.group[s.Name]
	for _, f := range routeFields(s) {
		if f.set {
			c.problem(stepPath(i, f.name), fmt.Sprintf("step %q is a branch of parallel step %q and cannot route", s.Name, group), fmt.Sprintf("move %s: to %q", f.name, group))
		}
	}
}

// routeField is a routing field of a step and whether it is set.
type routeField struct {
	name string
	set  bool
}

// routeFields lists the fields by which step s routes, in the order
// problems about them are reported.
func routeFields(s *Step) []routeField {
	return []routeField{{"next", s.Next != ""}, {"end", s.End}, {"conditions", len(s.Conditions) > 0}, {"when", len(s.When) > 0}}
}

// expr compiles an expression, reporting at path why it does not compile
// or does not yield kind.
func (c *compiler) expr(path, src string, kind expression.Kind) {
	if _, err := c.env.Compile(src, kind); err != nil {
		msg := strings.TrimPrefix(err.Error(), expression.ErrCompile.Error()+": ")
		hint := "see the expression reference in the README"
		switch {
		case strings.Contains(msg, "undeclared reference"):
			msg = strings.TrimSuffix(msg, " (in container '')")
			hint = "an expression can use input, steps, result and item"
		case kind == expression.Bool:
			hint = "write a condition such as steps.validate.score > 0.8"
		}
		if before, _, cut := strings.Cut(msg, " expecting {"); cut {
			msg = before // CEL lists every token it could take; the place says enough
		}
		c.problem(path, "expression "+strconv.Quote(src)+": "+msg, hint)
	}
}

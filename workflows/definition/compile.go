package definition

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows/expression"
)

// MaxSubWorkflowDepth bounds how deep sub-workflows may nest.
const MaxSubWorkflowDepth = 8

// Options tune Compile.
type Options struct {
	// ReadFile reads a sub-workflow's file, named relative to the parent
	// definition's file. Nil refuses sub-workflows with a problem. Load
	// sets it to read from disk.
	ReadFile func(name string) ([]byte, error)

	stack []string // files being compiled, for cycle detection
}

// Load reads, parses, validates and compiles the definition file at path.
// A refused definition returns Problems listing everything wrong with it.
func Load(path string) (*Plan, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	doc, err := Parse(path, data)
	if doc == nil {
		return nil, err
	}
	return Compile(doc, Options{ReadFile: readLimited})
}

// readLimited reads a file without ever holding more than MaxFileSize+1
// bytes, so a huge file is refused in bounded memory.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a folder, not a definition file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		if st, err := f.Stat(); err == nil {
			return nil, Problems{{File: path, Line: 1, Column: 1, Message: fmt.Sprintf("the file is %s; a definition may be at most %s", size(int(st.Size())), size(MaxFileSize)),
				Hint: "split it into smaller definitions and call them as sub-workflows"}}
		}
	}
	return data, nil
}

var sharedEnv = sync.OnceValues(expression.NewEnv)

// Compile validates doc and compiles it into a Plan. Every problem found is
// returned at once as Problems, sorted by position.
func Compile(doc *Document, opts Options) (*Plan, error) {
	env, err := sharedEnv()
	if err != nil {
		return nil, err
	}
	c := &compiler{doc: doc, def: &doc.Definition, env: env, opts: opts, index: map[string]int{}, group: map[string]string{},
		problems: append(Problems(nil), doc.problems...)}
	plan := c.compile()
	if len(c.problems) > 0 {
		return nil, c.problems.sorted()
	}
	plan.Hash, err = plan.computeHash()
	if err != nil {
		return nil, err
	}
	return plan, nil
}

type compiler struct {
	doc      *Document
	def      *Definition
	env      *expression.Env
	opts     Options
	problems Problems

	index map[string]int    // step name → index of its first definition
	kinds []Kind            // per step; "" when it could not be told
	group map[string]string // branch step → its parallel step
}

func (c *compiler) problem(path, msg, hint string) {
	p := c.doc.position(path)
	c.problems = append(c.problems, Problem{File: c.doc.File, Line: p.line, Column: p.col, Path: path, Message: msg, Hint: hint})
}

var (
	namePattern      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,99}$`)
	idPattern        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$`)
	errorTypePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.]*$`)
)

func stepPath(i int, field ...string) string {
	p := "/steps/" + strconv.Itoa(i)
	for _, f := range field {
		p += "/" + f
	}
	return p
}

func (c *compiler) compile() *Plan {
	def := c.def
	plan := &Plan{Name: def.WorkflowID, Title: def.Name, Description: def.Description, Source: c.doc.File, Initial: def.InitialStep}
	switch {
	case def.WorkflowID == "":
		c.problem("/workflow_id", "workflow_id is missing", "add workflow_id: a short name for this definition, like order-fulfilment")
	case !idPattern.MatchString(def.WorkflowID):
		c.problem("/workflow_id", fmt.Sprintf("workflow_id %q has characters that cannot be used", def.WorkflowID), "use letters, digits, '.', '_' and '-', starting with a letter or digit")
	}
	if len(def.Steps) == 0 {
		c.problem("/steps", "the definition has no steps", "add a steps: list; see examples/sequential.yaml")
		return plan
	}
	c.names()
	c.groups()
	c.kinds = make([]Kind, len(def.Steps))
	for i := range def.Steps {
		c.kinds[i] = c.kindOf(i)
	}
	c.initial()
	plan.Steps = make([]PlanStep, len(def.Steps))
	for i := range def.Steps {
		plan.Steps[i] = c.step(i)
	}
	plan.OnEnter = c.hooks("on_enter", def.Hooks, func(h *Hooks) map[string][]Action { return h.OnEnter })
	plan.OnExit = c.hooks("on_exit", def.Hooks, func(h *Hooks) map[string][]Action { return h.OnExit })
	c.graph(plan)
	return plan
}

// names checks step names: present, well formed, unique.
func (c *compiler) names() {
	for i, s := range c.def.Steps {
		switch {
		case s.Name == "":
			if _, written := c.doc.positions[stepPath(i, "name")]; !written {
				c.problem(stepPath(i), fmt.Sprintf("step %d has no name", i+1), "add name: to it")
			}
			continue
		case !namePattern.MatchString(s.Name):
			c.problem(stepPath(i, "name"), fmt.Sprintf("step name %q has characters that cannot be used", s.Name), "use letters, digits, '_' and '-', starting with a letter")
		}
		if first, dup := c.index[s.Name]; dup {
			p := c.doc.position(stepPath(first, "name"))
			c.problem(stepPath(i, "name"), fmt.Sprintf("step name %q is used twice (first at line %d)", s.Name, p.line), "rename one of them")
			continue
		}
		c.index[s.Name] = i
	}
}

// groups finds the branch steps of parallel groups.
func (c *compiler) groups() {
	for i, s := range c.def.Steps {
		field, members := "branches", s.Branches
		if len(s.ParallelWith) > 0 {
			field, members = "parallel_with", s.ParallelWith
		}
		for j, m := range members {
			path := stepPath(i, field, strconv.Itoa(j))
			if !c.ref(path, m, "") {
				continue
			}
			switch other, taken := c.group[m]; {
			case m == s.Name:
				c.problem(path, fmt.Sprintf("step %q lists itself as a parallel branch", m), "list the other steps only")
			case taken:
				c.problem(path, fmt.Sprintf("step %q is already a branch of %q", m, other), "a step can be a branch of one group only")
			default:
				c.group[m] = s.Name
			}
		}
	}
}

// ref checks that target names a step that a route may lead to; from is the
// routing step's name ("" when the target is not a route).
func (c *compiler) ref(path, target, from string) bool {
	if target == "" {
		c.problem(path, "the step name is empty", "name a step of this definition")
		return false
	}
	if _, ok := c.index[target]; !ok {
		hint := "the steps are: " + strings.Join(c.stepNames(), ", ")
		if best := closest(target, c.stepNames()); best != "" {
			hint = fmt.Sprintf("did you mean %q?", best)
		}
		c.problem(path, fmt.Sprintf("step %q is not defined", target), hint)
		return false
	}
	if g, ok := c.group[target]; ok && from != "" {
		c.problem(path, fmt.Sprintf("step %q runs only as a branch of parallel step %q; a route cannot lead to it", target, g), fmt.Sprintf("route to %q instead", g))
		return false
	}
	return true
}

// guess is the step a route to target most likely means: target itself,
// or the nearest name for a misspelling. While a
// definition has problems, the route checks run on these guesses, so one
// misspelt name does not hide the problems behind it or add false ones.
func (c *compiler) guess(target string) string {
	if _, ok := c.index[target]; ok {
		if _, branch := c.group[target]; branch {
			return "" // reported as such; guessing the group could invent a loop
		}
		return target
	}
	return closest(target, c.stepNames())
}

func (c *compiler) stepNames() []string {
	names := make([]string, 0, len(c.index))
	for _, s := range c.def.Steps {
		if _, ok := c.index[s.Name]; ok && !slices.Contains(names, s.Name) {
			names = append(names, s.Name)
		}
	}
	return names
}

func (c *compiler) initial() {
	name := c.def.InitialStep
	if name == "" {
		first := c.def.Steps[0].Name
		c.problem("/initial_step", "initial_step is missing", fmt.Sprintf("add initial_step: %s (or the step a run starts with)", first))
		return
	}
	if c.ref("/initial_step", name, "") {
		if g, ok := c.group[name]; ok {
			c.problem("/initial_step", fmt.Sprintf("initial step %q is a branch of parallel step %q", name, g), fmt.Sprintf("start with %q instead", g))
		}
	}
}

// kindOf tells what step i does, from `type` or from the fields it sets.
func (c *compiler) kindOf(i int) Kind {
	s := &c.def.Steps[i]
	var present []Kind
	var fields []string
	add := func(set bool, k Kind, field string) {
		if set {
			if !slices.Contains(present, k) {
				present = append(present, k)
			}
			fields = append(fields, field)
		}
	}
	add(s.Action != "" || s.Specialist != "", KindAction, "action")
	add(len(s.Branches) > 0, KindParallel, "branches")
	add(s.Wait != nil, KindWait, "wait")
	add(s.Review != nil, KindReview, "review")
	add(s.Map != nil, KindMap, "map")
	add(s.Workflow != nil, KindWorkflow, "workflow")
	if len(present) > 1 {
		c.problem(stepPath(i), fmt.Sprintf("step %q sets %s: a step does one thing", s.Name, strings.Join(fields, " and ")), "split it into one step per kind")
		return ""
	}
	if s.Type != "" {
		k := Kind(s.Type)
		if !slices.Contains(kinds, k) {
			names := make([]string, len(kinds))
			for j, k := range kinds {
				names[j] = string(k)
			}
			hint := "use one of: " + strings.Join(names, ", ")
			if best := closest(s.Type, names); best != "" {
				hint = fmt.Sprintf("did you mean %q?", best)
			}
			c.problem(stepPath(i, "type"), fmt.Sprintf("unknown step type %q", s.Type), hint)
			return ""
		}
		switch {
		case len(present) == 1 && present[0] != k:
			c.problem(stepPath(i, "type"), fmt.Sprintf("step %q is of type %s but sets %s", s.Name, k, fields[0]), fmt.Sprintf("a %s step needs %s; remove type: or the field", k, needs(k)))
			return ""
		case len(present) == 0 && k != KindSucceed && k != KindFail:
			c.problem(stepPath(i, "type"), fmt.Sprintf("step %q is of type %s but does not say what to do", s.Name, k), fmt.Sprintf("a %s step needs %s", k, needs(k)))
			return ""
		}
		return k
	}
	if len(present) == 1 {
		return present[0]
	}
	if s.Error != "" {
		return KindFail
	}
	c.problem(stepPath(i), fmt.Sprintf("step %q does nothing", s.Name), "give it an action:, or a type: (succeed, fail, wait, review, map, workflow, parallel)")
	return ""
}

func needs(k Kind) string {
	switch k {
	case KindAction:
		return "action: or specialist:"
	case KindParallel:
		return "branches: (or parallel_with: on an action step)"
	case KindWait, KindReview, KindMap, KindWorkflow:
		return string(k) + ":"
	}
	return "nothing else"
}

// step validates step i and compiles it.
func (c *compiler) step(i int) PlanStep {
	s := &c.def.Steps[i]
	k := c.kinds[i]
	ps := PlanStep{Name: s.Name, Kind: k, Description: s.Description, Group: c.group[s.Name], Weight: 1}
	_, isBranch := c.group[s.Name]

	// Fields that belong to one kind only.
	c.only(i, k, KindAction, "compensate", s.Compensate != nil)
	c.only(i, k, KindAction, "parallel_with", len(s.ParallelWith) > 0)
	c.only(i, k, KindAction, "input", len(s.Input) > 0 && k != KindWorkflow)
	c.only(i, k, KindAction, "params", len(s.Params) > 0 && k != KindWorkflow)
	c.only(i, k, KindFail, "error", s.Error != "")
	if s.OnBranchFailure != "" && k != KindParallel && len(s.ParallelWith) == 0 {
		c.problem(stepPath(i, "on_branch_failure"), "on_branch_failure is only for parallel steps", "remove it, or add parallel_with: or branches:")
	}
	retryable := k == KindAction || k == KindMap || k == KindParallel
	c.only(i, k, KindAction, "retry", s.Retry != nil && !retryable)
	c.only(i, k, KindAction, "timeouts", s.Timeouts != nil && !retryable)

	switch k {
	case KindAction:
		ps.Action, ps.Specialist, ps.Params = s.Action, s.Specialist, s.Params
		if ps.Action == "" {
			// The seed's form routes a step to a specialist without naming
			// an action: the specialist gets the step's name as the action.
			ps.Action = s.Name
		}
		if s.Compensate != nil {
			if s.Compensate.Action == "" {
				c.problem(stepPath(i, "compensate"), "compensate has no action", "add action: the action that undoes this step")
			}
			ps.Compensate = s.Compensate
		}
		if len(s.ParallelWith) > 0 {
			ps.Kind, ps.Branches = KindParallel, s.ParallelWith
			ps.Weight = len(s.ParallelWith) + 1
		}
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
		if k == KindFail && ps.Error == "" {
			ps.Error = fmt.Sprintf("the run reached fail step %q", s.Name)
		}
	}
	if ps.Kind == KindParallel {
		ps.OnBranchFailure = FailFast
		switch s.OnBranchFailure {
		case "", FailFast, WaitAll, Ignore:
			if s.OnBranchFailure != "" {
				ps.OnBranchFailure = s.OnBranchFailure
			}
		default:
			c.problem(stepPath(i, "on_branch_failure"), fmt.Sprintf("unknown on_branch_failure %q", s.OnBranchFailure), "use fail_fast (the default), wait_all or ignore")
		}
		for j, b := range ps.Branches {
			if bi, ok := c.index[b]; ok && c.kinds[bi] != "" {
				switch c.kinds[bi] {
				case KindAction, KindMap, KindWorkflow:
				default:
					field := "branches"
					if len(s.ParallelWith) > 0 {
						field = "parallel_with"
					}
					c.problem(stepPath(i, field, strconv.Itoa(j)), fmt.Sprintf("branch %q is a %s step; a branch must be an action, map or workflow step", b, c.kinds[bi]), "nest other kinds in a sub-workflow")
				}
			}
		}
	}
	if len(s.Input) > 0 {
		ps.Input = s.Input
		for _, key := range sortedKeys(s.Input) {
			c.expr(stepPath(i, "input", pointerEscape(key)), s.Input[key], expression.Any)
		}
	}
	if retryable || isBranch {
		ps.Retry = c.retry(i, s.Retry)
		ps.Timeouts = c.timeouts(i, s.Timeouts)
	}
	if isBranch {
		for _, f := range []struct {
			name string
			set  bool
		}{{"next", s.Next != ""}, {"end", s.End}, {"conditions", len(s.Conditions) > 0}, {"when", len(s.When) > 0}} {
			if f.set {
				c.problem(stepPath(i, f.name), fmt.Sprintf("step %q is a branch of parallel step %q and cannot route", s.Name, c.group[s.Name]), fmt.Sprintf("move %s: to %q", f.name, c.group[s.Name]))
			}
		}
		return ps
	}
	c.routes(i, &ps)
	return ps
}

// only reports a field set on a step of a kind it does not belong to.
func (c *compiler) only(i int, k, want Kind, field string, set bool) {
	if set && k != want && k != "" {
		c.problem(stepPath(i, field), fmt.Sprintf("%s is not used by %s steps", field, k), "remove it")
	}
}

// routes resolves where the run goes after step i.
func (c *compiler) routes(i int, ps *PlanStep) {
	s := &c.def.Steps[i]
	terminal := ps.Kind == KindSucceed || ps.Kind == KindFail
	if terminal {
		for _, f := range []struct {
			name string
			set  bool
		}{{"next", s.Next != ""}, {"end", s.End}, {"conditions", len(s.Conditions) > 0}, {"when", len(s.When) > 0}} {
			if f.set {
				c.problem(stepPath(i, f.name), fmt.Sprintf("%s step %q ends the run; it cannot route", ps.Kind, s.Name), "remove "+f.name+":")
			}
		}
		return
	}
	success := s.Next
	successPath := stepPath(i, "next")
	if v, ok := s.Conditions["success"]; ok {
		if s.Next != "" {
			c.problem(stepPath(i, "conditions", "success"), "both next and conditions.success are set", "keep one of them")
		}
		success, successPath = v, stepPath(i, "conditions", "success")
	}
	switch {
	case s.End && success != "":
		c.problem(stepPath(i, "end"), "end: true and a next step are both set", "keep one of them")
	case s.End:
	case success != "":
		c.ref(successPath, success, s.Name)
		ps.Next = c.guess(success)
	default:
		ps.Next = c.following(i)
	}
	for _, key := range sortedKeys(s.Conditions) {
		target := s.Conditions[key]
		path := stepPath(i, "conditions", pointerEscape(key))
		switch key {
		case "success":
			continue
		case "failure":
			c.ref(path, target, s.Name)
			ps.OnFailure = c.guess(target)
			continue
		}
		if best := closest(key, []string{"success", "failure"}); best != "" {
			c.problem(path, fmt.Sprintf("condition %q is neither an outcome nor an error type", key), fmt.Sprintf("did you mean %q?", best))
			continue
		}
		switch {
		case ps.Kind == KindWait || ps.Kind == KindReview:
			c.problem(path, fmt.Sprintf("condition %q: %s steps have no error types, only success and failure", key, ps.Kind), "remove it")
			continue
		case !errorTypePattern.MatchString(key):
			c.problem(path, fmt.Sprintf("condition %q is not an outcome or an error type", key), "use success, failure, or an error type name like ValidationError")
			continue
		}
		c.ref(path, target, s.Name)
		if g := c.guess(target); g != "" {
			if ps.OnError == nil {
				ps.OnError = map[string]string{}
			}
			ps.OnError[key] = g
		}
	}
	for j, ch := range s.When {
		path := stepPath(i, "when", strconv.Itoa(j))
		if ch.If == "" {
			c.problem(path, "a when choice needs if:", "add if: a condition such as steps.validate.score > 0.8")
		} else {
			c.expr(path+"/if", ch.If, expression.Bool)
		}
		if ch.Next == "" {
			c.problem(path, "a when choice needs next:", "add next: the step to go to when the condition holds")
		} else {
			c.ref(path+"/next", ch.Next, s.Name)
			if g := c.guess(ch.Next); g != "" {
				ps.When = append(ps.When, Choice{If: ch.If, Next: g})
			}
		}
	}
}

// following is the step after i in the list that is neither a branch nor
// a fail step, or "" (the run ends in COMPLETE) when there is none. A run
// never fails by falling into a fail step written below the last one.
func (c *compiler) following(i int) string {
	for j, s := range c.def.Steps[i+1:] {
		_, branch := c.group[s.Name]
		if !branch && s.Name != "" && c.kinds[i+1+j] != KindFail {
			return s.Name
		}
	}
	return ""
}

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

func (c *compiler) positive(path string, d Duration, what string) {
	if d.Set && d.D == 0 {
		c.problem(path, what+" is zero", "give a duration above zero, or leave it out")
	}
}

func (c *compiler) wait(i int, w *Wait) *Wait {
	path := stepPath(i, "wait")
	switch {
	case w.Duration.Set && w.Signal != "":
		c.problem(path, "wait sets both duration and signal", "wait for one of them; use signal with timeout to bound the wait")
	case !w.Duration.Set && w.Signal == "":
		c.problem(path, "wait needs a duration or a signal", "add duration: 10m, or signal: NAME")
	}
	c.positive(path+"/duration", w.Duration, "the wait's duration")
	c.positive(path+"/timeout", w.Timeout, "the wait's timeout")
	if w.Duration.Set && (w.Timeout.Set || w.OnTimeout != "") {
		c.problem(path+"/timeout", "timeout applies only to a wait for a signal", "remove it")
	}
	switch strings.ToLower(w.Signal) {
	case "pause", "resume", "cancel":
		c.problem(path+"/signal", fmt.Sprintf("signal %q is the run's own control signal", w.Signal), "choose another name")
	}
	c.timeoutTarget(i, path, w.Timeout, w.OnTimeout)
	return w
}

func (c *compiler) review(i int, r *Review) *Review {
	path := stepPath(i, "review")
	c.positive(path+"/timeout", r.Timeout, "the review's timeout")
	c.timeoutTarget(i, path, r.Timeout, r.OnTimeout)
	return r
}

func (c *compiler) timeoutTarget(i int, path string, timeout Duration, target string) {
	if target == "" {
		return
	}
	if !timeout.Set {
		c.problem(path+"/on_timeout", "on_timeout is set but there is no timeout", "add timeout: 24h (or how long to wait)")
		return
	}
	c.ref(path+"/on_timeout", target, c.def.Steps[i].Name)
}

func (c *compiler) mapStep(i int, m *Map) *PlanMap {
	path := stepPath(i, "map")
	pm := &PlanMap{Items: m.Items, Action: m.Action, Specialist: m.Specialist, Params: m.Params, Concurrency: m.Concurrency}
	if m.Items == "" {
		c.problem(path, "map needs items:", "add items: an expression giving a list, such as input.orders")
	} else {
		c.expr(path+"/items", m.Items, expression.List)
	}
	if m.Action == "" {
		c.problem(path, "map needs action:", "add action: the action to run for each item")
	}
	switch {
	case m.Concurrency < 0:
		c.problem(path+"/concurrency", fmt.Sprintf("concurrency %d is negative", m.Concurrency), "give 1 or more, or leave it out for 10")
	case m.Concurrency == 0:
		pm.Concurrency = DefaultConcurrency
	}
	return pm
}

func (c *compiler) child(i int, w *SubWorkflow) *Plan {
	path := stepPath(i, "workflow", "file")
	if w.File == "" {
		c.problem(stepPath(i, "workflow"), "workflow needs file:", "add file: the definition to run as a sub-workflow, relative to this file")
		return nil
	}
	if c.opts.ReadFile == nil {
		c.problem(path, "sub-workflows can be read only when the definition is loaded from a file", "compile it with definition.Load")
		return nil
	}
	name := w.File
	if !filepath.IsAbs(name) {
		name = filepath.Join(filepath.Dir(c.doc.File), name)
	}
	stack := append(slices.Clone(c.opts.stack), filepath.Clean(c.doc.File))
	if slices.Contains(stack, filepath.Clean(name)) {
		c.problem(path, "sub-workflows call each other in a cycle: "+strings.Join(append(stack, name), " → "), "break the cycle")
		return nil
	}
	if len(stack) > MaxSubWorkflowDepth {
		c.problem(path, fmt.Sprintf("sub-workflows nest deeper than %d levels", MaxSubWorkflowDepth), "flatten them")
		return nil
	}
	data, err := c.opts.ReadFile(name)
	if err != nil {
		var ps Problems
		switch {
		case errors.As(err, &ps):
			c.problems = append(c.problems, ps...)
		case errors.Is(err, fs.ErrNotExist):
			c.problem(path, fmt.Sprintf("sub-workflow file %s does not exist", name), "the path is relative to "+c.doc.File)
		default:
			c.problem(path, fmt.Sprintf("cannot read sub-workflow: %v", err), "")
		}
		return nil
	}
	doc, err := Parse(name, data)
	if doc != nil {
		var plan *Plan
		plan, err = Compile(doc, Options{ReadFile: c.opts.ReadFile, stack: stack})
		if err == nil {
			plan.Source = w.File
			return plan
		}
	}
	var ps Problems
	if errors.As(err, &ps) {
		c.problems = append(c.problems, ps...)
	} else {
		c.problem(path, err.Error(), "")
	}
	return nil
}

// retry resolves step i's retry policy: the step's fields, else the
// definition's defaults, else the built-in defaults.
func (c *compiler) retry(i int, own *Retry) *RetryPolicy {
	r := DefaultRetry
	r.NonRetryableErrors = nil
	layers := []struct {
		path string
		r    *Retry
	}{{"/defaults/retry", nil}, {stepPath(i, "retry"), own}}
	if c.def.Defaults != nil {
		layers[0].r = c.def.Defaults.Retry
	}
	explicitMax := false
	var where = map[string]string{}
	for _, l := range layers {
		if l.r == nil {
			continue
		}
		if l.r.InitialInterval.Set {
			r.InitialInterval, where["initial_interval"] = l.r.InitialInterval, l.path+"/initial_interval"
		}
		if l.r.BackoffCoefficient != nil {
			r.BackoffCoefficient, where["backoff_coefficient"] = *l.r.BackoffCoefficient, l.path+"/backoff_coefficient"
		}
		if l.r.MaximumInterval.Set {
			r.MaximumInterval, where["maximum_interval"] = l.r.MaximumInterval, l.path+"/maximum_interval"
			explicitMax = true
		}
		if l.r.MaximumAttempts != nil {
			r.MaximumAttempts, where["maximum_attempts"] = *l.r.MaximumAttempts, l.path+"/maximum_attempts"
		}
		if l.r.NonRetryableErrors != nil {
			r.NonRetryableErrors, where["non_retryable_errors"] = l.r.NonRetryableErrors, l.path+"/non_retryable_errors"
		}
	}
	if !explicitMax && r.InitialInterval.D > 0 {
		// Temporal's rule: the maximum interval defaults to 100 × initial.
		r.MaximumInterval = Duration{D: 100 * r.InitialInterval.D, Set: true}
	}
	// A problem in the defaults is reported once, by the first step.
	report := func(field, msg, hint string) {
		p := where[field]
		if strings.HasPrefix(p, "/defaults") && c.reportedDefault(p) {
			return
		}
		c.problem(p, msg, hint)
	}
	if r.InitialInterval.D == 0 {
		report("initial_interval", "initial_interval is zero", "give a duration above zero, like 1s")
	}
	if r.BackoffCoefficient < 1 {
		report("backoff_coefficient", fmt.Sprintf("backoff_coefficient %v is below 1", r.BackoffCoefficient), "use 1 for a constant interval, 2 to double each time")
	}
	if r.MaximumInterval.D < r.InitialInterval.D && r.InitialInterval.D > 0 {
		report("maximum_interval", fmt.Sprintf("maximum_interval %s is shorter than initial_interval %s", r.MaximumInterval, r.InitialInterval), "raise it or leave it out")
	}
	if r.MaximumAttempts < 0 {
		report("maximum_attempts", fmt.Sprintf("maximum_attempts %d is negative", r.MaximumAttempts), "give 1 for no retries, 0 for no limit")
	}
	for j, e := range r.NonRetryableErrors {
		if e == "" {
			report("non_retryable_errors", fmt.Sprintf("non_retryable_errors[%d] is empty", j), "name an error type")
		}
	}
	return &r
}

func (c *compiler) timeouts(i int, own *Timeouts) *ActivityTimeouts {
	t := ActivityTimeouts{}
	layers := []struct {
		path string
		t    *Timeouts
	}{{"/defaults/timeouts", nil}, {stepPath(i, "timeouts"), own}}
	if c.def.Defaults != nil {
		layers[0].t = c.def.Defaults.Timeouts
	}
	where := map[string]string{}
	for _, l := range layers {
		if l.t == nil {
			continue
		}
		for _, f := range []struct {
			name string
			src  Duration
			dst  *Duration
		}{{"start_to_close", l.t.StartToClose, &t.StartToClose}, {"schedule_to_close", l.t.ScheduleToClose, &t.ScheduleToClose}, {"heartbeat", l.t.Heartbeat, &t.Heartbeat}} {
			if f.src.Set {
				*f.dst, where[f.name] = f.src, l.path+"/"+f.name
			}
		}
	}
	report := func(field, msg, hint string) {
		p := where[field]
		if strings.HasPrefix(p, "/defaults") && c.reportedDefault(p) {
			return
		}
		c.problem(p, msg, hint)
	}
	for _, f := range []struct {
		name string
		d    Duration
	}{{"start_to_close", t.StartToClose}, {"schedule_to_close", t.ScheduleToClose}, {"heartbeat", t.Heartbeat}} {
		if f.d.Set && f.d.D == 0 {
			report(f.name, f.name+" is zero", "give a duration above zero, or leave it out")
		}
	}
	if !t.StartToClose.Set && !t.ScheduleToClose.Set {
		t.StartToClose = DefaultTimeouts.StartToClose
	}
	if t.ScheduleToClose.Set && t.StartToClose.Set && t.ScheduleToClose.D < t.StartToClose.D && t.ScheduleToClose.D > 0 {
		report("schedule_to_close", fmt.Sprintf("schedule_to_close %s is shorter than start_to_close %s", t.ScheduleToClose, t.StartToClose), "schedule_to_close covers all attempts; make it longer")
	}
	if t.Heartbeat.Set && t.Heartbeat.D > 0 && t.StartToClose.Set && t.Heartbeat.D >= t.StartToClose.D {
		report("heartbeat", fmt.Sprintf("heartbeat %s is not shorter than start_to_close %s", t.Heartbeat, t.StartToClose), "a heartbeat timeout must be shorter than the attempt it watches")
	}
	return &t
}

// reportedDefault remembers problems in /defaults so that they are
// reported once, not once per step.
func (c *compiler) reportedDefault(path string) bool {
	for _, p := range c.problems {
		if p.Path == path {
			return true
		}
	}
	return false
}

func (c *compiler) hooks(field string, h *Hooks, get func(*Hooks) map[string][]Action) map[string][]Action {
	if h == nil {
		return nil
	}
	m := get(h)
	if len(m) == 0 {
		return nil
	}
	out := map[string][]Action{}
	var states []string
	for _, s := range statemachine.States() {
		states = append(states, s.String())
	}
	for _, key := range sortedKeys(m) {
		path := "/hooks/" + field + "/" + pointerEscape(key)
		st, err := statemachine.ParseState(key)
		if err != nil {
			hint := "use one of: " + strings.Join(states, ", ")
			if best := closest(key, states); best != "" {
				hint = fmt.Sprintf("did you mean %q?", best)
			}
			c.problem(path, fmt.Sprintf("%q is not a state", key), hint)
			continue
		}
		for j, a := range m[key] {
			if a.Action == "" {
				c.problem(path+"/"+strconv.Itoa(j), "hook has no action", "add action: the action to run")
			}
		}
		out[st.String()] = m[key]
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

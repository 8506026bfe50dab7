package definition

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"sync"

	"github.com/statedriven/statedriven/expression"
)

// sharedEnv is the CEL environment every compile shares: building one is
// the expensive part of compiling expressions.
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
	if size, err := plan.size(); err != nil {
		return nil, err
	} else if size > MaxPlanBytes {
		c.problem("", fmt.Sprintf("the compiled plan is %d bytes, over the %d a run can carry: every run's input holds its plan (sub-workflows included), and Temporal refuses a payload over 2 MB", size, MaxPlanBytes),
			"make the definition smaller: fewer or shorter steps, params and expressions")
		return nil, c.problems.sorted()
	}
	return plan, nil
}

// MaxPlanBytes is the largest compiled plan (as JSON) a definition may
// have. A run's input carries its plan and its data, and crosses
// continue-as-new with its state; Temporal refuses a payload over 2 MB, so
// the plan gets half of it and leaves the rest to the rest.
const MaxPlanBytes = 1 << 20

// size is the plan's size as JSON, as it travels in a run's input.
func (p *Plan) size() (int, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return 0, fmt.Errorf("encode the plan: %w", err)
	}
	return len(b), nil
}

// compiler holds what one Compile learns as it goes: the problems so far,
// and the names, kinds and groups of the steps that later checks consult.
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

// problem records a problem at the JSON pointer path, located at the
// value written there (or the nearest enclosing one).
func (c *compiler) problem(path, msg, hint string) {
	p := c.doc.position(path)
	c.problems = append(c.problems, Problem{File: c.doc.File, Line: p.line, Column: p.col, Path: path, Message: msg, Hint: hint})
}

// What names may be: step names, workflow_ids and error types.
var (
	namePattern      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,99}$`)
	idPattern        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$`)
	errorTypePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.]*$`)
)

// stepPath is the JSON pointer of step i, or of a field under it.
func stepPath(i int, field ...string) string {
	p := "/steps/" + strconv.Itoa(i)
	for _, f := range field {
		p += "/" + f
	}
	return p
}

// compile runs the checks in dependency order: names first (routes and
// branches are checked against them), then the kind of every step (a
// parallel step checks its branches' kinds), then each step with its
// routes, the hooks, and last the graph of routes as a whole.
func (c *compiler) compile() *Plan {
	def := c.def
	plan := &Plan{Name: def.WorkflowID, Title: def.Name, Description: def.Description, Source: c.doc.File, Initial: def.InitialStep}
	switch {
	case def.WorkflowID == "":
		c.problem("/workflow_id", "workflow_id is missing", "add workflow_id: a short name for this definition, like order-fulfilment")
	case !idPattern.MatchString(def.WorkflowID):
		c.problem("/workflow_id", fmt.Sprintf("workflow_id %q has characters that cannot be used", def.WorkflowID), "use letters, digits, '.', '_' and '-', starting with a letter or digit")
	}
	plan.InputSchema = c.inputSchema()
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

// sortedKeys returns m's keys in order: compile output and problems must
// not depend on map order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

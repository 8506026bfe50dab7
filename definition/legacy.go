package definition

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// The kinds of task list the old system's integration layer took
// (create_workflow(KIND, DATA)).
const (
	LegacySequential  = "sequential"
	LegacyParallel    = "parallel"
	LegacyConditional = "conditional"
)

// LegacyKinds lists the kinds ConvertLegacy accepts.
var LegacyKinds = []string{LegacySequential, LegacyParallel, LegacyConditional}

// The names of the steps a conversion adds around the tasks: the parallel
// step whose branches are the tasks, and the step that evaluates a
// conditional's condition. A task of the same name is a duplicate.
const (
	LegacyParallelStep  = "parallel"
	LegacyConditionStep = "condition"
)

// ErrLegacyKind is returned for a task-list kind ConvertLegacy does not know.
var ErrLegacyKind = errors.New("unknown task list kind")

// LegacyOptions tune ConvertLegacy.
type LegacyOptions struct {
	// File is the name used in problems (the task list's path as given).
	File string
	// WorkflowID is the generated definition's workflow_id; empty means
	// legacy-KIND.
	WorkflowID string
}

// Legacy is a converted task list: a Document the normal compiler takes,
// and for each of its steps the place in the task list it came from, so
// that problems point at the task list rather than at a file nobody wrote.
type Legacy struct {
	// Kind is the task list's kind.
	Kind string
	// Document is the generated definition; its positions are those of
	// the task list's values.
	Document *Document

	anchors []anchor // per step of Document.Definition.Steps
	extra   []yamlExtra
}

// anchor is where step i came from: a JSON pointer in the task list and
// whether the step's own fields sit under it (a task written as an object)
// or the whole step is that one value (a bare string task, an added step).
type anchor struct {
	path   string
	fields bool
}

// yamlExtra keeps what YAML output shows as written: a task's retry.
type yamlExtra struct {
	retry any
}

// legacyTask is a task written as an object: the fields of a definition's
// step that a task list may carry.
type legacyTask struct {
	Name       string         `yaml:"name"`
	Action     string         `yaml:"action"`
	Specialist string         `yaml:"specialist"`
	Params     map[string]any `yaml:"params"`
	Retry      *Retry         `yaml:"retry"`
}

// ConvertLegacy converts the old system's task list data (JSON, or the
// YAML it is) of the given kind into a definition:
//
//   - sequential {"task_chain": [TASK…]}: the tasks in order;
//   - parallel {"tasks": [TASK…]}: one parallel step named "parallel" whose
//     branches are the tasks, then the end;
//   - conditional {"condition": EXPR, "if_true": [TASK…], "if_false":
//     [TASK…]}: a step named "condition" (the built-in log action) whose
//     when: choice, EXPR (CEL over input), routes to the first task of
//     if_true, otherwise to the first of if_false; each list runs in order
//     and ends the run.
//
// A TASK is an object with name, action and/or specialist, and optional
// params and retry (as a step's), or a string naming a step that runs the
// action of that name.
//
// The error is ErrLegacyKind (wrapped) for an unknown kind, Problems when
// the data is not a mapping at all; problems of the tasks themselves are
// kept in the Document and reported, with all others, by Compile.
func ConvertLegacy(kind string, data []byte, opts LegacyOptions) (*Legacy, error) {
	if !slices.Contains(LegacyKinds, kind) {
		return nil, fmt.Errorf("%w %q: use %s", ErrLegacyKind, kind, strings.Join(LegacyKinds, ", "))
	}
	d := &decoder{file: opts.File, positions: map[string]pos{}}
	root, ok := d.legacyRoot(data)
	if !ok {
		return nil, d.problems.sorted()
	}
	id := opts.WorkflowID
	if id == "" {
		id = "legacy-" + kind
	}
	cv := &converter{d: d, kind: kind}
	fields := cv.fields(root)
	def := Definition{WorkflowID: id, Name: "Converted " + kind + " task list"}
	switch kind {
	case LegacySequential:
		tasks := cv.list(fields, "task_chain", true)
		cv.chain(tasks)
	case LegacyParallel:
		cv.parallel(fields)
	case LegacyConditional:
		cv.conditional(fields)
	}
	if len(cv.steps) > 0 {
		def.InitialStep = cv.steps[0].Name
	}
	def.Steps = cv.steps
	doc := &Document{File: opts.File, Definition: def, positions: cv.positions(), problems: d.problems}
	return &Legacy{Kind: kind, Document: doc, anchors: cv.anchors, extra: cv.extra}, nil
}

// legacyRoot reads data as one mapping, with the limits of a definition
// file.
func (d *decoder) legacyRoot(data []byte) (*yaml.Node, bool) {
	start := pos{1, 1}
	if len(data) > MaxFileSize {
		d.problem(start, "", fmt.Sprintf("the file is %s; a task list may be at most %s", size(len(data)), size(MaxFileSize)), "split it")
		return nil, false
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		d.problem(start, "", "the file is empty", "give the task list as a JSON object, like {\"task_chain\": [\"log\"]}")
		return nil, false
	}
	var node yaml.Node
	if err := yaml.Unmarshal(data, &node); err != nil {
		d.syntax(err)
		return nil, false
	}
	if node.Kind != yaml.DocumentNode || len(node.Content) == 0 || node.Content[0].Kind != yaml.MappingNode {
		d.problem(start, "", "a task list is a JSON object", "give it as {\"task_chain\": [...]}, {\"tasks\": [...]} or {\"condition\": ..., \"if_true\": [...], \"if_false\": [...]}")
		return nil, false
	}
	return node.Content[0], true
}

// converter builds the steps of one conversion.
type converter struct {
	d       *decoder
	kind    string
	steps   []Step
	anchors []anchor
	extra   []yamlExtra
}

// legacyFields are the top-level fields each kind takes.
var legacyFields = map[string][]string{
	LegacySequential:  {"task_chain"},
	LegacyParallel:    {"tasks"},
	LegacyConditional: {"condition", "if_true", "if_false"},
}

// fields returns the top-level values by key, reporting unknown and
// repeated keys.
func (cv *converter) fields(root *yaml.Node) map[string]*yaml.Node {
	known := legacyFields[cv.kind]
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		path := "/" + pointerEscape(k.Value)
		switch {
		case !slices.Contains(known, k.Value):
			hint := "a " + cv.kind + " task list has " + strings.Join(known, ", ")
			if other := legacyKindOf(k.Value); other != "" {
				hint = fmt.Sprintf("%s belongs to a %s task list: convert it with --legacy %s", k.Value, other, other)
			}
			cv.d.problem(pos{k.Line, k.Column}, path, fmt.Sprintf("unknown field %q", k.Value), hint)
		case out[k.Value] != nil:
			cv.d.problem(pos{k.Line, k.Column}, path, fmt.Sprintf("field %q is written twice", k.Value), "keep one")
		default:
			out[k.Value] = v
			cv.d.positions[path] = pos{v.Line, v.Column}
		}
	}
	cv.d.positions[""] = pos{root.Line, root.Column}
	return out
}

func legacyKindOf(field string) string {
	for _, kind := range LegacyKinds {
		if slices.Contains(legacyFields[kind], field) {
			return kind
		}
	}
	return ""
}

// list decodes the task list under key into steps (not yet added), each
// with its anchor; a missing or empty required list is a problem.
func (cv *converter) list(fields map[string]*yaml.Node, key string, required bool) []task {
	path := "/" + key
	n, ok := fields[key]
	if !ok || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		if required {
			cv.d.problem(pos{1, 1}, path, key+" is missing", fmt.Sprintf("add %q: the list of tasks", key))
		}
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		cv.d.problem(pos{n.Line, n.Column}, path, "expected a list of tasks, got "+describe(n), "write it as [\"task\", {\"name\": ..., \"action\": ...}]")
		return nil
	}
	if len(n.Content) == 0 && required {
		cv.d.problem(pos{n.Line, n.Column}, path, key+" is empty", "add at least one task")
	}
	var tasks []task
	for i, t := range n.Content {
		if tk, ok := cv.task(t, path+"/"+strconv.Itoa(i)); ok {
			tasks = append(tasks, tk)
		}
	}
	return tasks
}

// task is one decoded task and where it was written.
type task struct {
	step   Step
	anchor anchor
	at     pos
	retry  any
}

// task decodes one task; ok is false when it cannot become a step (no
// name, nothing to run), the problem reported.
func (cv *converter) task(n *yaml.Node, path string) (task, bool) {
	at := pos{n.Line, n.Column}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		if strings.TrimSpace(n.Value) == "" {
			cv.d.problem(at, path, "the task is an empty string", "name the action to run, like \"log\"")
			return task{}, false
		}
		cv.d.positions[path] = at
		return task{step: Step{Name: n.Value, Action: n.Value}, anchor: anchor{path: path}, at: at}, true
	}
	if n.Kind != yaml.MappingNode {
		cv.d.problem(at, path, "a task is a string or an object, got "+describe(n), "write \"log\" or {\"name\": \"greet\", \"action\": \"log\"}")
		return task{}, false
	}
	var lt legacyTask
	cv.d.decode(n, reflect.ValueOf(&lt).Elem(), path, 1)
	t := task{step: Step{Name: lt.Name, Action: lt.Action, Specialist: lt.Specialist, Params: lt.Params, Retry: lt.Retry},
		anchor: anchor{path: path, fields: true}, at: at}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "retry" {
			_ = n.Content[i+1].Decode(&t.retry) // decoded strictly above; this keeps it as written for YAML output
		}
	}
	ok := true
	_, named := cv.d.positions[path+"/name"]
	switch {
	case !named:
		cv.d.problem(at, path, "the task has no name", "add \"name\": the step's name, or write the task as a string naming its action")
	case strings.TrimSpace(lt.Name) == "" && !cv.d.reported(path+"/name"):
		cv.d.problem(cv.d.positions[path+"/name"], path+"/name", "the task's name is empty", "give it a name of letters, digits, '_' and '-', starting with a letter")
	}
	if strings.TrimSpace(lt.Name) == "" {
		ok = false
	}
	if lt.Action == "" && lt.Specialist == "" {
		ok = false
		if !cv.d.reported(path+"/action") && !cv.d.reported(path+"/specialist") {
			cv.d.problem(at, path, fmt.Sprintf("task %q has neither action nor specialist", lt.Name), "add \"action\": the action to run (or \"specialist\": the specialist that runs it)")
		}
	}
	return t, ok
}

// add appends a step with its anchor. A task whose name an earlier step
// has is reported and left out: two steps of one name would only add
// problems about routes that follow from the clash.
func (cv *converter) add(s Step, a anchor, retry any) {
	if j := slices.IndexFunc(cv.steps, func(o Step) bool { return o.Name == s.Name }); j >= 0 {
		first := cv.anchors[j].path
		what := "the task at " + first
		if first == "/tasks" || first == "/condition" {
			what = "the step the conversion adds for " + strings.TrimPrefix(first, "/")
		}
		path := a.path
		if a.fields {
			path += "/name"
		}
		cv.d.problem(cv.d.position(path), path, fmt.Sprintf("task name %q is used twice: %s has it too", s.Name, what),
			fmt.Sprintf("rename this one, like {\"name\": %q, \"action\": %q}", s.Name+"_2", cmp.Or(s.Action, s.Specialist)))
		return
	}
	cv.steps = append(cv.steps, s)
	cv.anchors = append(cv.anchors, a)
	cv.extra = append(cv.extra, yamlExtra{retry: retry})
}

// chain adds tasks to run in order, the last one ending the run.
func (cv *converter) chain(tasks []task) {
	for i, t := range tasks {
		if i == len(tasks)-1 {
			t.step.End = true
		}
		cv.add(t.step, t.anchor, t.retry)
	}
}

// parallel adds the parallel step, then its branches.
func (cv *converter) parallel(fields map[string]*yaml.Node) {
	tasks := cv.list(fields, "tasks", true)
	if len(tasks) == 0 {
		return
	}
	cv.add(Step{Name: LegacyParallelStep, Type: string(KindParallel), End: true}, anchor{path: "/tasks"}, nil)
	for _, t := range tasks {
		cv.add(t.step, t.anchor, t.retry)
	}
	for _, s := range cv.steps[1:] {
		cv.steps[0].Branches = append(cv.steps[0].Branches, s.Name)
	}
}

// conditional adds the condition step, then the if_true chain, then the
// if_false chain.
func (cv *converter) conditional(fields map[string]*yaml.Node) {
	cond := ""
	if n, ok := fields["condition"]; !ok {
		cv.d.problem(pos{1, 1}, "/condition", "condition is missing", "add \"condition\": a CEL expression over input, like input.amount > 100")
	} else if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		cv.d.problem(pos{n.Line, n.Column}, "/condition", "expected the condition as a string, got "+describe(n), "write a CEL expression over input, like \"input.amount > 100\"")
	} else if strings.TrimSpace(n.Value) == "" {
		cv.d.problem(pos{n.Line, n.Column}, "/condition", "the condition is empty", "write a CEL expression over input, like \"input.amount > 100\"")
	} else {
		cond = n.Value
	}
	yes := cv.list(fields, "if_true", false)
	no := cv.list(fields, "if_false", false)
	if len(yes) == 0 && len(no) == 0 {
		cv.d.problem(pos{1, 1}, "/if_true", "both if_true and if_false are empty or missing", "add the tasks to run when the condition holds (if_true) or not (if_false)")
		return
	}
	c := Step{Name: LegacyConditionStep, Action: "log", Params: map[string]any{"message": "condition: " + cond}}
	if cond != "" {
		switch {
		case len(yes) > 0 && len(no) > 0:
			c.When = []Choice{{If: cond, Next: yes[0].step.Name}}
			c.Next = no[0].step.Name
		case len(yes) > 0:
			c.When = []Choice{{If: cond, Next: yes[0].step.Name}}
			c.End = true
		default:
			c.When = []Choice{{If: "!(" + cond + ")", Next: no[0].step.Name}}
			c.End = true
		}
	}
	cv.add(c, anchor{path: "/condition"}, nil)
	cv.chain(yes)
	cv.chain(no)
}

// positions maps the generated steps' JSON pointers to the task list's
// positions: a task written as an object has its fields' positions, any
// other step is located at its anchor.
func (cv *converter) positions() map[string]pos {
	out := map[string]pos{"": cv.d.positions[""]}
	for i, a := range cv.anchors {
		step := stepPath(i)
		out[step] = cv.d.position(a.path)
		if !a.fields {
			continue
		}
		for p, at := range cv.d.positions {
			if rest, ok := strings.CutPrefix(p, a.path+"/"); ok {
				out[step+"/"+rest] = at
			}
		}
	}
	return out
}

// reported tells whether a problem was reported at path.
func (d *decoder) reported(path string) bool {
	return slices.ContainsFunc(d.problems, func(p Problem) bool { return p.Path == path })
}

// position is the position of path or of the nearest enclosing value.
func (d *decoder) position(path string) pos {
	doc := Document{positions: d.positions}
	return doc.position(path)
}

// Compile compiles the converted definition like a definition file; the
// problems' paths point into the task list ("/task_chain/2/retry"), and
// their lines and columns are the task list's.
func (l *Legacy) Compile(opts Options) (*Plan, error) {
	if len(l.Document.Definition.Steps) == 0 {
		// Nothing became a step: the conversion said why.
		ps := l.Document.problems
		if len(ps) == 0 {
			ps = Problems{{File: l.Document.File, Line: 1, Column: 1, Message: "the task list has no tasks", Hint: "add tasks to it"}}
		}
		return nil, ps.sorted()
	}
	plan, err := Compile(l.Document, opts)
	var ps Problems
	if !errors.As(err, &ps) {
		return plan, err
	}
	out := make(Problems, 0, len(ps))
	for _, p := range ps {
		p.Path = l.taskPath(p.Path)
		if p.Path == "/condition" && strings.HasPrefix(p.Hint, "write a condition") {
			p.Hint = "write a condition over input, such as input.amount > 100"
		}
		if !slices.Contains(out, p) { // two steps' problems can land on one anchor
			out = append(out, p)
		}
	}
	return nil, out
}

// taskPath maps a JSON pointer into the generated definition back to the
// task list.
func (l *Legacy) taskPath(path string) string {
	rest, ok := strings.CutPrefix(path, "/steps/")
	if !ok {
		if path == "/steps" || path == "/initial_step" {
			return ""
		}
		return path
	}
	num, field, _ := strings.Cut(rest, "/")
	i, err := strconv.Atoi(num)
	if err != nil || i < 0 || i >= len(l.anchors) {
		return path
	}
	a := l.anchors[i]
	if a.fields && field != "" {
		return a.path + "/" + field
	}
	return a.path
}

// YAML renders the converted definition as a definition file that
// validate accepts as is (when Compile does).
func (l *Legacy) YAML() ([]byte, error) {
	def := l.Document.Definition
	out := yamlDefinition{
		WorkflowID:  def.WorkflowID,
		Name:        def.Name,
		InitialStep: def.InitialStep,
	}
	for i, s := range def.Steps {
		out.Steps = append(out.Steps, yamlStep{
			Name: s.Name, Type: s.Type, Action: s.Action, Specialist: s.Specialist, Params: s.Params,
			Branches: s.Branches, When: s.When, Next: s.Next, End: s.End, Retry: l.extra[i].retry,
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Converted from a %s task list", l.Kind)
	if l.Document.File != "" {
		fmt.Fprintf(&b, " (%s)", filepath.Base(l.Document.File))
	}
	b.WriteString(" by starter convert --legacy.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("render the definition: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render the definition: %w", err)
	}
	return []byte(b.String()), nil
}

// yamlDefinition and yamlStep are the fields a converted definition sets,
// in the order a definition file writes them.
type yamlDefinition struct {
	WorkflowID  string     `yaml:"workflow_id"`
	Name        string     `yaml:"name,omitempty"`
	InitialStep string     `yaml:"initial_step"`
	Steps       []yamlStep `yaml:"steps"`
}

type yamlStep struct {
	Name       string         `yaml:"name"`
	Type       string         `yaml:"type,omitempty"`
	Action     string         `yaml:"action,omitempty"`
	Specialist string         `yaml:"specialist,omitempty"`
	Params     map[string]any `yaml:"params,omitempty"`
	Branches   []string       `yaml:"branches,omitempty"`
	When       []Choice       `yaml:"when,omitempty"`
	Next       string         `yaml:"next,omitempty"`
	End        bool           `yaml:"end,omitempty"`
	Retry      any            `yaml:"retry,omitempty"`
}

// LoadLegacy reads the task list of the given kind at path, converts it
// and compiles it. It returns the conversion too (for its YAML); a
// refused task list returns Problems listing everything wrong with it.
func LoadLegacy(kind, path string, lopts LegacyOptions, opts Options) (*Legacy, *Plan, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, nil, err
	}
	lopts.File = path
	l, err := ConvertLegacy(kind, data, lopts)
	if err != nil {
		return nil, nil, err
	}
	plan, err := l.Compile(opts)
	return l, plan, err
}

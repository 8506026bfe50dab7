package definition_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/definition"
)

// convert converts and compiles a task list given as text.
func convert(t *testing.T, kind, data string) (*definition.Legacy, *definition.Plan, error) {
	t.Helper()
	l, err := definition.ConvertLegacy(kind, []byte(data), definition.LegacyOptions{File: "tasks.json"})
	require.NoError(t, err)
	plan, err := l.Compile(definition.Options{})
	return l, plan, err
}

// legacyProblems converts a task list that must be refused and returns
// its problems, one formatted per line.
func legacyProblems(t *testing.T, kind, data string) []string {
	t.Helper()
	_, plan, err := convert(t, kind, data)
	require.Nil(t, plan)
	var ps definition.Problems
	require.True(t, errors.As(err, &ps), "want Problems, got %T: %v", err, err)
	lines := make([]string, len(ps))
	for i, p := range ps {
		require.Positive(t, p.Line, "problem without a line: %s", p)
		lines[i] = p.String()
	}
	return lines
}

// route is a plan step with where it goes, for comparing plans briefly.
type route struct {
	Name, Kind, Action, Next string
	Branches                 []string
	When                     []definition.Choice
}

func routes(plan *definition.Plan) []route {
	out := make([]route, len(plan.Steps))
	for i, s := range plan.Steps {
		out[i] = route{Name: s.Name, Kind: string(s.Kind), Action: s.Action, Next: s.Next, Branches: s.Branches, When: s.When}
	}
	return out
}

func TestConvertLegacyKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, kind, data string
		initial          string
		want             []route
	}{
		{
			name: "sequential runs the tasks in order", kind: "sequential",
			data:    `{"task_chain": ["log", {"name": "check", "action": "validate"}, "transform"]}`,
			initial: "log",
			want: []route{
				{Name: "log", Kind: "action", Action: "log", Next: "check"},
				{Name: "check", Kind: "action", Action: "validate", Next: "transform"},
				{Name: "transform", Kind: "action", Action: "transform"},
			},
		},
		{
			name: "parallel runs the tasks as branches of one step", kind: "parallel",
			data:    `{"tasks": ["log", {"name": "check", "action": "validate"}]}`,
			initial: "parallel",
			want: []route{
				{Name: "parallel", Kind: "parallel", Branches: []string{"log", "check"}},
				{Name: "log", Kind: "action", Action: "log"},
				{Name: "check", Kind: "action", Action: "validate"},
			},
		},
		{
			name: "conditional routes to the first task of one list or the other", kind: "conditional",
			data:    `{"condition": "input.amount > 100", "if_true": ["validate", "transform"], "if_false": [{"name": "note", "action": "log"}]}`,
			initial: "condition",
			want: []route{
				{Name: "condition", Kind: "action", Action: "log", Next: "note", When: []definition.Choice{{If: "input.amount > 100", Next: "validate"}}},
				{Name: "validate", Kind: "action", Action: "validate", Next: "transform"},
				{Name: "transform", Kind: "action", Action: "transform"},
				{Name: "note", Kind: "action", Action: "log"},
			},
		},
		{
			name: "conditional without if_false ends when the condition does not hold", kind: "conditional",
			data:    `{"condition": "input.amount > 100", "if_true": ["validate"]}`,
			initial: "condition",
			want: []route{
				{Name: "condition", Kind: "action", Action: "log", When: []definition.Choice{{If: "input.amount > 100", Next: "validate"}}},
				{Name: "validate", Kind: "action", Action: "validate"},
			},
		},
		{
			name: "conditional without if_true routes on the negated condition", kind: "conditional",
			data:    `{"condition": "input.amount > 100", "if_true": [], "if_false": ["log"]}`,
			initial: "condition",
			want: []route{
				{Name: "condition", Kind: "action", Action: "log", When: []definition.Choice{{If: "!(input.amount > 100)", Next: "log"}}},
				{Name: "log", Kind: "action", Action: "log"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, plan, err := convert(t, tt.kind, tt.data)
			require.NoError(t, err)
			require.Equal(t, "legacy-"+tt.kind, plan.Name)
			require.Equal(t, tt.initial, plan.Initial)
			require.Equal(t, tt.want, routes(plan))
		})
	}
}

func TestConvertLegacyTaskFields(t *testing.T) {
	t.Parallel()
	_, plan, err := convert(t, "sequential", `{"task_chain": [
		{"name": "check", "action": "validate", "params": {"schema": {"type": "object"}},
		 "retry": {"maximum_attempts": 5, "initial_interval": "2s", "non_retryable_errors": ["ValidationError"]}},
		{"name": "score", "specialist": "scoring"},
		{"name": "rank", "action": "rank_orders", "specialist": "scoring", "params": {"top": 3}}
	]}`)
	require.NoError(t, err)
	check := plan.Steps[0]
	require.Equal(t, map[string]any{"schema": map[string]any{"type": "object"}}, check.Params)
	require.Equal(t, 5, check.Retry.MaximumAttempts)
	require.Equal(t, "2s", check.Retry.InitialInterval.String())
	require.Equal(t, []string{"ValidationError"}, check.Retry.NonRetryableErrors)
	// A task without an action runs on its specialist under its own name,
	// as a step of a definition does.
	require.Equal(t, "score", plan.Steps[1].Action)
	require.Equal(t, "scoring", plan.Steps[1].Specialist)
	require.Equal(t, "rank_orders", plan.Steps[2].Action)
	require.Equal(t, map[string]any{"top": 3}, plan.Steps[2].Params)
}

func TestConvertLegacyWorkflowID(t *testing.T) {
	t.Parallel()
	l, err := definition.ConvertLegacy("parallel", []byte(`{"tasks": ["log"]}`), definition.LegacyOptions{WorkflowID: "nightly-batch"})
	require.NoError(t, err)
	plan, err := l.Compile(definition.Options{})
	require.NoError(t, err)
	require.Equal(t, "nightly-batch", plan.Name)

	l, err = definition.ConvertLegacy("parallel", []byte(`{"tasks": ["log"]}`), definition.LegacyOptions{File: "t.json", WorkflowID: "not ok!"})
	require.NoError(t, err)
	_, err = l.Compile(definition.Options{})
	require.ErrorContains(t, err, `/workflow_id: workflow_id "not ok!" has characters that cannot be used`)
}

func TestConvertLegacyUnknownKind(t *testing.T) {
	t.Parallel()
	_, err := definition.ConvertLegacy("loop", []byte(`{"task_chain": ["log"]}`), definition.LegacyOptions{})
	require.ErrorIs(t, err, definition.ErrLegacyKind)
	require.ErrorContains(t, err, `unknown task list kind "loop": use sequential, parallel, conditional`)
}

func TestConvertLegacyNotAnObject(t *testing.T) {
	t.Parallel()
	for _, data := range []string{"", `["log"]`, `{"task_chain": [`} {
		_, err := definition.ConvertLegacy("sequential", []byte(data), definition.LegacyOptions{File: "t.json"})
		var ps definition.Problems
		require.True(t, errors.As(err, &ps), "%q: want Problems, got %v", data, err)
	}
}

func TestConvertLegacyProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, kind, data string
		want             []string
	}{
		{
			name: "missing task_chain", kind: "sequential", data: `{}`,
			want: []string{`tasks.json:1:1: /task_chain: task_chain is missing (add "task_chain": the list of tasks)`},
		},
		{
			name: "empty task_chain", kind: "sequential", data: `{"task_chain": []}`,
			want: []string{`tasks.json:1:16: /task_chain: task_chain is empty (add at least one task)`},
		},
		{
			name: "a field of another kind", kind: "sequential", data: `{"tasks": ["log"]}`,
			want: []string{
				`tasks.json:1:1: /task_chain: task_chain is missing (add "task_chain": the list of tasks)`,
				`tasks.json:1:2: /tasks: unknown field "tasks" (tasks belongs to a parallel task list: convert it with --legacy parallel)`,
			},
		},
		{
			name: "task without name or action", kind: "sequential",
			data: "{\"task_chain\": [\n  {\"action\": \"log\"},\n  {\"name\": \"x\"},\n  {\"name\": \"\", \"action\": \"log\"},\n  42\n]}",
			want: []string{
				`tasks.json:2:3: /task_chain/0: the task has no name (add "name": the step's name, or write the task as a string naming its action)`,
				`tasks.json:3:3: /task_chain/1: task "x" has neither action nor specialist (add "action": the action to run (or "specialist": the specialist that runs it))`,
				`tasks.json:4:12: /task_chain/2/name: the task's name is empty (give it a name of letters, digits, '_' and '-', starting with a letter)`,
				`tasks.json:5:3: /task_chain/3: a task is a string or an object, got the number 42 (write "log" or {"name": "greet", "action": "log"})`,
			},
		},
		{
			name: "duplicate names", kind: "sequential",
			data: "{\"task_chain\": [\n  \"log\",\n  {\"name\": \"log\", \"action\": \"log\"},\n  \"log\"\n]}",
			want: []string{
				`tasks.json:3:12: /task_chain/1/name: task name "log" is used twice: the task at /task_chain/0 has it too (rename this one, like {"name": "log_2", "action": "log"})`,
				`tasks.json:4:3: /task_chain/2: task name "log" is used twice: the task at /task_chain/0 has it too (rename this one, like {"name": "log_2", "action": "log"})`,
			},
		},
		{
			name: "a task named as the step the conversion adds", kind: "parallel", data: `{"tasks": ["log", "parallel"]}`,
			want: []string{`tasks.json:1:19: /tasks/1: task name "parallel" is used twice: the step the conversion adds for tasks has it too (rename this one, like {"name": "parallel_2", "action": "parallel"})`},
		},
		{
			name: "fields of a step checked as in a definition", kind: "sequential",
			data: "{\"task_chain\": [\n  {\"name\": \"a b\", \"action\": \"log\", \"next\": \"x\"},\n  {\"name\": \"wait\", \"action\": \"wait\", \"params\": {}},\n  {\"name\": \"r\", \"action\": \"log\", \"retry\": {\"maximum_attempts\": -1, \"initial_interval\": 5}}\n]}",
			want: []string{
				`tasks.json:2:12: /task_chain/0/name: step name "a b" has characters that cannot be used (use letters, digits, '_' and '-', starting with a letter)`,
				`tasks.json:2:36: /task_chain/0/next: unknown field "next" (known fields here: action, name, params, retry, specialist)`,
				`tasks.json:3:48: /task_chain/1/params/duration: wait param "duration": it is required (say how long to wait, e.g. "30s")`,
				`tasks.json:4:64: /task_chain/2/retry/maximum_attempts: maximum_attempts -1 is negative (give 1 for no retries, 0 for no limit)`,
				`tasks.json:4:88: /task_chain/2/retry/initial_interval: duration 5 has no unit (write it like 5s or 5m)`,
			},
		},
		{
			name: "bad condition", kind: "conditional", data: `{"condition": "input.amount >", "if_true": ["log"]}`,
			want: []string{`tasks.json:1:15: /condition: expression "input.amount >": 1:15: Syntax error: mismatched input '<EOF>' (write a condition over input, such as input.amount > 100)`},
		},
		{
			name: "condition not a boolean", kind: "conditional", data: `{"condition": "'yes'", "if_true": ["log"]}`,
			want: []string{`tasks.json:1:15: /condition: expression "'yes'": a condition must be true or false, but this yields string (write a condition over input, such as input.amount > 100)`},
		},
		{
			name: "condition missing, both lists empty", kind: "conditional", data: `{"if_true": [], "if_false": []}`,
			want: []string{
				`tasks.json:1:1: /condition: condition is missing (add "condition": a CEL expression over input, like input.amount > 100)`,
				`tasks.json:1:1: /if_true: both if_true and if_false are empty or missing (add the tasks to run when the condition holds (if_true) or not (if_false))`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, legacyProblems(t, tt.kind, tt.data))
		})
	}
}

// TestLegacyExamplesGolden converts each example task list and compares
// the YAML with the file next to it, which validate accepts as is. Run
// with -update to rewrite them after a deliberate change.
func TestLegacyExamplesGolden(t *testing.T) {
	t.Parallel()
	for _, kind := range definition.LegacyKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join("..", "examples", "legacy", kind+".json")
			l, plan, err := definition.LoadLegacy(kind, file, definition.LegacyOptions{}, definition.Options{})
			require.NoError(t, err)
			got, err := l.YAML()
			require.NoError(t, err)
			golden := strings.TrimSuffix(file, ".json") + ".yaml"
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./definition -run LegacyExamplesGolden -update to create it")
			require.Equal(t, string(want), string(got))

			// The YAML is a definition file that compiles to the same plan.
			fromYAML, err := definition.Load(golden)
			require.NoError(t, err)
			require.Equal(t, plan.Hash, fromYAML.Hash)
		})
	}
}

package definition_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/definition"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/broken")

// problemsOf loads file and returns its problems, one formatted per line.
func problemsOf(t *testing.T, file string) []string {
	t.Helper()
	_, err := definition.Load(file)
	require.Error(t, err, "%s should be refused", file)
	var ps definition.Problems
	require.True(t, errors.As(err, &ps), "%s: want Problems, got %T: %v", file, err, err)
	lines := make([]string, len(ps))
	for i, p := range ps {
		require.NotEmpty(t, p.Message)
		require.Positive(t, p.Line, "%s: problem without a line: %s", file, p)
		lines[i] = p.String()
	}
	return lines
}

// TestBrokenGolden checks the exact messages for a folder of broken
// definitions. Run with -update to rewrite them after a deliberate change.
func TestBrokenGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/broken/*.*")
	require.NoError(t, err)
	files = append(files, "../examples/broken/ten-mistakes.yaml")
	n := 0
	for _, file := range files {
		if strings.HasSuffix(file, ".golden") {
			continue
		}
		n++
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			got := strings.Join(problemsOf(t, file), "\n") + "\n"
			golden := strings.TrimSuffix(file, filepath.Ext(file)) + ".golden"
			if strings.HasPrefix(file, "../examples/") {
				golden = filepath.Join("testdata", "broken", filepath.Base(golden))
			}
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./definition -run Golden -update to create it")
			require.Equal(t, string(want), got)
		})
	}
	require.GreaterOrEqual(t, n, 10)
}

func TestTenMistakesTenProblems(t *testing.T) {
	t.Parallel()
	lines := problemsOf(t, "../examples/broken/ten-mistakes.yaml")
	require.Len(t, lines, 10, strings.Join(lines, "\n"))
	for _, l := range lines {
		require.True(t, strings.HasPrefix(l, "../examples/broken/ten-mistakes.yaml:"), l)
	}
}

func TestExamplesCompileToStableHashes(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../examples/*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 4)
	for _, file := range files {
		first, err := definition.Load(file)
		require.NoError(t, err, file)
		require.True(t, strings.HasPrefix(first.Hash, "sha256:"), first.Hash)
		require.NoError(t, first.Verify())
		again, err := definition.Load(file)
		require.NoError(t, err)
		require.Equal(t, first.Hash, again.Hash, "%s: hash changed between two compiles", file)

		// A plan survives the JSON trip into a workflow's input unchanged.
		b, err := json.Marshal(first)
		require.NoError(t, err)
		var back definition.Plan
		require.NoError(t, json.Unmarshal(b, &back))
		require.NoError(t, back.Verify(), file)

		// The same content elsewhere has the same hash; an edit changes it.
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		copyPath := filepath.Join(t.TempDir(), filepath.Base(file))
		require.NoError(t, os.WriteFile(copyPath, data, 0o644))
		if !strings.Contains(string(data), "workflow: {file:") {
			moved, err := definition.Load(copyPath)
			require.NoError(t, err)
			require.Equal(t, first.Hash, moved.Hash)
		}
		back.Steps[0].Action += "-edited"
		require.Error(t, back.Verify())
	}
}

func TestJSONAndYAMLGiveTheSamePlan(t *testing.T) {
	t.Parallel()
	yamlPlan, err := definition.Load("../examples/sequential.yaml")
	require.NoError(t, err)
	doc := `{"workflow_id": "sequential", "name": "Plain sequence", "initial_step": "receive",
	 "steps": [
	  {"name": "receive", "action": "log", "params": {"message": "order received"}},
	  {"name": "check", "action": "validate", "params": {"schema": {"type": "object", "required": ["order_id"]}}, "retry": {"maximum_attempts": 1}},
	  {"name": "record", "action": "transform", "input": {"order": "input", "checked": "steps.check"}}
	 ]}`
	parsed, err := definition.Parse("sequential.json", []byte(doc))
	require.NoError(t, err)
	jsonPlan, err := definition.Compile(parsed, definition.Options{})
	require.NoError(t, err)
	require.Equal(t, yamlPlan.Hash, jsonPlan.Hash)
}

// The seed's definition, exactly as its report wrote it, decodes without a
// problem; compiled, it only asks for the steps it names but leaves out.
func TestSeedFormAsIs(t *testing.T) {
	t.Parallel()
	seed := `workflow_id: complex-workflow
name: Multi-Step Analysis
initial_step: validate
steps:
  - name: validate
    specialist: validation_agent
    conditions: {success: process, failure: error}
  - name: process
    action: custom_processing
    parallel_with: [analyze, transform]
`
	doc, err := definition.Parse("seed.yaml", []byte(seed))
	require.NoError(t, err)
	_, err = definition.Compile(doc, definition.Options{})
	var ps definition.Problems
	require.ErrorAs(t, err, &ps)
	var msgs []string
	for _, p := range ps {
		msgs = append(msgs, p.Message)
	}
	require.ElementsMatch(t, []string{
		`step "error" is not defined`,
		`step "analyze" is not defined`,
		`step "transform" is not defined`,
	}, msgs)

	completed := seed + `  - name: analyze
    action: aggregate
  - name: transform
    action: transform
  - name: error
    type: fail
`
	doc, err = definition.Parse("seed.yaml", []byte(completed))
	require.NoError(t, err)
	plan, err := definition.Compile(doc, definition.Options{})
	require.NoError(t, err)
	validate, _ := plan.Step("validate")
	require.Equal(t, "validate", validate.Action, "a specialist step without an action runs the step's name")
	require.Equal(t, "validation_agent", validate.Specialist)
	require.Equal(t, "process", validate.Next)
	require.Equal(t, "error", validate.OnFailure)
	process, _ := plan.Step("process")
	require.Equal(t, definition.KindParallel, process.Kind)
	require.Equal(t, []string{"analyze", "transform"}, process.Branches)
	require.Equal(t, "", process.Next, "the last step that is not a branch ends the run")
	require.Equal(t, 4, plan.TotalSteps, "validate, then process with its two branches")
}

func TestDefaultsResolve(t *testing.T) {
	t.Parallel()
	plan, err := definition.Load("../examples/review-rollback.yaml")
	require.NoError(t, err)
	reserve, _ := plan.Step("reserve")
	require.Equal(t, "500ms", reserve.Retry.InitialInterval.String())
	require.Equal(t, "50s", reserve.Retry.MaximumInterval.String(), "100 × initial, as Temporal does")
	require.Equal(t, 5, reserve.Retry.MaximumAttempts)
	require.Equal(t, 2.0, reserve.Retry.BackoffCoefficient)
	require.Equal(t, []string{"InsufficientFunds"}, reserve.Retry.NonRetryableErrors)
	require.Equal(t, "30s", reserve.Timeouts.StartToClose.String())
	require.Equal(t, "10s", reserve.Timeouts.Heartbeat.String())
	require.Equal(t, map[string]string{"InsufficientFunds": "declined"}, reserve.OnError)

	seq, err := definition.Load("../examples/sequential.yaml")
	require.NoError(t, err)
	check, _ := seq.Step("check")
	require.Equal(t, 1, check.Retry.MaximumAttempts)
	require.Equal(t, definition.DefaultTimeouts.StartToClose, check.Timeouts.StartToClose)
	receive, _ := seq.Step("receive")
	require.Equal(t, "check", receive.Next, "a step without next continues with the next in the list")
}

func TestHostileInputs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	require.NoError(t, err)
	line := []byte("# " + strings.Repeat("x", 1021) + "\n")
	for range 50 * 1024 {
		_, err := f.Write(line)
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())

	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "the file is empty"},
		{"only spaces", []byte("  \n\n"), "the file is empty"},
		{"binary", []byte{0x7f, 'E', 'L', 'F', 0, 0, 1, 2}, "not text"},
		{"latin1", []byte("workflow_id: caf\xe9\n"), "not text"},
		{"deep flow", []byte(strings.Repeat("[", 20000) + strings.Repeat("]", 20000)), "exceeded max depth"},
		{"deep params", []byte("workflow_id: x\ninitial_step: a\nsteps:\n  - name: a\n    action: log\n    params: {x: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}"), "nested deeper than 32 levels"},
		{"alias bomb", []byte(aliasBomb()), "expands to more than"},
		{"two documents", []byte("workflow_id: a\n---\nworkflow_id: b\n"), "more than one YAML document"},
		{"a list", []byte("[1, 2]"), "a definition is a mapping"},
		{"a scalar", []byte("hello"), "a definition is a mapping"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc, err := definition.Parse(tc.name+".yaml", tc.data)
			if err == nil {
				_, err = definition.Compile(doc, definition.Options{})
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
	t.Run("50 MB file", func(t *testing.T) {
		t.Parallel()
		_, err := definition.Load(big)
		require.ErrorContains(t, err, "the file is 50.0 MiB; a definition may be at most 1.0 MiB")
	})
	t.Run("a folder", func(t *testing.T) {
		t.Parallel()
		_, err := definition.Load(dir)
		require.ErrorContains(t, err, "is a folder")
	})
}

func aliasBomb() string {
	var b strings.Builder
	b.WriteString("workflow_id: bomb\ninitial_step: a\nsteps:\n  - name: a\n    action: log\n    params:\n      l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "      l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	return b.String()
}

func TestSubWorkflowIsEmbedded(t *testing.T) {
	t.Parallel()
	plan, err := definition.Load("../examples/fanout.yaml")
	require.NoError(t, err)
	hand, _ := plan.Step("hand_over")
	require.NotNil(t, hand.Child)
	require.Equal(t, "sequential", hand.Child.Name)
	require.Equal(t, "sequential.yaml", hand.Child.Source)
	seq, err := definition.Load("../examples/sequential.yaml")
	require.NoError(t, err)
	require.Equal(t, seq.Hash, hand.Child.Hash)
	each, _ := plan.Step("each")
	require.Equal(t, 4, each.Map.Concurrency)
}

// generated returns a valid definition of n steps that uses most features.
func generated(n int) []byte {
	var b bytes.Buffer
	b.WriteString("workflow_id: generated\nname: Generated\ninitial_step: s0\ndefaults:\n  retry: {initial_interval: 1s, maximum_attempts: 4}\n  timeouts: {start_to_close: 1m}\nsteps:\n")
	for i := range n - 1 {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "  - name: s%d\n    action: log\n    params: {message: \"step %d\", level: info}\n    input: {prev: \"steps.s%d\"}\n", i, i, max(i-1, 0))
		case 1:
			fmt.Fprintf(&b, "  - name: s%d\n    action: transform\n    when:\n      - if: \"input.amount > %d.0\"\n        next: s%d\n    conditions: {failure: failed, Timeout: s%d}\n", i, i, i+1, i+1)
		case 2:
			fmt.Fprintf(&b, "  - name: s%d\n    action: aggregate\n    parallel_with: [b%d]\n  - name: b%d\n    action: log\n", i, i, i)
		case 3:
			fmt.Fprintf(&b, "  - name: s%d\n    wait: {duration: 1s}\n", i)
		case 4:
			fmt.Fprintf(&b, "  - name: s%d\n    type: review\n    review: {timeout: 1h, on_timeout: failed}\n", i)
		}
	}
	b.WriteString("  - name: done\n    type: succeed\n  - name: failed\n    type: fail\n")
	return b.Bytes()
}

func TestGeneratedDefinitionCompiles(t *testing.T) {
	t.Parallel()
	doc, err := definition.Parse("generated.yaml", generated(200))
	require.NoError(t, err)
	plan, err := definition.Compile(doc, definition.Options{})
	require.NoError(t, err)
	require.Greater(t, len(plan.Steps), 200)
	require.Greater(t, plan.TotalSteps, 200)
}

func BenchmarkParse200Steps(b *testing.B) {
	data := generated(200)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := definition.Parse("generated.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompile200Steps(b *testing.B) {
	doc, err := definition.Parse("generated.yaml", generated(200))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := definition.Compile(doc, definition.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseCompile feeds arbitrary bytes through parse and compile: they
// may be refused, never panic, and a refusal always says where.
func FuzzParseCompile(f *testing.F) {
	seeds, _ := filepath.Glob("../examples/*.yaml")
	broken, _ := filepath.Glob("testdata/broken/*.*")
	for _, file := range append(seeds, broken...) {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add(generated(20))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := definition.Parse("fuzz.yaml", data)
		if doc != nil {
			_, err = definition.Compile(doc, definition.Options{})
		}
		if err == nil {
			return
		}
		var ps definition.Problems
		if !errors.As(err, &ps) {
			t.Fatalf("refusal is not Problems: %T %v", err, err)
		}
		if len(ps) == 0 {
			t.Fatal("empty Problems returned as an error")
		}
		for _, p := range ps {
			if p.Message == "" || p.Line < 1 || p.Column < 1 {
				t.Fatalf("problem without message or place: %+v", p)
			}
		}
	})
}

func TestCheckInput(t *testing.T) {
	t.Parallel()
	plan, err := definition.Load("../examples/review-rollback.yaml")
	require.NoError(t, err)
	require.NotNil(t, plan.InputSchema)
	cases := []struct {
		name  string
		input any
		// want is each problem as "path: message", in order.
		want []string
	}{
		{"matches", map[string]any{"account": "acc-1", "amount": 5.0}, nil},
		{"no input", nil, []string{": got null, want object"}},
		{"every missing field", map[string]any{}, []string{": missing properties 'account', 'amount'"}},
		{"every wrong value", map[string]any{"account": 7, "amount": -1}, []string{
			"/account: got number, want string",
			"/amount: exclusiveMinimum: got -1, want 0",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ps, err := plan.CheckInput(tc.input)
			require.NoError(t, err)
			var got []string
			for _, p := range ps {
				got = append(got, p.Path+": "+p.Message)
			}
			require.Equal(t, tc.want, got)
		})
	}

	noSchema, err := definition.Load("../examples/sequential.yaml")
	require.NoError(t, err)
	ps, err := noSchema.CheckInput(nil)
	require.NoError(t, err)
	require.Empty(t, ps)
}

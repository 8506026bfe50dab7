package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/starter/internal/testserver"
)

// legacyExample is the path of an example task list.
func legacyExample(kind string) string {
	return filepath.Join("..", "examples", "legacy", kind+".json")
}

// exampleInput is the input the example task lists run on: the
// conditional one takes its if_true list with it.
const exampleInput = `{"order_id": 42, "amount": 150}`

func TestConvertPrintsTheExamples(t *testing.T) {
	t.Parallel()
	for _, kind := range definition.LegacyKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runStarter(t, "convert", "--legacy", kind, legacyExample(kind))
			require.Equal(t, exitOK, code, errOut)
			want, err := os.ReadFile(strings.TrimSuffix(legacyExample(kind), ".json") + ".yaml")
			require.NoError(t, err)
			require.Equal(t, string(want), out)

			// What convert prints, validate accepts as is.
			file := filepath.Join(t.TempDir(), kind+".yaml")
			require.NoError(t, os.WriteFile(file, []byte(out), 0o600))
			code, out, errOut = runStarter(t, "validate", file)
			require.Equal(t, exitOK, code, errOut)
			require.Contains(t, out, "valid: legacy-"+kind)
		})
	}
}

func TestConvertNamesTheDefinition(t *testing.T) {
	t.Parallel()
	code, out, errOut := runStarter(t, "convert", "--legacy", "sequential", legacyExample("sequential"), "--legacy-id", "orders")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "\nworkflow_id: orders\n")

	code, out, errOut = runStarter(t, "convert", "--legacy", "sequential", legacyExample("sequential"), "--json")
	require.Equal(t, exitOK, code, errOut)
	var v converted
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.True(t, v.Valid)
	require.Equal(t, "legacy-sequential", v.Name)
	require.Contains(t, v.YAML, "workflow_id: legacy-sequential")
}

func TestConvertRefusesABadTaskList(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "tasks.json")
	require.NoError(t, os.WriteFile(file, []byte("{\"task_chain\": [\n  \"log\",\n  {\"name\": \"log\", \"action\": \"log\"},\n  {\"action\": \"log\"}\n]}"), 0o600))
	for _, verb := range []string{"convert", "run"} {
		code, out, errOut := runStarter(t, verb, "--legacy", "sequential", file)
		require.Equal(t, exitBadUsed, code, verb)
		require.Equal(t, file+": 2 problems\n"+
			"  "+file+`:3:12: /task_chain/1/name: task name "log" is used twice: the task at /task_chain/0 has it too (rename this one, like {"name": "log_2", "action": "log"})`+"\n"+
			"  "+file+`:4:3: /task_chain/2: the task has no name (add "name": the step's name, or write the task as a string naming its action)`+"\n", out, verb)
		require.Contains(t, errOut, file+" has problems", verb)
	}
}

func TestLegacyUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"convert", legacyExample("sequential")}, "starter: convert needs --legacy KIND: one of sequential, parallel, conditional\n"},
		{[]string{"convert", "--legacy", "loop", legacyExample("sequential")}, "starter: --legacy \"loop\": the kinds of task list are sequential, parallel, conditional\n"},
		{[]string{"run", "--legacy", "loop", legacyExample("sequential")}, "starter: --legacy \"loop\": the kinds of task list are sequential, parallel, conditional\n"},
		{[]string{"run", "../examples/sequential.yaml", "--legacy-id", "x"}, "starter: --legacy-id names the definition converted from a task list; give --legacy KIND too\n"},
	}
	for _, tt := range tests {
		code, out, errOut := runStarter(t, tt.args...)
		require.Equal(t, exitBadUsed, code, tt.args)
		require.Empty(t, out)
		require.Equal(t, tt.want, errOut, tt.args)
	}
}

// completedSteps returns the steps of a run's history that completed, in
// the order they did.
func completedSteps(t *testing.T, history string) []string {
	t.Helper()
	var records []struct {
		Step  string `json:"step"`
		Event string `json:"event"`
	}
	require.NoError(t, json.Unmarshal([]byte(history), &records))
	var steps []string
	for _, r := range records {
		if r.Event == "step_completed" && r.Step != "" {
			steps = append(steps, r.Step)
		}
	}
	return steps
}

// startStep returns the step a run's history starts at.
func startStep(t *testing.T, history string) string {
	t.Helper()
	var records []struct {
		Step  string `json:"step"`
		Event string `json:"event"`
	}
	require.NoError(t, json.Unmarshal([]byte(history), &records))
	require.NotEmpty(t, records)
	require.Equal(t, "start", records[0].Event)
	return records[0].Step
}

// taskNames reads the names of the tasks of an example's list, in order.
func taskNames(t *testing.T, kind, key string) []string {
	t.Helper()
	data, err := os.ReadFile(legacyExample(kind))
	require.NoError(t, err)
	var list map[string]any
	require.NoError(t, json.Unmarshal(data, &list))
	var names []string
	for _, task := range list[key].([]any) {
		switch task := task.(type) {
		case string:
			names = append(names, task)
		case map[string]any:
			names = append(names, task["name"].(string))
		}
	}
	return names
}

// Each example task list, run with run --legacy on a worker of the default
// actions, ends COMPLETE having run its tasks in the order of its list.
func TestRunLegacyExamples(t *testing.T) {
	t.Parallel()
	queue := testserver.Queue(t)
	testserver.Worker(t, queue)
	tests := []struct {
		name, kind, input string
		want              []string
	}{
		{"sequential", "sequential", exampleInput, taskNames(t, "sequential", "task_chain")},
		// The run starts at the parallel step; its branches finish in any
		// order.
		{"parallel", "parallel", exampleInput, taskNames(t, "parallel", "tasks")},
		// The input's amount is over 100: the condition step, then the
		// if_true list.
		{"conditional", "conditional", exampleInput, append([]string{definition.LegacyConditionStep}, taskNames(t, "conditional", "if_true")...)},
		// A small amount: the condition step, then the if_false list.
		{"conditional false", "conditional", `{"order_id": 43, "amount": 20}`, append([]string{definition.LegacyConditionStep}, taskNames(t, "conditional", "if_false")...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := testserver.ID(t)
			code, out, errOut := starterOn(t, "run", "--legacy", tt.kind, legacyExample(tt.kind), "--input", tt.input,
				"--task-queue", queue, "--id", id, "--wait")
			require.Equal(t, exitOK, code, "stdout: %s\nstderr: %s", out, errOut)
			require.Contains(t, out, "COMPLETE")

			code, out, errOut = starterOn(t, "history", id, "--json")
			require.Equal(t, exitOK, code, errOut)
			got := completedSteps(t, out)
			if tt.kind == "parallel" {
				require.Equal(t, definition.LegacyParallelStep, startStep(t, out))
				require.ElementsMatch(t, tt.want, got, out)
				return
			}
			require.Equal(t, tt.want, got, out)
		})
	}
}

// The sequential example on a worker that mirrors into Redis: progress
// with REDIS_URL set reads the run from Redis, and it matches Temporal's.
func TestRunLegacyMirroredInRedis(t *testing.T) {
	t.Parallel()
	m := setupMirrored(t)
	id := testserver.ID(t)
	code, out, errOut := m.starter("run", "--legacy", "sequential", legacyExample("sequential"), "--input", exampleInput,
		"--task-queue", m.queue, "--id", id, "--wait")
	require.Equal(t, exitOK, code, "stdout: %s\nstderr: %s", out, errOut)
	require.NotContains(t, errOut, "reading from Temporal")

	code, out, errOut = m.starter("progress", id)
	require.Equal(t, exitOK, code, errOut)
	require.Empty(t, errOut, "read from Redis, without falling back")
	require.Equal(t, "COMPLETE 100% (3/3)\n", out)

	code, fromRedis, errOut := m.starter("progress", id, "--json")
	require.Equal(t, exitOK, code, errOut)
	require.Empty(t, errOut)
	var p struct {
		Definition string `json:"definition"`
		Status     string `json:"status"`
		Completed  int    `json:"completed_steps"`
	}
	require.NoError(t, json.Unmarshal([]byte(fromRedis), &p))
	require.Equal(t, "legacy-sequential", p.Definition)
	require.Equal(t, "COMPLETE", p.Status)
	require.Equal(t, 3, p.Completed)
	stored, err := m.rdb.HGet(m.ctx, "wf:{"+id+"}", "definition").Result()
	require.NoError(t, err)
	require.Equal(t, "legacy-sequential", stored, "the progress is Redis's")
	code, fromTemporal, errOut := m.starter("progress", id, "--json", "--source", "temporal")
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, fromTemporal, fromRedis)

	code, out, errOut = m.starter("history", id, "--json")
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, []string{"log", "check", "record"}, taskNames(t, "sequential", "task_chain"))
	require.Equal(t, taskNames(t, "sequential", "task_chain"), completedSteps(t, out))
}

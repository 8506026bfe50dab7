package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// runStarter runs a command line without Redis variables, whatever the
// test's own environment holds.
func runStarter(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runStarterEnv(t, nil, args...)
}

// runStarterEnv runs a command line with env as its Redis variables.
func runStarterEnv(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runEnv(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestValidateValidExamples(t *testing.T) {
	t.Parallel()
	code, out, _ := runStarter(t, "validate", "../examples/sequential.yaml", "../examples/complex-workflow.yaml")
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "../examples/sequential.yaml: valid: sequential, 3 steps, sha256:")
	require.Contains(t, out, "../examples/complex-workflow.yaml: valid: complex-workflow, 7 steps, sha256:")
}

func TestValidateTenMistakes(t *testing.T) {
	t.Parallel()
	code, out, errOut := runStarter(t, "validate", "../examples/broken/ten-mistakes.yaml")
	require.Equal(t, exitBadUsed, code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, "../examples/broken/ten-mistakes.yaml: 10 problems", lines[0])
	require.Len(t, lines, 11)
	for _, l := range lines[1:] {
		require.Regexp(t, `^  \.\./examples/broken/ten-mistakes\.yaml:\d+:\d+: /`, l)
	}
	require.Contains(t, errOut, "1 of 1 definitions have problems")
}

// TestValidateBrokenFolder runs `starter validate` over each definition of
// examples/broken (ten-mistakes.yaml has its own test): each yields its
// located problems, one per mistake, each naming the mistake.
func TestValidateBrokenFolder(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file string
		// want holds, per problem in order, its JSON pointer and a part of
		// its message.
		want [][2]string
	}{
		{"empty-name.yaml", [][2]string{{"/steps/1/name", "the name of step 2 is empty"}}},
		{"blank-name.yaml", [][2]string{{"/steps/1/name", "the name of step 2 is only spaces"}}},
		{"log-message-type.yaml", [][2]string{{"/steps/0/params/message", `log param "message": want a string, got a number`}}},
		{"log-level.yaml", [][2]string{{"/steps/0/params/level", `log param "level": "loud" is not a level`}}},
		{"wait-zero-duration.yaml", [][2]string{{"/steps/0/params/duration", `wait param "duration": "0s" is not positive`}}},
		{"wait-bad-duration.yaml", [][2]string{{"/steps/0/params/duration", `wait param "duration": "soon" is not a duration`}}},
		{"wait-no-duration.yaml", [][2]string{{"/steps/0/map/params/duration", `wait param "duration": it is required`}}},
		{"http-not-http.yaml", [][2]string{{"/steps/0/params/url", `http param "url": "ftp://example.com/report.csv" is not an absolute http:// or https:// URL`}}},
		{"validate-schema.yaml", [][2]string{{"/steps/0/params/schema", `validate param "schema": not a valid JSON Schema: at '/required'`}}},
		{"transform-mapping.yaml", [][2]string{{"/steps/0/params/mapping/total", `transform param "mapping": key "total": expression does not compile`}}},
		{"aggregate-steps.yaml", [][2]string{{"/steps/1/params/steps", `aggregate param "steps": want a list of strings`}}},
		{"hook-params.yaml", [][2]string{{"/hooks/on_enter/COMPLETE/0/params/message", `log param "message": want a string, got a list`}}},
		{"input-schema.yaml", [][2]string{{"/input_schema", "input_schema: not a valid JSON Schema: at '/required'"}}},
		{"unknown-field.yaml", [][2]string{{"/steps/0/retries", `unknown field "retries"`}}},
		{"loop-and-broken-reference.yaml", [][2]string{
			{"/steps/0/conditions/failure", `step "nowhere_at_all" is not defined`},
			{"/steps/1/name", `steps "poll", "pause" loop with no way out`},
		}},
		{"loop-without-start.yaml", [][2]string{
			{"/initial_step", `step "something_else_entirely" is not defined`},
			{"/steps/0/name", `steps "poll", "pause" loop with no way out`},
		}},
	}
	files, err := filepath.Glob("../examples/broken/*.yaml")
	require.NoError(t, err)
	listed := []string{"ten-mistakes.yaml"}
	for _, tc := range cases {
		listed = append(listed, tc.file)
	}
	for _, f := range files {
		require.Contains(t, listed, filepath.Base(f), "%s has no row in this table", f)
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			file := "../examples/broken/" + tc.file
			code, out, _ := runStarter(t, "validate", "--json", file)
			require.Equal(t, exitBadUsed, code)
			var got []validation
			require.NoError(t, json.Unmarshal([]byte(out), &got))
			require.Len(t, got, 1)
			require.Len(t, got[0].Problems, len(tc.want), "%v", got[0].Problems)
			for i, p := range got[0].Problems {
				require.Equal(t, file, p.File)
				require.Positive(t, p.Line, p.String())
				require.Positive(t, p.Column, p.String())
				require.Equal(t, tc.want[i][0], p.Path, p.String())
				require.Contains(t, p.Message, tc.want[i][1])
				require.NotEmpty(t, p.Hint, "a problem says what to do: %s", p)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	t.Parallel()
	code, out, errOut := runStarter(t, "validate", "--json", "../examples/loop.yaml", "../examples/broken/ten-mistakes.yaml")
	require.Equal(t, exitBadUsed, code)
	require.Empty(t, errOut, "with --json the outcome is in the JSON and the exit code")
	var got []validation
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got, 2)
	require.True(t, got[0].Valid)
	require.Equal(t, "poll-until-ready", got[0].Name)
	require.False(t, got[1].Valid)
	require.Len(t, got[1].Problems, 10)
	require.Equal(t, 4, got[1].Problems[0].Line)
	require.Equal(t, "/initial_step", got[1].Problems[0].Path)
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"validate"}, "requires at least 1 arg"},
		{"unknown flag", []string{"validate", "--bogus", "x.yaml"}, "unknown flag: --bogus"},
		{"unknown command", []string{"launch"}, `unknown command "launch"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, errOut := runStarter(t, tc.args...)
			require.Equal(t, exitBadUsed, code)
			require.Contains(t, errOut, tc.want)
		})
	}
}

func TestValidateMissingFile(t *testing.T) {
	t.Parallel()
	code, out, _ := runStarter(t, "validate", "../examples/nope.yaml")
	require.Equal(t, exitBadUsed, code)
	require.Contains(t, out, "../examples/nope.yaml: open ../examples/nope.yaml: no such file or directory")
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func runStarter(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
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

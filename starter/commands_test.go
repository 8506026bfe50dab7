package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/statedriven/statedriven/starter/client"
)

// Everything here fails before, or at, the first call to Temporal: no
// server is needed. The server-backed behaviour is tested end to end
// elsewhere.

func TestCommandUsageErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"run without file", []string{"run"}, "accepts 1 arg(s), received 0"},
		{"run two files", []string{"run", "a.yaml", "b.yaml"}, "accepts 1 arg(s), received 2"},
		{"run unknown flag", []string{"run", "x.yaml", "--bogus"}, "unknown flag: --bogus"},
		{"run bad input", []string{"run", "../examples/sequential.yaml", "--input", `{"a":}`},
			`--input: invalid JSON at line 1, column 6: invalid character '}' looking for beginning of value`},
		{"run input not an object", []string{"run", "../examples/sequential.yaml", "--input", `[1]`}, "--input must be a JSON object"},
		{"run empty input", []string{"run", "../examples/sequential.yaml", "--input", ""}, "--input is empty"},
		{"run without the input the definition needs", []string{"run", "../examples/review-rollback.yaml"},
			"the input does not match the input_schema of ../examples/review-rollback.yaml, 1 problem; nothing was started (give --input a JSON object that matches it):\n  the input: got null, want object"},
		{"run with an input that does not match", []string{"run", "../examples/review-rollback.yaml", "--input", `{"account": 7}`},
			"2 problems; nothing was started (give --input a JSON object that matches it):\n  the input: missing property 'amount'\n  input/account: got number, want string"},
		{"run empty id", []string{"run", "../examples/sequential.yaml", "--id", " "}, "--id is empty"},
		{"run empty queue", []string{"run", "../examples/sequential.yaml", "--task-queue", ""}, "--task-queue is empty"},
		{"run negative progress interval", []string{"run", "../examples/sequential.yaml", "--progress-every", "-1s"}, "--progress-every: progress_every -1s is negative: give 0 to write every change of progress, or leave it out for 10s"},
		{"run input over the payload limit", []string{"run", "../examples/sequential.yaml", "--input", `{"blob": "` + strings.Repeat("x", 2<<20) + `"}`}, "--input: the run's input (its data and the plan) is"},
		{"run progress interval not a duration", []string{"run", "../examples/sequential.yaml", "--progress-every", "10"}, `invalid argument "10" for "--progress-every"`},
		{"run wait takes no value", []string{"run", "../examples/sequential.yaml", "--wait=maybe"}, `invalid argument "maybe" for "--wait"`},
		{"status without id", []string{"status"}, "accepts 1 arg(s), received 0"},
		{"watch two ids", []string{"watch", "a", "b"}, "accepts 1 arg(s), received 2"},
		{"history without id", []string{"history"}, "accepts 1 arg(s), received 0"},
		{"progress from redis without REDIS_URL", []string{"progress", "order-42", "--source", "redis"},
			"--source redis needs the mirror's address: set REDIS_URL (redis://host:port/0)"},
		{"history from redis without REDIS_URL", []string{"history", "order-42", "--source", "redis"}, "--source redis needs the mirror's address: set REDIS_URL"},
		{"status from redis without REDIS_URL", []string{"status", "order-42", "--source", "redis"}, "--source redis needs the mirror's address: set REDIS_URL"},
		{"watch from redis without REDIS_URL", []string{"watch", "order-42", "--source", "redis"}, "--source redis needs the mirror's address: set REDIS_URL"},
		{"list from redis without REDIS_URL", []string{"list", "--source", "redis"}, "--source redis needs the mirror's address: set REDIS_URL"},
		{"list from redis with a query", []string{"list", "--source", "redis", "--query", "x"}, "--query is a Temporal visibility query"},
		{"progress from elsewhere", []string{"progress", "order-42", "--source", "kafka"}, `unknown --source "kafka"`},
		{"verify without REDIS_URL", []string{"projection", "verify", "order-42"}, "projection verify works on the Redis mirror: set REDIS_URL"},
		{"rebuild without REDIS_URL", []string{"projection", "rebuild", "--all"}, "projection rebuild works on the Redis mirror: set REDIS_URL"},
		{"verify nothing", []string{"projection", "verify"}, "give one or more workflow IDs, or --all"},
		{"verify IDs and all", []string{"projection", "verify", "a", "--all"}, "give workflow IDs or --all, not both"},
		{"rebuild query without all", []string{"projection", "rebuild", "a", "--query", "x"}, "--query narrows --all"},
		{"list takes no args", []string{"list", "extra"}, `unknown command "extra" for "starter list"`},
		{"list negative limit", []string{"list", "--limit", "-1"}, "--limit -1 is negative"},
		{"list limit not a number", []string{"list", "--limit", "ten"}, `invalid argument "ten" for "--limit"`},
		{"pause without id", []string{"pause"}, "accepts 1 arg(s), received 0"},
		{"cancel reason needs a value", []string{"cancel", "order-42", "--reason"}, "flag needs an argument: --reason"},
		{"approve two ids", []string{"approve", "a", "b"}, "accepts 1 arg(s), received 2"},
		{"reject unknown flag", []string{"reject", "a", "--steps", "2"}, "unknown flag: --steps"},
		{"who needs a value", []string{"pause", "order-42", "--who"}, "flag needs an argument: --who"},
		{"rollback without steps", []string{"rollback", "order-42"}, "--steps 0: give how many completed steps to undo, 1 or more"},
		{"rollback zero steps", []string{"rollback", "order-42", "--steps", "0"}, "--steps 0: give how many completed steps to undo, 1 or more"},
		{"rollback negative steps", []string{"rollback", "order-42", "--steps", "-2"}, "--steps -2: give how many completed steps to undo, 1 or more"},
		{"rollback steps not a number", []string{"rollback", "order-42", "--steps", "two"}, `invalid argument "two" for "--steps"`},
		{"rollback without id", []string{"rollback", "--steps", "1"}, "accepts 1 arg(s), received 0"},
		{"transition without to", []string{"transition", "order-42"}, "--to is missing: give the state to move to, one of INITIAL, PROCESSING, WAITING, REVIEW, PAUSED, COMPLETE, FAILED, CANCELLED"},
		{"transition to no state", []string{"transition", "order-42", "--to", "DONE"},
			`--to "DONE" is not a state: give one of INITIAL, PROCESSING, WAITING, REVIEW, PAUSED, COMPLETE, FAILED, CANCELLED`},
		{"skip two ids", []string{"skip", "a", "b"}, "accepts 1 arg(s), received 2"},
		{"modify without file", []string{"modify", "order-42"}, "accepts 2 arg(s), received 1"},
		{"retry bad input", []string{"retry", "order-42", "--input", `{"a":}`}, `--input: invalid JSON at line 1, column 6`},
		{"retry empty id", []string{"retry", "order-42", "--id", ""}, "--id is empty: give an ID, or leave the flag out to retry under order-42"},
		{"retry empty from", []string{"retry", "order-42", "--from", " "}, "--from is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runStarter(t, tc.args...)
			require.Equal(t, exitBadUsed, code, "stderr: %s", errOut)
			require.Empty(t, out)
			require.Contains(t, errOut, tc.want)
		})
	}
}

func TestRunInvalidDefinition(t *testing.T) {
	t.Parallel()
	code, out, errOut := runStarter(t, "run", "../examples/broken/ten-mistakes.yaml", "--address", unusedAddress(t))
	require.Equal(t, exitBadUsed, code)
	require.Contains(t, out, "../examples/broken/ten-mistakes.yaml: 10 problems")
	require.Contains(t, errOut, "../examples/broken/ten-mistakes.yaml has problems; nothing was started")
	require.NotContains(t, errOut, "cannot reach", "a bad definition is reported before any connection")

	code, out, errOut = runStarter(t, "run", "--json", "../examples/broken/ten-mistakes.yaml")
	require.Equal(t, exitBadUsed, code)
	require.Empty(t, errOut)
	var v validation
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.False(t, v.Valid)
	require.Len(t, v.Problems, 10)
}

// A bad Redis variable is bad usage, and its message never shows the
// password.
func TestBadRedisSettings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"REDIS_URL": "redis://user:s3cret@localhost:6379/notanumber"}, "REDIS_URL: redis://user:xxxxx@localhost:6379/notanumber"},
		{map[string]string{"REDIS_URL": "redis://localhost:6379/0", "STATEDRIVEN_REDIS_TTL": "soon"}, `STATEDRIVEN_REDIS_TTL: "soon" is not a duration`},
		{map[string]string{"REDIS_URL": "redis://localhost:6379/0", "STATEDRIVEN_REDIS_HISTORY_MAX": "many"}, `STATEDRIVEN_REDIS_HISTORY_MAX: "many" is not a whole number`},
	}
	for _, tc := range cases {
		for _, args := range [][]string{{"progress", "order-42"}, {"list"}, {"projection", "verify", "--all"}} {
			code, out, errOut := runStarterEnv(t, tc.env, args...)
			require.Equal(t, exitBadUsed, code, "%v %v: %s", tc.env, args, errOut)
			require.Empty(t, out)
			require.Contains(t, errOut, tc.want)
			require.NotContains(t, errOut, "s3cret")
		}
	}
}

// modify checks the file as run does, lists every problem and sends
// nothing: no connection is even tried.
func TestModifyInvalidDefinition(t *testing.T) {
	t.Parallel()
	code, out, errOut := runStarter(t, "modify", "order-42", "../examples/broken/ten-mistakes.yaml", "--address", unusedAddress(t))
	require.Equal(t, exitBadUsed, code)
	require.Contains(t, out, "../examples/broken/ten-mistakes.yaml: 10 problems")
	require.Equal(t, "starter: ../examples/broken/ten-mistakes.yaml has problems; nothing was sent\n", errOut)

	code, out, errOut = runStarter(t, "modify", "order-42", "--json", "../examples/broken/ten-mistakes.yaml", "--address", unusedAddress(t))
	require.Equal(t, exitBadUsed, code)
	require.Empty(t, errOut)
	var v validation
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.False(t, v.Valid)
	require.Len(t, v.Problems, 10)
}

// Every verb that steers a run takes --who; without it the caller is
// $USER@hostname, and without USER the client's own identity.
func TestWho(t *testing.T) {
	t.Parallel()
	host, err := os.Hostname()
	require.NoError(t, err)
	g := &globals{getenv: func(k string) string { return map[string]string{"USER": "alice"}[k] }}
	require.Equal(t, "alice@"+host, g.identity())
	g.who = "bob"
	require.Equal(t, "bob", g.identity())
	g = &globals{getenv: func(string) string { return "" }}
	require.Empty(t, g.identity(), "the client's default")
	opts, err := client.Config{Identity: g.identity()}.Options()
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("%d@%s@", os.Getpid(), host), opts.Identity)

	root := newRoot(g.getenv, io.Discard, io.Discard)
	for _, verb := range []string{"pause", "resume", "cancel", "approve", "reject", "rollback", "transition", "skip", "modify", "retry"} {
		cmd, _, err := root.Find([]string{verb})
		require.NoError(t, err)
		require.NotNil(t, cmd.Flags().Lookup("who"), verb)
		require.NotNil(t, cmd.Flags().Lookup("reason"), verb)
	}
}

func TestCannotReachTemporal(t *testing.T) {
	t.Parallel()
	addr := unusedAddress(t)
	for _, args := range [][]string{
		{"status", "order-42"},
		{"progress", "order-42"},
		{"history", "order-42", "--json"},
		{"list"},
		{"pause", "order-42", "--reason", "lunch"},
		{"approve", "order-42"},
		{"rollback", "order-42", "--steps", "1"},
		{"transition", "order-42", "--to", "review"},
		{"skip", "order-42", "--who", "alice"},
		{"modify", "order-42", "../examples/sequential.yaml"},
		{"retry", "order-42"},
		{"watch", "order-42"},
		{"run", "../examples/sequential.yaml", "--wait"},
	} {
		t.Run(args[0], func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runStarter(t, append(args, "--address", addr)...)
			require.Equal(t, exitFailed, code)
			require.Empty(t, out)
			require.Equal(t, "starter: cannot reach Temporal at "+addr+": nothing listens there (connection refused); start a dev server with make run, "+
				"or set TEMPORAL_ADDRESS (or --address) to your server's host:port\n", errOut)
		})
	}
}

// unusedAddress returns a local address where nothing listens: the port
// of a listener just closed.
func unusedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestHelpListsTheVerbs(t *testing.T) {
	t.Parallel()
	code, out, _ := runStarter(t, "--help")
	require.Equal(t, exitOK, code)
	for _, verb := range []string{"validate", "run", "watch", "status", "progress", "history", "list",
		"pause", "resume", "cancel", "approve", "reject", "rollback", "transition", "skip", "modify", "retry", "projection", "convert"} {
		require.Regexp(t, `(?m)^  `+verb+` `, out)
	}
	require.Contains(t, out, "TEMPORAL_ADDRESS")
	require.Contains(t, out, "--address")
	require.Contains(t, out, "--namespace")
	require.Contains(t, out, "REDIS_URL")
}

func TestFailedExitCodes(t *testing.T) {
	t.Parallel()
	target := client.Target{Address: "127.0.0.1:7233", Namespace: "default", WorkflowID: "order-42"}
	cases := []struct {
		err  error
		code int
		msg  string
	}{
		{client.Explain(serviceerror.NewNotFound("workflow not found"), target), exitFailed, "no workflow with ID order-42 in namespace default"},
		{client.Explain(serviceerror.NewUnavailable("refused"), target), exitFailed, "cannot reach Temporal at 127.0.0.1:7233"},
		{client.Explain(serviceerror.NewInvalidArgument("invalid query"), target), exitBadUsed, "Temporal refused the request: invalid query"},
		{fmt.Errorf("approve: %w", context.Canceled), exitFailed, "interrupted"},
	}
	for _, tc := range cases {
		var ee *exitError
		require.ErrorAs(t, failed(tc.err), &ee)
		require.Equal(t, tc.code, ee.code, tc.msg)
		require.Contains(t, ee.Error(), tc.msg)
	}
	require.NoError(t, failed(nil))
}

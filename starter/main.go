// Command starter is statedriven's command-line client: it checks
// definitions, launches runs, follows them with a progress bar, reads
// their state, progress and history, and steers them with signals and
// updates (see the README's CLI reference). The verbs are thin: the
// talking to Temporal is in package client.
//
// Connection settings are the Temporal CLI's: TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE
// and the profile file; --address and --namespace override them.
//
// Exit codes: 0 ok, 1 the operation failed, 2 bad usage or bad input.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/starter/client"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1
	exitBadUsed = 2
)

func main() {
	// go-redis logs its connection troubles to stderr; the starter reports
	// a Redis that does not answer in its own words.
	redis.SetLogger(quietLogger{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// quietLogger drops go-redis's log lines.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// exitError carries the exit code of an error the user can act on; the
// message has already been printed when silent is set.
type exitError struct {
	code   int
	err    error
	silent bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func badInput(format string, args ...any) error {
	return &exitError{code: exitBadUsed, err: fmt.Errorf(format, args...)}
}

// run executes one command line and returns the process's exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runEnv(ctx, args, os.Getenv, stdout, stderr)
}

// runEnv is run with the Redis variables (REDIS_URL, STATEDRIVEN_REDIS_*)
// and USER (the default --who) read through getenv, so that tests give
// each command its own.
func runEnv(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	root := newRoot(getenv, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if !ee.silent {
			fmt.Fprintln(stderr, "starter:", ee.err)
		}
		return ee.code
	}
	// Cobra's own errors are about usage: unknown command or flag, wrong
	// number of arguments.
	fmt.Fprintln(stderr, "starter:", err)
	fmt.Fprintln(stderr, "Run 'starter --help' for usage.")
	return exitBadUsed
}

type globals struct {
	json      bool
	address   string
	namespace string
	// who is --who of the verbs that steer a run; "" means the caller's
	// identity (see identity).
	who string
	// getenv reads the Redis variables and USER (os.Getenv in the
	// program).
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func newRoot(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	g := &globals{getenv: getenv, stdin: os.Stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "starter",
		Short: "Check definitions, launch statedriven runs, follow and steer them",
		Long: "starter checks definitions, launches statedriven runs on Temporal, follows them and steers them.\n\n" +
			"It reaches Temporal the way the Temporal CLI does: TEMPORAL_ADDRESS (default " + client.DefaultAddress + "),\n" +
			"TEMPORAL_NAMESPACE (default " + client.DefaultNamespace + "), TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE and\n" +
			"the profile file; --address and --namespace override them.\n\n" +
			"Reads (progress, history, list, status, watch) come from the Redis mirror when REDIS_URL is set,\n" +
			"with the worker's STATEDRIVEN_REDIS_PREFIX, STATEDRIVEN_REDIS_TTL and STATEDRIVEN_REDIS_HISTORY_MAX;\n" +
			"--source temporal asks the workflow instead. A run Redis does not have, or a Redis that does not\n" +
			"answer, is read from Temporal with a note on stderr.\n\n" +
			"Exit codes: 0 ok, 1 the operation failed, 2 bad usage or bad input.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.BoolVar(&g.json, "json", false, "print JSON for machines instead of text for people")
	pf.StringVar(&g.address, "address", "", "Temporal frontend host:port (overrides TEMPORAL_ADDRESS and the profile)")
	pf.StringVar(&g.namespace, "namespace", "", "Temporal namespace (overrides TEMPORAL_NAMESPACE and the profile)")
	root.AddCommand(
		newValidate(g),
		newActions(g),
		newRun(g),
		newConvert(g),
		newWatch(g),
		newStatus(g),
		newProgress(g),
		newHistory(g),
		newList(g),
		newPause(g),
		newResume(g),
		newCancel(g),
		newUpdate(g, contract.UpdateApprove, "Approve a run waiting in REVIEW"),
		newUpdate(g, contract.UpdateReject, "Reject a run waiting in REVIEW"),
		newRollback(g),
		newTransition(g),
		newSkip(g),
		newModify(g),
		newRetry(g),
		newProjection(g),
	)
	return root
}

// dial connects to Temporal with the global flags over the environment.
// withClient makes a command's RunE that connects to Temporal, runs the
// command with the connection and closes it.
func (g *globals) withClient(run func(ctx context.Context, c *client.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		c, err := g.dial(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		return run(ctx, c, args)
	}
}

func (g *globals) dial(ctx context.Context) (*client.Client, error) {
	c, err := client.Dial(ctx, client.Config{Address: g.address, Namespace: g.namespace, Identity: g.identity()})
	if err != nil {
		return nil, failed(err)
	}
	return c, nil
}

// identity is who the starter says it is, to Temporal (the client's
// identity, which Temporal records on every request) and to the run (the
// who of every request, which the run's history records): --who, else
// $USER@hostname, else the client's default (the profile's identity, or
// the SDK's pid@hostname@).
func (g *globals) identity() string {
	if g.who != "" {
		return g.who
	}
	return client.UserIdentity(g.getenv)
}

// failed gives an error from package client its exit code: 2 when the
// request itself was wrong (connection settings, a list query the server
// cannot parse), 1 for everything else.
func failed(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return &exitError{code: exitFailed, err: errors.New("interrupted")}
	case errors.Is(err, client.ErrConfig), errors.Is(err, client.ErrBadRequest):
		return &exitError{code: exitBadUsed, err: err}
	}
	return &exitError{code: exitFailed, err: err}
}

// printJSON writes v as indented JSON, as validate does.
func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printRaw writes JSON as the workflow encoded it, on one line.
func (g *globals) printRaw(raw json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return fmt.Errorf("the workflow's answer is not JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err := g.stdout.Write(buf.Bytes())
	return err
}

// warn writes a line for people on stderr.
func (g *globals) warn(format string, args ...any) {
	fmt.Fprintf(g.stderr, "starter: "+format+"\n", args...)
}

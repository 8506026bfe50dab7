// Command starter is statedriven's command-line client: it checks
// definitions now, and launches, follows and steers runs as the engine
// grows (see the README's CLI reference).
//
// Exit codes: 0 ok, 1 the operation failed, 2 bad usage or bad input.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1
	exitBadUsed = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

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
	root := newRoot(stdout, stderr)
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
	json   bool
	stdout io.Writer
	stderr io.Writer
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "starter",
		Short:         "Check definitions and steer statedriven runs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().BoolVar(&g.json, "json", false, "print JSON for machines instead of text for people")
	root.AddCommand(newValidate(g))
	return root
}

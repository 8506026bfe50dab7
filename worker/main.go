// Command worker is statedriven's Temporal worker: it runs
// StateDrivenWorkflow and the RunStep activity with the built-in actions
// on the "statedriven" task queue, and RunStep on each specialist's queue.
// With --dev it runs a Temporal server and its Web UI inside the process
// first. Flags and environment variables are listed by -h and in the
// README. A program that adds its own actions is the same three lines with
// its own registry: see examples/custom-action.
//
// Exit codes: 0 stopped (SIGINT, SIGTERM), 1 failed, 2 bad usage or
// configuration.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"go.temporal.io/sdk/worker"

	"github.com/statedriven/statedriven/activities"
	"github.com/statedriven/statedriven/host"
	"github.com/statedriven/statedriven/host/devserver"
	"github.com/statedriven/statedriven/workflows"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	runner := activities.NewRunner(activities.NewRegistry(), activities.RunnerOptions{})
	// --dev runs the dev server with the garbage collector settings it
	// was measured with (devserver.TuneGC): this program's choice, for
	// its whole process.
	dev := devserver.ForHostWithGCTuning
	code := host.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, host.Registration{
		// The interpreter, and the workflow that tells clients which
		// actions this worker offers.
		Workflows:  func(w worker.WorkflowRegistry) { workflows.Register(w); runner.RegisterActions(w) },
		Activities: runner.Register,
		// The http action's allow-list, from STATEDRIVEN_HTTP_ALLOW.
		Configure: func(cfg host.Config) { runner.AllowHTTP(cfg.RunnerOptions().HTTPAllow) },
	}, dev)
	stop()
	os.Exit(code)
}

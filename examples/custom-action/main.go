// Command custom-action is a worker of one's own: statedriven's engine
// plus an action of the program's, custom_processing, that definitions
// name in `action: custom_processing`. It takes the same flags as
// statedriven's worker; try it with
//
//	go run ./examples/custom-action --dev
//
// and a definition with a step `{name: enrich, action: custom_processing}`.
package main

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"go.temporal.io/sdk/worker"

	"github.com/statedriven/statedriven/activities"
	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/host"
	"github.com/statedriven/statedriven/host/devserver"
	"github.com/statedriven/statedriven/workflows"
)

func main() {
	reg := activities.NewRegistry() // the built-ins: log, wait, validate, transform, aggregate, http
	reg.MustRegister("custom_processing", customProcessing)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	runner := activities.NewRunner(reg, activities.RunnerOptions{})
	// --dev runs the dev server with the garbage collector settings it
	// was measured with (devserver.TuneGC): this program's choice, for
	// its whole process.
	dev := devserver.ForHostWithGCTuning
	code := host.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, host.Registration{
		// The interpreter, and the workflow that tells `starter run`
		// which actions this worker offers.
		Workflows:  func(w worker.WorkflowRegistry) { workflows.Register(w); runner.RegisterActions(w) },
		Activities: runner.Register,
		// The http action's allow-list, from STATEDRIVEN_HTTP_ALLOW.
		Configure: func(cfg host.Config) { runner.AllowHTTP(cfg.RunnerOptions().HTTPAllow) },
	}, dev)
	stop()
	os.Exit(code)
}

// customProcessing is the action: it gets the step's params and input and
// returns the step's result, plain data that later steps read as
// steps.<name>. Here it upper-cases the input's "name", with a prefix
// taken from the step's params.
func customProcessing(ctx context.Context, in contract.StepInput) (any, error) {
	data, _ := in.Input.(map[string]any)
	name, _ := data["name"].(string)
	prefix, _ := in.Params["prefix"].(string)
	return map[string]any{
		"processed": prefix + strings.ToUpper(name),
		"step":      in.Step,
	}, nil
}

package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/starter/client"
)

// newCancel makes the cancel verb: the cancel signal, which the workflow
// turns into CANCELLED (running its compensations), or with --terminate
// Temporal's terminate, for a run whose worker cannot run it.
//
// A signal to a run whose worker fails every workflow task is accepted by
// the server and never read; cancel checks for that first and says so,
// rather than report "sent" for a cancel that will never happen.
// --terminate is offered in the starter itself because the user has the
// starter's connection settings at hand and may not have the Temporal CLI.
func newCancel(g *globals) *cobra.Command {
	var (
		reason    string
		terminate bool
	)
	cmd := &cobra.Command{
		Use:   contract.SignalCancel + " ID",
		Short: "Cancel a run: it ends in CANCELLED",
		Long: "Cancel a run: it ends in CANCELLED.\n\n" +
			"It sends the cancel signal to the latest run of workflow ID and returns; the run acts on it when\n" +
			"its worker next runs it (starter status ID shows the effect). When the run's worker fails its\n" +
			"workflow task again and again, the run would never read the signal: cancel says so and exits 1.\n\n" +
			"With --terminate it asks Temporal to end the run at once instead (as temporal workflow terminate\n" +
			"does): the workflow is not asked, so no compensation or hook runs, and the run ends TERMINATED.",
		Args: cobra.ExactArgs(1),
		RunE: g.withClient(func(ctx context.Context, c *client.Client, args []string) error {
			id := args[0]
			if terminate {
				if reason == "" {
					reason = "terminated with starter cancel --terminate"
				}
				if err := c.Terminate(ctx, id, reason); err != nil {
					return failed(err)
				}
				if g.json {
					return g.printJSON(signalView{WorkflowID: id, Terminated: true, Reason: reason, Who: c.Identity()})
				}
				_, err := fmt.Fprintf(g.stdout, "terminated %s\n", id)
				return err
			}
			d, err := c.Describe(ctx, id)
			if err != nil {
				return failed(err)
			}
			if d.Stuck() {
				// A task that timed out once (a worker restarted mid-task)
				// is not refused: only one the worker failed is.
				f, err := c.LastTaskFailure(ctx, d.WorkflowID, d.RunID)
				if err == nil && f != nil && f.Cause != "" {
					return &exitError{code: exitFailed, err: stuckCancel(d, f)}
				}
			}
			return g.signal(ctx, c, id, contract.SignalCancel, contract.Reason{Reason: reason, Who: c.Identity()}, "")
		}),
	}
	g.steerFlags(cmd, &reason)
	cmd.Flags().BoolVar(&terminate, "terminate", false, "end the run at once on the server, without the workflow (no compensation, ends TERMINATED)")
	return cmd
}

// stuckCancel is the refusal of a cancel that could not reach the run.
func stuckCancel(d *client.Description, f *client.TaskFailure) error {
	why := "its worker fails every workflow task (" + oneLine(f.Message) + ")"
	id := shellQuote(d.WorkflowID)
	return fmt.Errorf("cancel cannot reach %s: %s, so the run would never read the cancel signal; nothing was sent. "+
		"Fix the worker and cancel again, or end the run now with starter cancel %s --terminate "+
		"(as temporal workflow terminate -w %s does: no compensation runs, and it ends TERMINATED)", d.WorkflowID, why, id, id)
}

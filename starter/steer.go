package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/starter/client"
)

// signalView is what pause, resume and cancel print with --json.
type signalView struct {
	WorkflowID string `json:"workflow_id"`
	Signal     string `json:"signal,omitempty"`
	// Terminated is set by cancel --terminate, which sends no signal.
	Terminated bool   `json:"terminated,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// newSignal makes a verb that sends the workflow signal of the same name
// (pause, resume, cancel) with a contract.Reason payload.
func newSignal(g *globals, name, short string) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   name + " ID",
		Short: short,
		Long: short + ".\n\n" +
			"It sends the " + name + " signal to the latest run of workflow ID and returns; the run acts on it\n" +
			"when its worker next runs it (starter status ID shows the effect).",
		Args: cobra.ExactArgs(1),
		RunE: g.withClient(func(ctx context.Context, c *client.Client, args []string) error {
			return g.signal(ctx, c, args[0], name, reason)
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, kept in the run's history")
	return cmd
}

// signal sends a signal and says it was sent.
func (g *globals) signal(ctx context.Context, c *client.Client, id, name, reason string) error {
	if err := c.Signal(ctx, id, name, reason); err != nil {
		return failed(err)
	}
	if g.json {
		return g.printJSON(signalView{WorkflowID: id, Signal: name, Reason: reason})
	}
	_, err := fmt.Fprintf(g.stdout, "sent %s to %s\n", name, id)
	return err
}

// updateView is what approve and reject print with --json.
type updateView struct {
	WorkflowID string          `json:"workflow_id"`
	Update     string          `json:"update"`
	Reason     string          `json:"reason,omitempty"`
	Result     json.RawMessage `json:"result"`
}

// newUpdate makes a verb that sends the workflow update of the same name
// (approve, reject) and waits until the workflow has handled it.
func newUpdate(g *globals, name, short string) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   name + " ID",
		Short: short,
		Long: short + ".\n\n" +
			"It sends the " + name + " update to the latest run of workflow ID and waits until the workflow has\n" +
			"handled it. When the workflow refuses it (the run is not in REVIEW, say), starter prints the\n" +
			"workflow's reason and exits 1.",
		Args: cobra.ExactArgs(1),
		RunE: g.withClient(func(ctx context.Context, c *client.Client, args []string) error {
			// An update waits for a worker to run it; say so rather than
			// hang in silence.
			d, err := c.Describe(ctx, args[0])
			if err != nil {
				return failed(err)
			}
			if d.Stuck() {
				g.warn("the worker fails this run's workflow task (starter status %s shows its error): the %s waits until the worker is fixed (press Ctrl-C)",
					shellQuote(d.WorkflowID), name)
			} else if d.Running {
				if n, err := c.Pollers(ctx, d.TaskQueue); err == nil && n == 0 {
					g.warn("no worker is polling task queue %s: the %s waits until one runs it (start one with make run, or press Ctrl-C)", d.TaskQueue, name)
				}
			}
			result, err := c.Update(ctx, args[0], name, reason)
			if err != nil {
				return failed(err)
			}
			if g.json {
				return g.printJSON(updateView{WorkflowID: args[0], Update: name, Reason: reason, Result: result})
			}
			_, err = fmt.Fprintf(g.stdout, "%s accepted %s\n", args[0], name)
			return err
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, kept in the run's history")
	return cmd
}

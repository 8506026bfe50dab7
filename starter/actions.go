package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/starter/client"
)

func newActions(g *globals) *cobra.Command {
	var queue string
	cmd := &cobra.Command{
		Use:   "actions",
		Short: "List the actions the workers of a task queue offer",
		Long: "actions asks a worker of the task queue (statedriven by default) which actions it offers,\n" +
			"built-ins included, and prints one per line: the list `validate --actions` reads, and the one\n" +
			"`run` checks a plan against before it starts. Exit 1 when no worker answers.",
		Args: cobra.NoArgs,
		RunE: g.withClient(func(ctx context.Context, c *client.Client, _ []string) error {
			names, err := c.OfferedActions(ctx, queue)
			if err != nil {
				return failed(err)
			}
			if g.json {
				return g.printJSON(names)
			}
			for _, n := range names {
				fmt.Fprintln(g.stdout, n)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&queue, "task-queue", contract.DefaultTaskQueue, "the task queue whose workers to ask")
	return cmd
}

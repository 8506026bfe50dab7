package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/starter/client"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

func newHistory(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "history ID",
		Short: "Show a run's transitions, oldest first",
		Long: "history runs the history query of the latest run of workflow ID and prints every transition:\n" +
			"seq, time, from→to, step, event and reason. With --json, the query's JSON as it is.",
		Args: cobra.ExactArgs(1),
		RunE: g.withClient(func(ctx context.Context, c *client.Client, args []string) error {
			raw, err := c.Query(ctx, args[0], workflows.QueryHistory)
			if err != nil {
				return failed(err)
			}
			if g.json {
				return g.printRaw(raw)
			}
			var records []statemachine.Record
			if err := client.Decode(raw, workflows.QueryHistory, &records); err != nil {
				return failed(err)
			}
			return renderHistory(g.stdout, records)
		}),
	}
}

package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/starter/client"
)

func newHistory(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "history ID",
		Short: "Show a run's transitions, oldest first",
		Long: "history prints every transition of workflow ID, oldest first: seq, time, from→to, step,\n" +
			"event and reason. A run that continued as new keeps its newest records; the older ones\n" +
			"are read from the inputs of the earlier runs of its chain, as long as Temporal keeps them\n" +
			"(the namespace's retention). With --json, the records as a JSON list.",
		Args: cobra.ExactArgs(1),
		RunE: g.withClient(func(ctx context.Context, c *client.Client, args []string) error {
			trail, err := c.Trail(ctx, args[0])
			if err != nil {
				return failed(err)
			}
			if g.json {
				return g.printJSON(trail.Records)
			}
			if err := renderHistory(g.stdout, trail.Records); err != nil {
				return err
			}
			for _, gap := range trail.Gaps {
				fmt.Fprintf(g.stdout, "records %d to %d are no longer kept: the runs that held them are past the namespace's retention\n", gap.From, gap.To)
			}
			return nil
		}),
	}
}

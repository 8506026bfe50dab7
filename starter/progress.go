package main

import (
	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/starter/client"
)

// Sources of progress: the workflow itself (the progress query) or the
// Redis projection, which answers the same JSON without Temporal.
const (
	sourceTemporal = "temporal"
	sourceRedis    = "redis"
)

func newProgress(g *globals) *cobra.Command {
	var source string
	cmd := &cobra.Command{
		Use:   "progress ID",
		Short: "Show a run's progress: state, percentage, steps",
		Long: "progress runs the progress query of the latest run of workflow ID and prints one line,\n" +
			"\"PROCESSING 30% (3/10) steps: process\"; with --json, the query's JSON exactly as the workflow\n" +
			"(and the Redis projection) returns it.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch source {
			case sourceTemporal:
			case sourceRedis:
				return badInput("the Redis projection is not built yet; use --source temporal")
			default:
				return badInput("unknown --source %q: use temporal (or redis, once the Redis projection is built)", source)
			}
			ctx := cmd.Context()
			c, err := g.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			raw, err := c.Query(ctx, args[0], contract.QueryProgress)
			if err != nil {
				return failed(err)
			}
			if g.json {
				return g.printRaw(raw)
			}
			var p contract.Progress
			if err := client.Decode(raw, contract.QueryProgress, &p); err != nil {
				return failed(err)
			}
			_, err = g.stdout.Write([]byte(progressLine(p) + "\n"))
			return err
		},
	}
	cmd.Flags().StringVar(&source, "source", sourceTemporal, "where to read progress: temporal (the workflow's progress query) or redis (the projection)")
	return cmd
}

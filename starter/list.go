package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/starter/client"
)

func newList(g *globals) *cobra.Command {
	var (
		query string
		limit int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List statedriven runs, newest first",
		Long: "list shows the runs of StateDrivenWorkflow in the namespace: workflow ID, Temporal's status,\n" +
			"the WorkflowState, WorkflowProgress and DefinitionName search attributes, and the start time.\n" +
			"--query narrows it with a Temporal visibility query, ANDed with the workflow type.",
		Example: "  starter list\n" +
			"  starter list --query \"ExecutionStatus = 'Running'\"\n" +
			"  starter list --query \"DefinitionName = 'complex-workflow' AND WorkflowState = 'REVIEW'\" --limit 100",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return badInput("--limit %d is negative: give a count, or 0 for all runs", limit)
			}
			ctx := cmd.Context()
			c, err := g.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			runs, err := c.List(ctx, query, limit)
			if err != nil {
				return failed(err)
			}
			rows := make([]listRow, 0, len(runs))
			for _, r := range runs {
				rows = append(rows, listRowOf(r))
			}
			if g.json {
				return g.printJSON(rows)
			}
			if len(rows) == 0 {
				_, err := fmt.Fprintf(g.stdout, "no statedriven runs in namespace %s match %s\n", c.Namespace(), client.ListQuery(query))
				return err
			}
			return renderList(g.stdout, rows)
		},
	}
	cmd.Flags().StringVar(&query, "query", "", "Temporal visibility query to narrow the list (ANDed with WorkflowType = 'StateDrivenWorkflow')")
	cmd.Flags().IntVar(&limit, "limit", 20, "show at most this many runs; 0 for all")
	return cmd
}

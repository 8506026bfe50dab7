package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/starter/client"
)

func newList(g *globals) *cobra.Command {
	var (
		query  string
		limit  int
		source string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List statedriven runs, newest first",
		Long: "list shows the runs of StateDrivenWorkflow in the namespace: workflow ID, Temporal's status,\n" +
			"the WorkflowState, WorkflowProgress and DefinitionName search attributes, and the start time.\n" +
			"--query narrows it with a Temporal visibility query, ANDed with the workflow type.\n\n" +
			"With REDIS_URL set it lists the Redis mirror's index instead, most recently updated first: the\n" +
			"runs mirrored within STATEDRIVEN_REDIS_TTL (24h), with the state, progress and definition of\n" +
			"their progress hash. Redis has neither Temporal's status nor the start time, so the STATUS and\n" +
			"STARTED columns give way to UPDATED (the run's last transition), and the JSON rows have\n" +
			"updated_at instead of status and started_at. --query needs Temporal: with it, list reads\n" +
			"Temporal. A Redis that does not answer is read from Temporal, with a note on stderr.",
		Example: "  starter list\n" +
			"  starter list --source temporal --query \"ExecutionStatus = 'Running'\"\n" +
			"  starter list --query \"DefinitionName = 'complex-workflow' AND WorkflowState = 'REVIEW'\" --limit 100",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return badInput("--limit %d is negative: give a count, or 0 for all runs", limit)
			}
			if query != "" && source == sourceRedis {
				return badInput("--query is a Temporal visibility query: use it with --source temporal, or leave it out to list the Redis index")
			}
			if query != "" && source == "" {
				source = sourceTemporal
			}
			ctx := cmd.Context()
			m, err := g.openMirror(source)
			if err != nil {
				return err
			}
			if m != nil {
				defer m.close()
				rctx, cancel := readCtx(ctx)
				runs, err := m.reader.List(rctx, limit)
				cancel()
				if err == nil {
					return g.printMirroredList(m, runs)
				}
				if interrupted(ctx, err) {
					return failed(ctx.Err())
				}
				g.warn("Redis at %s does not answer (%v): listing from Temporal", m.cfg.Redacted(), err)
			}
			return g.printTemporalList(ctx, query, limit)
		},
	}
	cmd.Flags().StringVar(&query, "query", "", "Temporal visibility query to narrow the list (ANDed with WorkflowType = 'StateDrivenWorkflow'); reads Temporal")
	cmd.Flags().IntVar(&limit, "limit", 20, "show at most this many runs; 0 for all")
	addSourceFlag(cmd, &source)
	return cmd
}

func (g *globals) printTemporalList(ctx context.Context, query string, limit int) error {
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
}

func (g *globals) printMirroredList(m *mirror, runs []contract.Progress) error {
	rows := make([]listRow, 0, len(runs))
	for _, p := range runs {
		rows = append(rows, listRowOfProgress(p))
	}
	if g.json {
		return g.printJSON(rows)
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintf(g.stdout, "no statedriven runs in Redis at %s (prefix %s)\n", m.cfg.Redacted(), m.cfg.Options.WithDefaults().Prefix)
		return err
	}
	return renderMirroredList(g.stdout, rows)
}

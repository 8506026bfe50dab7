package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/contract"
)

func newHistory(g *globals) *cobra.Command {
	var source string
	cmd := &cobra.Command{
		Use:   "history ID",
		Short: "Show a run's transitions, oldest first",
		Long: "history prints every transition of workflow ID, oldest first: seq, time, from→to, step,\n" +
			"event, who (for an operator's operation) and reason. With --json, the records as a JSON list.\n\n" +
			"With REDIS_URL set it reads the Redis mirror's list, which keeps the newest\n" +
			"STATEDRIVEN_REDIS_HISTORY_MAX records (10000): when the list starts after seq 1, a note says\n" +
			"that the older ones are in Temporal (--source temporal). A run that Redis does not have, or a\n" +
			"Redis that does not answer, is read from Temporal with a note on stderr.\n\n" +
			"From Temporal, a run that continued as new keeps its newest records; the older ones are read\n" +
			"from the inputs of the earlier runs of its chain, as long as Temporal keeps them (the\n" +
			"namespace's retention).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			id := args[0]
			m, err := g.openMirror(source)
			if err != nil {
				return err
			}
			if m != nil {
				defer m.close()
				rctx, cancel := readCtx(ctx)
				records, err := m.reader.History(rctx, id, 0, 0)
				cancel()
				if err == nil {
					return g.printMirroredHistory(id, records)
				}
				if interrupted(ctx, err) {
					return failed(ctx.Err())
				}
				g.fallBack(m, id, err)
			}
			return g.printTrail(ctx, id)
		},
	}
	addSourceFlag(cmd, &source)
	return cmd
}

// printMirroredHistory prints the mirror's list, and says where the
// records older than its first are.
func (g *globals) printMirroredHistory(id string, records []contract.Record) error {
	if g.json {
		if records == nil {
			records = []contract.Record{}
		}
		if err := g.printJSON(records); err != nil {
			return err
		}
	} else if err := renderHistory(g.stdout, records); err != nil {
		return err
	}
	if len(records) > 0 && records[0].Seq > 1 {
		note := fmt.Sprintf("records 1 to %d are not in Redis (it keeps the newest); starter history %s --source temporal reads them from Temporal",
			records[0].Seq-1, shellQuote(id))
		if g.json {
			g.warn("%s", note)
		} else {
			fmt.Fprintln(g.stdout, note)
		}
	}
	return nil
}

// printTrail prints the run's whole trail from Temporal.
func (g *globals) printTrail(ctx context.Context, id string) error {
	c, err := g.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	trail, err := c.Trail(ctx, id)
	if err != nil {
		return failed(err)
	}
	if g.json {
		records := trail.Records
		if records == nil {
			records = []contract.Record{} // [], as from Redis
		}
		return g.printJSON(records)
	}
	if err := renderHistory(g.stdout, trail.Records); err != nil {
		return err
	}
	for _, gap := range trail.Gaps {
		fmt.Fprintf(g.stdout, "records %d to %d are no longer kept: the runs that held them are past the namespace's retention\n", gap.From, gap.To)
	}
	return nil
}

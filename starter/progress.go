package main

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/starter/client"
)

func newProgress(g *globals) *cobra.Command {
	var source string
	cmd := &cobra.Command{
		Use:   "progress ID",
		Short: "Show a run's progress: state, percentage, steps",
		Long: "progress prints the progress of the latest run of workflow ID on one line,\n" +
			"\"PROCESSING 30% (3/10) steps: process\"; with --json, the progress JSON exactly as the workflow's\n" +
			"progress query returns it.\n\n" +
			"With REDIS_URL set it reads the Redis mirror (no worker needed, and no Temporal); a run that\n" +
			"Redis does not have (expired, or never mirrored) or a Redis that does not answer is read from\n" +
			"the progress query instead, with a note on stderr. --source temporal asks the workflow.",
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
				p, err := m.reader.Progress(rctx, id)
				cancel()
				if err == nil {
					return g.printProgress(p)
				}
				if interrupted(ctx, err) {
					return failed(ctx.Err())
				}
				g.fallBack(m, id, err)
			}
			c, err := g.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			raw, err := c.Query(ctx, id, contract.QueryProgress)
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
			return g.printProgress(p)
		},
	}
	addSourceFlag(cmd, &source)
	return cmd
}

// printProgress prints a progress as one line, or with --json as the
// progress query's JSON (one line, as the workflow encodes it).
func (g *globals) printProgress(p contract.Progress) error {
	if g.json {
		raw, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return g.printRaw(raw)
	}
	_, err := g.stdout.Write([]byte(progressLine(p) + "\n"))
	return err
}

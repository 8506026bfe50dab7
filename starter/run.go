package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/starter/client"
	"github.com/statedriven/statedriven/workflows"
)

func newRun(g *globals) *cobra.Command {
	var (
		input string
		id    string
		queue string
		wait  bool
		every time.Duration
		lf    legacyFlags
	)
	cmd := &cobra.Command{
		Use:   "run FILE | run --legacy KIND FILE",
		Short: "Start a run of a definition, and with --wait follow it to the end",
		Long: "run checks and compiles the definition (problems are printed as validate prints them, exit 2),\n" +
			"checks the input against the definition's input_schema when it declares one (every mismatch is\n" +
			"listed, exit 2, nothing is started),\n" +
			"then starts it as a StateDrivenWorkflow with the plan as a snapshot: editing the file later\n" +
			"never changes this run. It prints the workflow ID and run ID, and warns of each task queue the\n" +
			"run needs that no worker polls (the workflow's, or a specialist's: statedriven.NAME); the run\n" +
			"starts anyway and waits there until a worker comes.\n\n" +
			"With --wait it follows the run (a progress bar on a terminal, one line per change otherwise)\n" +
			"and prints the outcome: exit 0 when the run ends COMPLETE, 1 when it ends FAILED, CANCELLED,\n" +
			"TERMINATED or TIMED_OUT.\n\n" +
			"With --legacy KIND, FILE is a task list of the old system, converted as `starter convert` does\n" +
			"and run as the definition it becomes.",
		Example: "  starter run examples/sequential.yaml --wait\n" +
			"  starter run examples/complex-workflow.yaml --id order-42 --input '{\"order_id\": 42}'\n" +
			"  starter run examples/complex-workflow.yaml --input @order.json\n" +
			"  starter run --legacy sequential examples/legacy/sequential.json --wait",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := lf.check(cmd); err != nil {
				return err
			}
			var data map[string]any
			if cmd.Flags().Changed("input") {
				var err error
				if data, err = parseInput(input, g.stdin); err != nil {
					return &exitError{code: exitBadUsed, err: err}
				}
			}
			if cmd.Flags().Changed("id") && strings.TrimSpace(id) == "" {
				return badInput("--id is empty: give an ID, or leave the flag out for a generated one")
			}
			if strings.TrimSpace(queue) == "" {
				return badInput("--task-queue is empty: leave it out for %s", contract.DefaultTaskQueue)
			}
			plan, v := lf.load(args[0], definition.Options{})
			if plan == nil {
				if g.json {
					if err := g.printJSON(v); err != nil {
						return err
					}
				} else {
					printValidation(g, v)
				}
				return &exitError{code: exitBadUsed, err: fmt.Errorf("%s has problems; nothing was started", args[0]), silent: g.json}
			}
			if err := checkInput(args[0], plan, data); err != nil {
				return err
			}
			req := client.StartRequest{Plan: plan, Input: data, ID: id, TaskQueue: queue}
			if cmd.Flags().Changed("progress-every") {
				req.ProgressEvery = definition.Duration{D: every, Set: true}
			}
			if err := req.Validate(); err != nil {
				return badInput("%v", err)
			}

			// A bad REDIS_URL is refused before anything starts.
			var m *mirror
			if wait {
				var err error
				if m, err = g.openMirror(""); err != nil {
					return err
				}
				if m != nil {
					defer m.close()
				}
			}

			ctx := cmd.Context()
			c, err := g.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()

			idle, err := c.Unpolled(ctx, client.Queues(plan, queue))
			if err != nil {
				return failed(err)
			}
			var warnings []string
			for _, u := range idle {
				w := idleWarning(u)
				g.warn("%s", w)
				warnings = append(warnings, w)
			}
			if w, err := checkActions(ctx, c, plan, queue, idle); err != nil {
				return err
			} else if w != "" {
				g.warn("%s", w)
				warnings = append(warnings, w)
			}
			s, view, err := g.start(ctx, c, req, plan, warnings)
			if err != nil {
				return err
			}
			return g.reportStarted(ctx, c, m, view, s, plan, wait)
		},
	}
	f := cmd.Flags()
	f.StringVar(&input, "input", "", "the run's input: a JSON object, or @FILE to read one (@- for standard input)")
	f.StringVar(&id, "id", "", "workflow ID (default: the definition's name and 8 random hex digits)")
	f.StringVar(&queue, "task-queue", contract.DefaultTaskQueue, "task queue of the workflow and of the steps that name no specialist")
	lf.register(cmd)
	f.BoolVar(&wait, "wait", false, "follow the run to the end and exit with its outcome")
	f.DurationVar(&every, "progress-every", workflows.DefaultProgressEvery,
		"how old the last write must be before a change of progress alone reaches the WorkflowProgress search attribute (0: every change)")
	return cmd
}

// checkInput refuses, before anything starts, an input that does not match
// the input_schema of the definition in file, listing every mismatch.
func checkInput(file string, plan *definition.Plan, input map[string]any) error {
	ps, err := plan.CheckInput(input)
	if err != nil {
		return badInput("%s: %v", file, err)
	}
	if len(ps) == 0 {
		return nil
	}
	lines := ps.InputLines()
	for i := range lines {
		lines[i] = "  " + lines[i]
	}
	noun := "problems"
	if len(ps) == 1 {
		noun = "problem"
	}
	return badInput("the input does not match the input_schema of %s, %d %s; nothing was started (give --input a JSON object that matches it):\n%s",
		file, len(ps), noun, strings.Join(lines, "\n"))
}

// idleWarning says what waits on a task queue no worker polls.
func idleWarning(u client.QueueUse) string {
	if u.Workflow {
		return fmt.Sprintf("no worker polls %s; the run will wait until one does (start one with make run)", u.Queue)
	}
	what := "step " + u.Steps[0]
	if len(u.Steps) > 1 {
		what = "steps " + strings.Join(u.Steps, ", ")
	}
	return fmt.Sprintf("no worker polls %s; %s will wait until one does", u.Queue, what)
}

// checkActions refuses a plan naming an action that the workers of the
// run's queue do not offer (exit 2, nothing started). It asks only when
// the plan names actions beyond the built-ins, and only a queue that has
// a worker; a worker that does not answer (an older one) leaves a warning.
func checkActions(ctx context.Context, c *client.Client, plan *definition.Plan, queue string, idle []client.QueueUse) (warning string, err error) {
	if len(client.MissingActions(plan, nil)) == 0 {
		return "", nil
	}
	for _, u := range idle {
		if u.Workflow {
			return "", nil // already warned: no worker to ask
		}
	}
	offered, err := c.OfferedActions(ctx, queue)
	if errors.Is(err, client.ErrNoAnswer) {
		return fmt.Sprintf("could not check the plan's actions: %v", err), nil
	}
	if err != nil {
		return "", failed(err)
	}
	missing := client.MissingActions(plan, offered)
	if len(missing) == 0 {
		return "", nil
	}
	lines := make([]string, len(missing))
	for i, m := range missing {
		lines[i] = fmt.Sprintf("  action %q (step %s)", m.Action, strings.Join(m.Steps, ", "))
	}
	return "", badInput("no worker of %s offers what the plan runs there; nothing was started:\n%s\nthe workers offer: %s\n(register the action in the worker, or run the step on a specialist's queue)",
		queue, strings.Join(lines, "\n"), strings.Join(offered, ", "))
}

// start starts the run req asks for and returns the view that reports
// it, with warnings and the server's own warning, if any.
func (g *globals) start(ctx context.Context, c *client.Client, req client.StartRequest, plan *definition.Plan, warnings []string) (*client.Started, startedView, error) {
	s, err := c.Start(ctx, req)
	if err != nil {
		return nil, startedView{}, failed(err)
	}
	if s.Warning != "" {
		g.warn("warning: %s", s.Warning)
		warnings = append(warnings, s.Warning)
	}
	return s, startedView{
		WorkflowID: s.WorkflowID,
		RunID:      s.RunID,
		Namespace:  c.Namespace(),
		TaskQueue:  s.TaskQueue,
		Definition: plan.Name,
		Hash:       plan.Hash,
		Warnings:   warnings,
		show:       showCommand(s.WorkflowID, g.address, g.namespace),
	}, nil
}

// reportStarted prints a started run (run, retry) and, with wait, follows
// it to its end and prints the outcome; the exit code is the outcome's.
func (g *globals) reportStarted(ctx context.Context, c *client.Client, m *mirror, view startedView, s *client.Started, plan *definition.Plan, wait bool) error {
	if !g.json {
		if err := renderStarted(g.stdout, view); err != nil {
			return err
		}
	}
	if !wait {
		if g.json {
			return g.printJSON(view)
		}
		return nil
	}
	o, err := g.followRun(ctx, c, m, s.WorkflowID, s.RunID, s.TaskQueue, true)
	if err != nil {
		return err
	}
	if o.TotalSteps == 0 {
		o.TotalSteps = plan.TotalSteps
	}
	if g.json {
		view.Outcome = &o
		if err := g.printJSON(view); err != nil {
			return err
		}
	}
	return g.finish(o)
}

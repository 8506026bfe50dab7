package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/starter/client"
	"github.com/statedriven/statedriven/statemachine"
)

// signalView is what cancel prints with --json, and pause and resume when
// they fell back to the signal.
type signalView struct {
	WorkflowID string `json:"workflow_id"`
	Signal     string `json:"signal,omitempty"`
	// Terminated is set by cancel --terminate, which sends no signal.
	Terminated bool   `json:"terminated,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Who        string `json:"who,omitempty"`
	// Warning says that the run's answer cannot be known (pause and
	// resume sent as a signal to an older worker).
	Warning string `json:"warning,omitempty"`
}

// steerFlags adds the flags every verb that steers a run takes: --reason
// and --who.
func (g *globals) steerFlags(cmd *cobra.Command, reason *string) {
	cmd.Flags().StringVar(reason, "reason", "", "why, kept in the run's history")
	cmd.Flags().StringVar(&g.who, "who", "", "who asks, kept in the run's history and by Temporal (default $USER@hostname)")
}

// signal sends a signal and says it was sent.
func (g *globals) signal(ctx context.Context, c *client.Client, id, name string, r contract.Reason, warning string) error {
	if err := c.Signal(ctx, id, name, r); err != nil {
		return failed(err)
	}
	if g.json {
		return g.printJSON(signalView{WorkflowID: id, Signal: name, Reason: r.Reason, Who: r.Who, Warning: warning})
	}
	_, err := fmt.Fprintf(g.stdout, "sent %s to %s\n", name, id)
	return err
}

// updateView is what the verbs that send an update print with --json:
// Result is the run's answer, a contract.StateView.
type updateView struct {
	WorkflowID string          `json:"workflow_id"`
	Update     string          `json:"update"`
	Reason     string          `json:"reason,omitempty"`
	Who        string          `json:"who,omitempty"`
	Result     json.RawMessage `json:"result"`
}

// update sends an update to the latest run of id and waits for the run's
// answer: the StateView, nil when the run answered something else. A
// refusal matches client.ErrRefused; the caller gives errors their exit
// code with failed.
func (g *globals) update(ctx context.Context, c *client.Client, id, name string, payload any) (*contract.StateView, json.RawMessage, error) {
	// An update waits for a worker to run it; say so rather than hang in
	// silence.
	d, err := c.Describe(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if d.Stuck() {
		g.warn("the worker fails this run's workflow task (starter status %s shows its error): the %s waits until the worker is fixed (press Ctrl-C)",
			shellQuote(d.WorkflowID), name)
	} else if d.Running {
		if n, err := c.Pollers(ctx, d.TaskQueue); err == nil && n == 0 {
			g.warn("no worker is polling task queue %s: the %s waits until one runs it (start one with make run, or press Ctrl-C)", d.TaskQueue, name)
		}
	}
	raw, err := c.Update(ctx, id, name, payload)
	if err != nil {
		return nil, nil, err
	}
	// A run that answers something else (an older worker's approve
	// answers nothing) still took the update: there is just no view.
	var v *contract.StateView
	if err := json.Unmarshal(raw, &v); err != nil {
		v = nil
	}
	return v, raw, nil
}

// answered prints what a run answered to an update: the update view with
// --json, else line.
func (g *globals) answered(id, name string, r contract.Reason, raw json.RawMessage, line string) error {
	if g.json {
		return g.printJSON(updateView{WorkflowID: id, Update: name, Reason: r.Reason, Who: r.Who, Result: raw})
	}
	_, err := fmt.Fprintln(g.stdout, line)
	return err
}

// where says where a run stands after an update: "now PROCESSING, going
// on with ship".
func where(v *contract.StateView) string {
	if v == nil {
		return ""
	}
	s := "now " + v.State.String()
	if v.Next != "" {
		s += ", going on with " + v.Next
	}
	if v.RollingBack {
		s += ", running compensations"
	}
	return s
}

// withWhere appends where(v) to line as ": …" when there is something to
// say.
func withWhere(line string, v *contract.StateView) string {
	if w := where(v); w != "" {
		return line + ": " + w
	}
	return line
}

const updateRefusal = "When the run refuses it, starter prints the run's reason on stderr and exits 1."

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
			r := contract.Reason{Reason: reason, Who: c.Identity()}
			_, raw, err := g.update(ctx, c, args[0], name, r)
			if err != nil {
				return failed(err)
			}
			return g.answered(args[0], name, r, raw, fmt.Sprintf("%s accepted %s", args[0], name))
		}),
	}
	g.steerFlags(cmd, &reason)
	return cmd
}

// newPause makes the pause verb.
func newPause(g *globals) *cobra.Command {
	return newPauseResume(g, contract.UpdatePause, "Pause a run: it stops before its next step until resumed",
		func(id string, v *contract.StateView) string {
			switch {
			case v == nil:
				return id + " paused"
			case v.State != statemachine.Paused:
				// The run took the pause and acts on it between steps.
				return withWhere(id+" pauses before its next step", v)
			}
			return fmt.Sprintf("%s paused (resume returns to %s)", id, v.Resumes)
		})
}

// newResume makes the resume verb.
func newResume(g *globals) *cobra.Command {
	return newPauseResume(g, contract.UpdateResume, "Resume a paused run where it left off",
		func(id string, v *contract.StateView) string { return withWhere(id+" resumed", v) })
}

// newPauseResume makes pause or resume: the update of that name, which
// says whether the run took it, or for a worker that does not know the
// update, the signal of that name.
func newPauseResume(g *globals, name, short string, line func(id string, v *contract.StateView) string) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   name + " ID",
		Short: short,
		Long: short + ".\n\n" +
			"It sends the " + name + " update to the latest run of workflow ID and waits for the run's answer.\n" +
			"When the run refuses it (pausing a paused run, resuming one that is not paused), starter prints the\n" +
			"run's reason on stderr and exits 1. When the run's worker is older and does not know the update,\n" +
			"starter sends the " + name + " signal instead and warns that the run's answer cannot be known\n" +
			"(starter status ID shows the effect).",
		Args: cobra.ExactArgs(1),
		RunE: g.withClient(func(ctx context.Context, c *client.Client, args []string) error {
			id := args[0]
			r := contract.Reason{Reason: reason, Who: c.Identity()}
			v, raw, err := g.update(ctx, c, id, name, r)
			if errors.Is(err, client.ErrUnknownUpdate) {
				w := fmt.Sprintf("the worker of %s does not know the %s update (it is older than this starter): sent the %s signal instead, "+
					"so whether the run takes it cannot be known (starter status %s shows it)", id, name, name, shellQuote(id))
				g.warn("warning: %s", w)
				return g.signal(ctx, c, id, name, r, w)
			}
			if err != nil {
				return failed(err)
			}
			return g.answered(id, name, r, raw, line(id, v))
		}),
	}
	g.steerFlags(cmd, &reason)
	return cmd
}

// newRollback makes the rollback verb.
func newRollback(g *globals) *cobra.Command {
	var (
		reason string
		steps  int
	)
	cmd := &cobra.Command{
		Use:   contract.UpdateRollback + " ID --steps N",
		Short: "Undo a run's last N completed steps, running their compensations, and go on from the first one undone",
		Long: "Undo a run's last N completed steps and go on from the first one undone.\n\n" +
			"It sends the rollback update to the latest run of workflow ID and waits for the run's answer. The\n" +
			"run runs the compensations of the undone steps, newest first; a parallel group counts as one step.\n" +
			updateRefusal + " --steps below 1 is bad usage (exit 2).",
		Example: "  starter rollback order-42 --steps 2 --reason 'wrong address'",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if steps < 1 {
				return badInput("--steps %d: give how many completed steps to undo, 1 or more", steps)
			}
			return g.withClient(func(ctx context.Context, c *client.Client, args []string) error {
				req := contract.RollbackRequest{Steps: steps, Reason: reason, Who: c.Identity()}
				v, raw, err := g.update(ctx, c, args[0], contract.UpdateRollback, req)
				if err != nil {
					return failed(err)
				}
				noun := "steps"
				if steps == 1 {
					noun = "step"
				}
				return g.answered(args[0], contract.UpdateRollback, contract.Reason{Reason: reason, Who: req.Who}, raw,
					withWhere(fmt.Sprintf("%s rolled back %d %s", args[0], steps, noun), v))
			})(cmd, args)
		},
	}
	g.steerFlags(cmd, &reason)
	cmd.Flags().IntVar(&steps, "steps", 0, "how many completed steps to undo (1 or more)")
	return cmd
}

// newTransition makes the transition verb.
func newTransition(g *globals) *cobra.Command {
	var reason, to string
	cmd := &cobra.Command{
		Use:   contract.UpdateTransition + " ID --to STATE",
		Short: "Move a run to another state by hand, through the state machine's table and guards",
		Long: "Move a run to another state by hand.\n\n" +
			"It sends the transition update to the latest run of workflow ID and waits for the run's answer.\n" +
			"STATE is one of " + strings.Join(stateNames(), " ") + ", in any case; a name\n" +
			"that is not a state is bad usage (exit 2). Whether the move is allowed from where the run stands is\n" +
			"the run's to decide (the transition table in the README). " + updateRefusal,
		Example: "  starter transition order-42 --to review --reason 'needs a second look'",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			state, err := parseState(to)
			if err != nil {
				return err
			}
			return g.withClient(func(ctx context.Context, c *client.Client, args []string) error {
				req := contract.TransitionRequest{To: state, Reason: reason, Who: c.Identity()}
				v, raw, err := g.update(ctx, c, args[0], contract.UpdateTransition, req)
				if err != nil {
					return failed(err)
				}
				line := fmt.Sprintf("%s moved to %s", args[0], state)
				if v != nil && v.Next != "" {
					line += ", going on with " + v.Next
				}
				return g.answered(args[0], contract.UpdateTransition, contract.Reason{Reason: reason, Who: req.Who}, raw, line)
			})(cmd, args)
		},
	}
	g.steerFlags(cmd, &reason)
	cmd.Flags().StringVar(&to, "to", "", "the state to move to: "+strings.Join(stateNames(), ", "))
	return cmd
}

// newSkip makes the skip verb.
func newSkip(g *globals) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   contract.UpdateSkip + " ID",
		Short: "Skip a run's current step: it goes on as if the step had succeeded",
		Long: "Skip a run's current step: the run goes on with the step that follows it as if it had succeeded.\n\n" +
			"It sends the skip update to the latest run of workflow ID and waits for the run's answer.\n" +
			updateRefusal,
		Args: cobra.ExactArgs(1),
		RunE: g.withClient(func(ctx context.Context, c *client.Client, args []string) error {
			r := contract.Reason{Reason: reason, Who: c.Identity()}
			v, raw, err := g.update(ctx, c, args[0], contract.UpdateSkip, r)
			if err != nil {
				return failed(err)
			}
			return g.answered(args[0], contract.UpdateSkip, r, raw, withWhere(args[0]+" skipped its current step", v))
		}),
	}
	g.steerFlags(cmd, &reason)
	return cmd
}

// newModify makes the modify verb.
func newModify(g *globals) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   contract.UpdateModify + " ID FILE",
		Short: "Replace the steps a run has not reached with those of a new definition",
		Long: "Replace the steps a run has not reached with those of the definition in FILE.\n\n" +
			"FILE is checked and compiled as run does it: its problems are printed as validate prints them,\n" +
			"exit 2, and nothing is sent. Then the compiled plan goes to the latest run of workflow ID in the\n" +
			"modify update, and starter waits for the run's answer. " + updateRefusal,
		Example: "  starter modify order-42 examples/complex-workflow.yaml --reason 'skip the manual check'",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, file := args[0], args[1]
			plan, problems := loadPlan(file, definition.Options{})
			if plan == nil {
				if g.json {
					if err := g.printJSON(problems); err != nil {
						return err
					}
				} else {
					printValidation(g, problems)
				}
				return &exitError{code: exitBadUsed, err: fmt.Errorf("%s has problems; nothing was sent", file), silent: g.json}
			}
			encoded, err := json.Marshal(plan)
			if err != nil {
				return badInput("%s: the compiled plan cannot be encoded as JSON: %v", file, err)
			}
			return g.withClient(func(ctx context.Context, c *client.Client, _ []string) error {
				req := contract.ModifyRequest{Plan: encoded, Reason: reason, Who: c.Identity()}
				v, raw, err := g.update(ctx, c, id, contract.UpdateModify, req)
				if err != nil {
					return failed(err)
				}
				hash := plan.Hash
				if v != nil && v.PlanHash != "" {
					hash = v.PlanHash
				}
				return g.answered(id, contract.UpdateModify, contract.Reason{Reason: reason, Who: req.Who}, raw,
					withWhere(fmt.Sprintf("%s follows %s (%s) from now on", id, plan.Name, client.ShortHash(hash)), v))
			})(cmd, args)
		},
	}
	g.steerFlags(cmd, &reason)
	return cmd
}

// stateNames are the names --to takes.
func stateNames() []string {
	var out []string
	for _, s := range statemachine.States() {
		out = append(out, s.String())
	}
	return out
}

// parseState reads --to: a state's name in any case, spelt back as the
// state machine spells it.
func parseState(name string) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", badInput("--to is missing: give the state to move to, one of %s", strings.Join(stateNames(), ", "))
	}
	s, err := statemachine.ParseState(strings.TrimSpace(name))
	if err != nil {
		return "", badInput("--to %q is not a state: give one of %s", name, strings.Join(stateNames(), ", "))
	}
	return s.String(), nil
}

package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/definition"
)

// legacyFlags are the flags by which run and convert take a task list of
// the old system instead of a definition file.
type legacyFlags struct {
	kind string // "" for a definition file
	id   string // the generated definition's workflow_id
}

func (l *legacyFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&l.kind, "legacy", "", "FILE is a task list of the old system of this kind ("+strings.Join(definition.LegacyKinds, ", ")+"), converted into a definition")
	f.StringVar(&l.id, "legacy-id", "", "with --legacy: the converted definition's workflow_id (default legacy-KIND)")
}

// check refuses --legacy-id without --legacy, and an unknown kind.
func (l *legacyFlags) check(cmd *cobra.Command) error {
	legacy := cmd.Flags().Changed("legacy")
	if cmd.Flags().Changed("legacy-id") && !legacy {
		return badInput("--legacy-id names the definition converted from a task list; give --legacy KIND too")
	}
	if legacy && !strings.Contains(","+strings.Join(definition.LegacyKinds, ",")+",", ","+l.kind+",") {
		return badInput("--legacy %q: the kinds of task list are %s", l.kind, strings.Join(definition.LegacyKinds, ", "))
	}
	return nil
}

// loadLegacy converts and compiles the task list in file; the plan is nil
// when it has problems, which the validation lists as validate lists those
// of a definition file.
func loadLegacy(kind, file, id string, opts definition.Options) (*definition.Legacy, *definition.Plan, validation) {
	l, plan, err := definition.LoadLegacy(kind, file, definition.LegacyOptions{WorkflowID: id}, opts)
	if err == nil {
		return l, plan, validation{File: file, Valid: true, Name: plan.Name, Steps: len(plan.Steps), Hash: plan.Hash}
	}
	var ps definition.Problems
	if !errors.As(err, &ps) {
		ps = definition.Problems{{File: file, Message: err.Error()}}
	}
	return nil, nil, validation{File: file, Problems: ps}
}

// load compiles FILE as run takes it: a definition file, or with --legacy
// a task list.
func (l *legacyFlags) load(file string, opts definition.Options) (*definition.Plan, validation) {
	if l.kind == "" {
		return loadPlan(file, opts)
	}
	_, plan, v := loadLegacy(l.kind, file, l.id, opts)
	return plan, v
}

func newConvert(g *globals) *cobra.Command {
	var lf legacyFlags
	cmd := &cobra.Command{
		Use:   "convert --legacy KIND FILE",
		Short: "Convert a task list of the old system into a definition, printed as YAML",
		Long: "convert reads FILE, a task list as the old system's integration layer took it\n" +
			"(create_workflow(KIND, DATA)), converts it into a definition, checks and compiles it as validate\n" +
			"does, and prints it as YAML: a definition file that validate and run accept as is.\n\n" +
			"KIND is sequential ({\"task_chain\": [TASK...]}), parallel ({\"tasks\": [TASK...]}) or conditional\n" +
			"({\"condition\": CEL over input, \"if_true\": [TASK...], \"if_false\": [TASK...]}). A TASK is a string\n" +
			"naming an action (the step takes its name) or an object with name, action and/or specialist, and\n" +
			"optional params and retry, as a step of a definition.\n\n" +
			"A task list with problems prints every one, located in FILE, and exits 2; nothing is printed on\n" +
			"standard output then. With --json the output is {\"file\", \"valid\", \"yaml\"} or the problems.",
		Example: "  starter convert --legacy sequential examples/legacy/sequential.json > orders.yaml\n" +
			"  starter convert --legacy conditional examples/legacy/conditional.json --legacy-id refunds",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("legacy") {
				return badInput("convert needs --legacy KIND: one of %s", strings.Join(definition.LegacyKinds, ", "))
			}
			if err := lf.check(cmd); err != nil {
				return err
			}
			l, _, v := loadLegacy(lf.kind, args[0], lf.id, definition.Options{})
			if l == nil {
				if g.json {
					if err := g.printJSON(v); err != nil {
						return err
					}
				} else {
					printValidation(g, v)
				}
				return &exitError{code: exitBadUsed, err: fmt.Errorf("%s has problems; nothing was converted", args[0]), silent: g.json}
			}
			out, err := l.YAML()
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(converted{File: args[0], Valid: true, Name: v.Name, Hash: v.Hash, YAML: string(out)})
			}
			_, err = g.stdout.Write(out)
			return err
		},
	}
	lf.register(cmd)
	return cmd
}

// converted is convert's JSON output for a task list without problems.
type converted struct {
	File  string `json:"file"`
	Valid bool   `json:"valid"`
	Name  string `json:"name"`
	Hash  string `json:"hash"`
	YAML  string `json:"yaml"`
}

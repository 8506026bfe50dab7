package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/definition"
)

// validation is what validate reports for one file.
type validation struct {
	File     string               `json:"file"`
	Valid    bool                 `json:"valid"`
	Name     string               `json:"name,omitempty"`
	Steps    int                  `json:"steps,omitempty"`
	Hash     string               `json:"hash,omitempty"`
	Problems []definition.Problem `json:"problems,omitempty"`
}

func newValidate(g *globals) *cobra.Command {
	var actionsFile string
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check definitions and list every problem, with where and how to fix it",
		Long: "validate parses, checks and compiles each definition file without starting anything.\n" +
			"It prints every problem at once as FILE:LINE:COL: /json/pointer: message (hint),\n" +
			"and for a valid file its content hash. Exit code 2 when any file has problems.\n\n" +
			"With --actions FILE (- for standard input) it also checks that every action a step runs on\n" +
			"the run's own task queue is a built-in or named in FILE, one name per line (# comments):\n" +
			"what `starter actions` prints for the workers of a task queue.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts definition.Options
			if cmd.Flags().Changed("actions") {
				names, err := readActions(cmd.InOrStdin(), actionsFile)
				if err != nil {
					return badInput("--actions: %v", err)
				}
				opts.Actions = names
			}
			results := make([]validation, 0, len(args))
			bad := 0
			for _, file := range args {
				_, r := loadPlan(file, opts)
				if !r.Valid {
					bad++
				}
				results = append(results, r)
			}
			if g.json {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(results); err != nil {
					return err
				}
			} else {
				for _, r := range results {
					printValidation(g, r)
				}
			}
			if bad > 0 {
				return &exitError{code: exitBadUsed, err: fmt.Errorf("%d of %d definitions have problems", bad, len(args)), silent: g.json}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&actionsFile, "actions", "", "a file naming the actions the workers offer, one per line (- for standard input)")
	return cmd
}

// readActions reads action names, one per line; blank lines and lines
// starting with # are skipped.
func readActions(stdin io.Reader, file string) ([]string, error) {
	var r io.Reader = stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	names := []string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names = append(names, line)
	}
	return names, sc.Err()
}

// loadPlan compiles a definition file; the plan is nil when the file has
// problems, which the validation lists.
func loadPlan(file string, opts definition.Options) (*definition.Plan, validation) {
	plan, err := definition.LoadWith(file, opts)
	if err == nil {
		return plan, validation{File: file, Valid: true, Name: plan.Name, Steps: len(plan.Steps), Hash: plan.Hash}
	}
	var ps definition.Problems
	if !errors.As(err, &ps) {
		// The file could not be read at all.
		ps = definition.Problems{{File: file, Message: err.Error()}}
	}
	return nil, validation{File: file, Problems: ps}
}

func printValidation(g *globals, r validation) {
	if r.Valid {
		fmt.Fprintf(g.stdout, "%s: valid: %s, %d steps, %s\n", r.File, r.Name, r.Steps, r.Hash)
		return
	}
	noun := "problems"
	if len(r.Problems) == 1 {
		noun = "problem"
	}
	fmt.Fprintf(g.stdout, "%s: %d %s\n", r.File, len(r.Problems), noun)
	for _, p := range r.Problems {
		fmt.Fprintln(g.stdout, "  "+p.String())
	}
}

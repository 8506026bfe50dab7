package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/projection"
	"github.com/statedriven/statedriven/starter/client"
)

// projectionWorkers is how many runs verify and rebuild handle at once.
const projectionWorkers = 8

func newProjection(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "projection",
		Short: "Compare the Redis mirror with Temporal, or rebuild it from Temporal",
		Long: "projection checks and repairs the Redis mirror of runs (REDIS_URL and the worker's\n" +
			"STATEDRIVEN_REDIS_* variables). Temporal is the source of truth: verify compares the mirror\n" +
			"with it, rebuild rewrites the mirror from it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newVerify(g), newRebuild(g))
	return cmd
}

// selection is which runs verify and rebuild work on: the IDs given, or
// with --all the runs Temporal lists.
type selection struct {
	all   bool
	query string
}

func (s *selection) flags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&s.all, "all", false,
		"every run of StateDrivenWorkflow that is open, or closed within STATEDRIVEN_REDIS_TTL (24h), as Temporal lists them")
	cmd.Flags().StringVar(&s.query, "query", "", "with --all, a Temporal visibility query that narrows the runs (as list --query)")
}

func (s *selection) check(args []string) error {
	switch {
	case s.all && len(args) > 0:
		return badInput("give workflow IDs or --all, not both")
	case !s.all && len(args) == 0:
		return badInput("give one or more workflow IDs, or --all")
	case !s.all && s.query != "":
		return badInput("--query narrows --all: add --all, or leave --query out")
	}
	return nil
}

// projectionSetup reads the Redis configuration, which verify and rebuild
// cannot do without, and connects to both sides.
func (g *globals) projectionSetup(ctx context.Context, verb string) (*mirror, *client.Client, error) {
	cfg, ok, err := g.redisConfig()
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, badInput("projection %s works on the Redis mirror: set %s (redis://host:port/0)", verb, projection.EnvURL)
	}
	m, err := g.newMirror(cfg)
	if err != nil {
		return nil, nil, err
	}
	c, err := g.dial(ctx)
	if err != nil {
		m.close()
		return nil, nil, err
	}
	return m, c, nil
}

func newVerify(g *globals) *cobra.Command {
	var sel selection
	cmd := &cobra.Command{
		Use:   "verify [ID...|--all]",
		Short: "Compare the Redis mirror of runs with Temporal and print every difference",
		Long: "verify compares, run by run, the Redis mirror with what Temporal says: the progress hash\n" +
			"field by field with the progress query, and the history list with the newest\n" +
			"STATEDRIVEN_REDIS_HISTORY_MAX (10000) records of the run's whole trail (as history --source\n" +
			"temporal reads it): seqs missing from Redis or extra in it, records that differ, and a list\n" +
			"that repeats or skips a seq. A run Redis does not have is a difference.\n\n" +
			"It is safe while runs move: a run whose Redis seq is behind Temporal's, or that moved (or\n" +
			"continued as new) while it was compared, is compared again, for about 2 s, before its\n" +
			"differences are reported.\n\n" +
			"--all checks the runs Temporal lists (open, or closed within STATEDRIVEN_REDIS_TTL; --query\n" +
			"narrows them) and the runs in the Redis index that Temporal does not know, which are reported.\n" +
			"Without --query, runs in the index that Temporal knows but did not list are checked too.\n\n" +
			"Exit code 0 when nothing differs, 1 when anything does or a run could not be compared.",
		Example: "  starter projection verify order-42\n" +
			"  starter projection verify --all\n" +
			"  starter projection verify --all --query \"DefinitionName = 'complex-workflow'\"",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sel.check(args); err != nil {
				return err
			}
			ctx := cmd.Context()
			m, c, err := g.projectionSetup(ctx, "verify")
			if err != nil {
				return err
			}
			defer m.close()
			defer c.Close()
			ids, checks, err := g.verifyTargets(ctx, c, m, sel, args)
			if err != nil {
				return err
			}
			checks = append(checks, eachRun(ctx, ids, func(id string) runCheck {
				ch, err := c.Verify(ctx, m.reader, m.cfg.Options, id)
				if noAnswer(err) {
					ch, err = c.Verify(ctx, m.reader, m.cfg.Options, id)
				}
				return runCheck{WorkflowID: id, Differences: ch.Differences, Error: errText(err)}
			})...)
			slices.SortStableFunc(checks, func(a, b runCheck) int { return strings.Compare(a.WorkflowID, b.WorkflowID) })
			return g.reportVerify(ctx, checks)
		},
	}
	sel.flags(cmd)
	return cmd
}

// runCheck is one run as verify reports it (and its JSON).
type runCheck struct {
	WorkflowID  string   `json:"workflow_id"`
	Differences []string `json:"differences,omitempty"`
	Error       string   `json:"error,omitempty"`
}

// verifyTargets is the IDs to compare, and the runs already known to
// differ: with --all, the IDs in the Redis index that Temporal does not
// know.
func (g *globals) verifyTargets(ctx context.Context, c *client.Client, m *mirror, sel selection, args []string) ([]string, []runCheck, error) {
	if !sel.all {
		return args, nil, nil
	}
	ids, err := c.Recent(ctx, sel.query, time.Now().Add(-m.cfg.Options.WithDefaults().TTL))
	if err != nil {
		return nil, nil, failed(err)
	}
	listed := make(map[string]bool, len(ids))
	for _, id := range ids {
		listed[id] = true
	}
	indexed, err := m.reader.List(ctx, 0)
	if err != nil {
		return nil, nil, failed(fmt.Errorf("read the Redis index at %s: %w", m.cfg.Redacted(), err))
	}
	var unknown []runCheck
	for _, p := range indexed {
		id := p.WorkflowID
		if listed[id] {
			continue
		}
		_, err := c.Describe(ctx, id)
		switch {
		case errors.Is(err, client.ErrNotFound):
			unknown = append(unknown, runCheck{WorkflowID: id,
				Differences: []string{fmt.Sprintf("in redis (seq %d, %s) but Temporal has no run with this ID", p.Seq, p.Status)}})
		case err != nil:
			unknown = append(unknown, runCheck{WorkflowID: id, Error: errText(err)})
		case sel.query == "":
			ids = append(ids, id)
			listed[id] = true
		}
	}
	return ids, unknown, nil
}

func (g *globals) reportVerify(ctx context.Context, checks []runCheck) error {
	var different, broken, total int
	for _, ch := range checks {
		total += len(ch.Differences)
		if len(ch.Differences) > 0 {
			different++
		}
		if ch.Error != "" {
			broken++
		}
	}
	if g.json {
		if checks == nil {
			checks = []runCheck{}
		}
		if err := g.printJSON(checks); err != nil {
			return err
		}
	} else {
		for _, ch := range checks {
			if ch.Error != "" {
				fmt.Fprintf(g.stdout, "%s: could not compare: %s\n", ch.WorkflowID, ch.Error)
			}
			if len(ch.Differences) > 0 {
				fmt.Fprintf(g.stdout, "%s: %d %s\n", ch.WorkflowID, len(ch.Differences), plural(len(ch.Differences), "difference", "differences"))
				for _, d := range ch.Differences {
					fmt.Fprintf(g.stdout, "  %s\n", d)
				}
			}
		}
	}
	summary := fmt.Sprintf("%d %s checked, ", len(checks), plural(len(checks), "run", "runs"))
	switch {
	case different == 0 && broken == 0:
		summary += "no difference"
	case different == 0:
		summary += "no difference found"
	default:
		summary += fmt.Sprintf("%d with differences (%d in all)", different, total)
	}
	if broken > 0 {
		summary += fmt.Sprintf(", %d could not be compared", broken)
	}
	if ctx.Err() != nil {
		return failed(ctx.Err())
	}
	if g.json {
		g.warn("%s", summary)
	} else {
		fmt.Fprintln(g.stdout, summary)
	}
	if different > 0 || broken > 0 {
		return &exitError{code: exitFailed, err: errors.New(summary), silent: true}
	}
	return nil
}

func newRebuild(g *globals) *cobra.Command {
	var sel selection
	cmd := &cobra.Command{
		Use:   "rebuild [ID...|--all]",
		Short: "Rewrite the Redis mirror of runs from Temporal",
		Long: "rebuild rewrites the Redis mirror of each run from Temporal: the progress query's answer\n" +
			"and the newest STATEDRIVEN_REDIS_HISTORY_MAX (10000) records of the run's whole trail replace\n" +
			"its progress hash and history list. It never rewinds: a mirror newer than what Temporal\n" +
			"answered is left as it is, so it is safe while runs move (and a run's own writes carry on\n" +
			"after it). It prints what it did for each run and a summary.\n\n" +
			"--all rebuilds the runs Temporal lists: open, or closed within STATEDRIVEN_REDIS_TTL (--query\n" +
			"narrows them). Exit code 0 when every run was rebuilt, 1 when any failed.",
		Example: "  starter projection rebuild order-42\n" +
			"  starter projection rebuild --all",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sel.check(args); err != nil {
				return err
			}
			ctx := cmd.Context()
			m, c, err := g.projectionSetup(ctx, "rebuild")
			if err != nil {
				return err
			}
			defer m.close()
			defer c.Close()
			ids := args
			if sel.all {
				if ids, err = c.Recent(ctx, sel.query, time.Now().Add(-m.cfg.Options.WithDefaults().TTL)); err != nil {
					return failed(err)
				}
			}
			w := projection.NewWriter(m.rdb, m.cfg.Options)
			results := eachRun(ctx, ids, func(id string) rebuilt {
				b, res, err := c.Rebuild(ctx, w, m.cfg.Options, id)
				if noAnswer(err) {
					b, res, err = c.Rebuild(ctx, w, m.cfg.Options, id)
				}
				r := rebuilt{WorkflowID: id, Seq: res.Seq, Records: len(b.Records), Error: errText(err)}
				r.Newer = err == nil && res.Seq > b.Progress.Seq
				return r
			})
			slices.SortStableFunc(results, func(a, b rebuilt) int { return strings.Compare(a.WorkflowID, b.WorkflowID) })
			return g.reportRebuild(ctx, results)
		},
	}
	sel.flags(cmd)
	return cmd
}

// rebuilt is one run as rebuild reports it (and its JSON).
type rebuilt struct {
	WorkflowID string `json:"workflow_id"`
	// Seq is the seq Redis holds afterwards; Records how many records
	// were written.
	Seq     uint64 `json:"seq"`
	Records int    `json:"records"`
	// Newer says Redis already held a newer seq and was left as it was.
	Newer bool   `json:"newer,omitempty"`
	Error string `json:"error,omitempty"`
}

func (g *globals) reportRebuild(ctx context.Context, results []rebuilt) error {
	failures := 0
	for _, r := range results {
		if r.Error != "" {
			failures++
		}
	}
	if g.json {
		if results == nil {
			results = []rebuilt{}
		}
		if err := g.printJSON(results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			switch {
			case r.Error != "":
				fmt.Fprintf(g.stdout, "%s: failed: %s\n", r.WorkflowID, r.Error)
			case r.Newer:
				fmt.Fprintf(g.stdout, "%s: left as is: Redis holds seq %d, newer than Temporal answered\n", r.WorkflowID, r.Seq)
			default:
				fmt.Fprintf(g.stdout, "%s: rewrote progress at seq %d and %d history %s\n", r.WorkflowID, r.Seq, r.Records, plural(r.Records, "record", "records"))
			}
		}
	}
	summary := fmt.Sprintf("%d %s rebuilt", len(results)-failures, plural(len(results)-failures, "run", "runs"))
	if failures > 0 {
		summary += fmt.Sprintf(", %d failed", failures)
	}
	if ctx.Err() != nil {
		return failed(ctx.Err())
	}
	if g.json {
		g.warn("%s", summary)
	} else {
		fmt.Fprintln(g.stdout, summary)
	}
	if failures > 0 {
		return &exitError{code: exitFailed, err: errors.New(summary), silent: true}
	}
	return nil
}

// eachRun runs do for every ID, projectionWorkers at a time, and returns
// the results in the order of ids.
func eachRun[T any](ctx context.Context, ids []string, do func(id string) T) []T {
	out := make([]T, len(ids))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(projectionWorkers, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = do(ids[i])
			}
		}()
	}
	for i := range ids {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// noAnswer says whether a run's worker did not answer its query in
// time, which verify and rebuild try once more. A query of a closed run
// makes the worker replay the run's whole history, and with eight at once
// (--all) on a busy worker one may take longer than client.QueryTimeout:
// in CI, 2 of 200 did. A worker that is away fails the second try too.
func noAnswer(err error) bool { return errors.Is(err, client.ErrNoAnswer) }

func errText(err error) string {
	if err == nil {
		return ""
	}
	return oneLine(err.Error())
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

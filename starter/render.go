package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/starter/client"
	"github.com/statedriven/statedriven/statemachine"
)

// The renderers below are pure: fixed values in, text out, so tests pin
// what people see.

// Time layouts: history has the millisecond the record carries; the rest
// shows seconds. Everything is in UTC, as the records are.
const (
	historyTime = "2006-01-02T15:04:05.000Z07:00"
	listTime    = "2006-01-02T15:04:05Z07:00"
)

// progressLine is one line of progress:
// "PROCESSING 30% (3/10) steps: process".
func progressLine(p contract.Progress) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d%% (%d/%d)", p.Status, p.ProgressPercentage, p.CompletedSteps, p.TotalSteps)
	if len(p.CurrentSteps) > 0 {
		b.WriteString(" steps: " + strings.Join(p.CurrentSteps, ", "))
	}
	if p.Paused && p.Status != statemachine.Paused.String() {
		b.WriteString(" (paused)")
	}
	if p.Error != "" {
		b.WriteString(" error: " + oneLine(p.Error))
	}
	return b.String()
}

// renderHistory writes the history as a table, oldest first.
func renderHistory(w io.Writer, records []statemachine.Record) error {
	if len(records) == 0 {
		_, err := fmt.Fprintln(w, "no transitions yet")
		return err
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "SEQ\tAT\tFROM→TO\tSTEP\tEVENT\tWHO\tREASON")
	for _, r := range records {
		fmt.Fprintf(tw, "%d\t%s\t%s→%s\t%s\t%s\t%s\t%s\n",
			r.Seq, r.At.UTC().Format(historyTime), r.From, r.To, cell(r.Step), cell(string(r.Event)), cell(r.Who), cell(r.Reason))
	}
	return tw.Flush()
}

// listRow is one run as list prints it (and its JSON).
// A row from the Redis mirror has no Status, StartedAt or ClosedAt (Redis
// does not know them) and has UpdatedAt instead.
type listRow struct {
	WorkflowID string     `json:"workflow_id"`
	RunID      string     `json:"run_id"`
	Status     string     `json:"status,omitempty"`
	State      string     `json:"state,omitempty"`
	Progress   *int64     `json:"progress_percentage,omitempty"`
	Definition string     `json:"definition,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
	UpdatedAt  *time.Time `json:"updated_at,omitempty"`
}

func listRowOf(e client.Execution) listRow {
	r := listRow{
		WorkflowID: e.WorkflowID,
		RunID:      e.RunID,
		Status:     e.Status,
		State:      e.State,
		Definition: e.Definition,
	}
	start := e.Start.UTC()
	r.StartedAt = &start
	if e.HasProgress {
		p := e.Progress
		r.Progress = &p
	}
	if !e.Close.IsZero() {
		c := e.Close.UTC()
		r.ClosedAt = &c
	}
	return r
}

// listRowOfProgress is a run as the Redis mirror lists it.
func listRowOfProgress(p contract.Progress) listRow {
	pct := int64(p.ProgressPercentage)
	at := p.UpdatedAt.UTC()
	return listRow{WorkflowID: p.WorkflowID, RunID: p.RunID, State: p.Status, Progress: &pct, Definition: p.Definition, UpdatedAt: &at}
}

// renderMirroredList writes runs from the Redis mirror as a table: the
// columns of renderList that Redis has, and the last update.
func renderMirroredList(w io.Writer, rows []listRow) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "WORKFLOW ID\tSTATE\tPROGRESS\tDEFINITION\tUPDATED")
	for _, r := range rows {
		progress := "-"
		if r.Progress != nil {
			progress = fmt.Sprintf("%d%%", *r.Progress)
		}
		updated := "-"
		if r.UpdatedAt != nil {
			updated = r.UpdatedAt.Format(listTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.WorkflowID, cell(r.State), progress, cell(r.Definition), updated)
	}
	return tw.Flush()
}

// renderList writes runs as a table.
func renderList(w io.Writer, rows []listRow) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "WORKFLOW ID\tSTATUS\tSTATE\tPROGRESS\tDEFINITION\tSTARTED")
	for _, r := range rows {
		progress := "-"
		if r.Progress != nil {
			progress = fmt.Sprintf("%d%%", *r.Progress)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n",
			r.WorkflowID, r.Status, cell(r.State), progress, cell(r.Definition), r.StartedAt.UTC().Format(listTime))
	}
	return tw.Flush()
}

// Where status found the state.
const (
	sourceQuery            = "state_query"
	sourceSearchAttributes = "search_attributes"
)

// statusView is what status prints (and its JSON).
type statusView struct {
	WorkflowID     string     `json:"workflow_id"`
	RunID          string     `json:"run_id"`
	Definition     string     `json:"definition,omitempty"`
	Summary        string     `json:"summary,omitempty"`
	State          string     `json:"state,omitempty"`
	Resumes        string     `json:"resumes,omitempty"`
	CurrentSteps   []string   `json:"current_steps,omitempty"`
	Progress       *int64     `json:"progress_percentage,omitempty"`
	TemporalStatus string     `json:"temporal_status"`
	TaskQueue      string     `json:"task_queue"`
	StartedAt      time.Time  `json:"started_at"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`
	// Ended and Error say how a closed run ended (one of client.End*)
	// and why it did not complete.
	Ended string `json:"ended,omitempty"`
	Error string `json:"error,omitempty"`
	// Stuck is set while the worker fails the run's workflow task.
	Stuck *stuckView `json:"stuck,omitempty"`
	// Waiting lists the task queues where a step waits and no worker
	// polls.
	Waiting []waitView `json:"waiting,omitempty"`
	// Source says where State came from: the state query, the search
	// attributes when the query could not run, or the Redis mirror
	// (sourceRedis).
	Source string `json:"source"`
	Note   string `json:"note,omitempty"`
}

// stuckView is a workflow task that keeps failing.
type stuckView struct {
	// Attempts is how many attempts have failed so far.
	Attempts int    `json:"failed_attempts"`
	Error    string `json:"error"`
	// Cause is Temporal's classification of the failure.
	Cause  string     `json:"cause,omitempty"`
	Worker string     `json:"worker,omitempty"`
	Since  *time.Time `json:"since,omitempty"`
}

// waitView is a task queue where a step of the run waits for a worker.
type waitView struct {
	TaskQueue string `json:"task_queue"`
	// Specialist is the specialist the queue belongs to, if it is one.
	Specialist  string    `json:"specialist,omitempty"`
	Attempt     int       `json:"attempt"`
	ScheduledAt time.Time `json:"scheduled_at"`
}

// renderStatus writes the status as aligned fields.
func renderStatus(w io.Writer, v statusView) error {
	tw := newTable(w)
	field := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	field("workflow", v.WorkflowID)
	field("run", v.RunID)
	field("definition", cell(v.Definition))
	if v.Summary != "" {
		field("summary", v.Summary)
	}
	state := cell(v.State)
	if v.Resumes != "" {
		state += " (resumes to " + v.Resumes + ")"
	}
	if v.Source == sourceSearchAttributes && v.State != "" {
		state += " (from search attributes)"
	}
	field("state", state)
	if len(v.CurrentSteps) > 0 {
		field("steps", strings.Join(v.CurrentSteps, ", "))
	}
	if v.Progress != nil {
		field("progress", fmt.Sprintf("%d%%", *v.Progress))
	}
	// Only a status read from the Redis mirror alone (Temporal did not
	// answer) lacks these.
	if v.TemporalStatus != "" {
		field("temporal", v.TemporalStatus)
	}
	if v.TaskQueue != "" {
		field("task queue", v.TaskQueue)
	}
	if !v.StartedAt.IsZero() {
		field("started", v.StartedAt.UTC().Format(listTime))
	}
	if v.ClosedAt != nil {
		field("closed", v.ClosedAt.UTC().Format(listTime))
	}
	if v.Ended != "" {
		field("ended", v.Ended)
	}
	if v.Error != "" {
		field("error", oneLine(v.Error))
	}
	if s := v.Stuck; s != nil {
		stuck := fmt.Sprintf("the workflow task failed %d times: %s", s.Attempts, oneLine(s.Error))
		if s.Attempts == 1 {
			stuck = "the workflow task failed: " + oneLine(s.Error)
		}
		if s.Cause != "" {
			stuck += " (" + s.Cause + ")"
		}
		field("stuck", stuck)
		if s.Worker != "" {
			field("worker", s.Worker)
		}
		if s.Since != nil {
			field("since", s.Since.UTC().Format(listTime))
		}
	}
	for _, w := range v.Waiting {
		wait := fmt.Sprintf("a step waits on task queue %s, which no worker polls (since %s", w.TaskQueue, w.ScheduledAt.UTC().Format(listTime))
		if w.Attempt > 1 {
			wait += fmt.Sprintf(", attempt %d", w.Attempt)
		}
		wait += ")"
		if w.Specialist != "" {
			wait += ": start a worker for specialist " + w.Specialist
		}
		field("waiting", wait)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if v.Note != "" {
		_, err := fmt.Fprintln(w, "note: "+v.Note)
		return err
	}
	return nil
}

// startedView is what run prints once the run has started (and its JSON;
// with --wait the outcome joins it).
type startedView struct {
	WorkflowID string   `json:"workflow_id"`
	RunID      string   `json:"run_id"`
	Namespace  string   `json:"namespace"`
	TaskQueue  string   `json:"task_queue"`
	Definition string   `json:"definition"`
	Hash       string   `json:"hash"`
	Warnings   []string `json:"warnings,omitempty"`
	// Retry is set when the run continues an ended one (starter retry).
	Retry   *retryView   `json:"retry,omitempty"`
	Outcome *outcomeView `json:"outcome,omitempty"`
	// show is the Temporal CLI command that shows the run.
	show string
}

// showCommand is the Temporal CLI command that shows a run; it names the
// address and namespace only when the user set them by flag, since the
// Temporal CLI reads the same environment variables.
func showCommand(workflowID, address, namespace string) string {
	cmd := "temporal workflow show -w " + shellQuote(workflowID)
	if address != "" {
		cmd += " --address " + shellQuote(address)
	}
	if namespace != "" {
		cmd += " -n " + shellQuote(namespace)
	}
	return cmd
}

// renderStarted tells people what started and where to look.
func renderStarted(w io.Writer, v startedView) error {
	if _, err := fmt.Fprintf(w, "started %s\n", v.WorkflowID); err != nil {
		return err
	}
	tw := newTable(w)
	fmt.Fprintf(tw, "  run ID\t%s\n", v.RunID)
	fmt.Fprintf(tw, "  definition\t%s (%s)\n", v.Definition, client.ShortHash(v.Hash))
	if r := v.Retry; r != nil {
		fmt.Fprintf(tw, "  retries\trun %s of %s (%s), from step %s\n", r.RunID, r.WorkflowID, r.State, r.From)
		if len(r.Carried) > 0 {
			fmt.Fprintf(tw, "  carried\tthe outputs of %s\n", strings.Join(r.Carried, ", "))
		}
	}
	fmt.Fprintf(tw, "  task queue\t%s\n", v.TaskQueue)
	fmt.Fprintf(tw, "  namespace\t%s\n", v.Namespace)
	fmt.Fprintf(tw, "  see it\t%s (or in the Web UI)\n", v.show)
	return tw.Flush()
}

// outcomeView is how a followed run ended (and its JSON).
type outcomeView struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	State      string `json:"state"`
	// CompletedSteps is nil when no worker answered the progress query.
	CompletedSteps *int   `json:"completed_steps,omitempty"`
	TotalSteps     int    `json:"total_steps,omitempty"`
	DurationMS     int64  `json:"duration_ms"`
	Error          string `json:"error,omitempty"`
}

// renderOutcome writes the final state, the steps, the duration and the
// error of a run that did not complete.
func renderOutcome(w io.Writer, v outcomeView) error {
	if _, err := fmt.Fprintf(w, "%s ended %s\n", v.WorkflowID, v.State); err != nil {
		return err
	}
	tw := newTable(w)
	switch {
	case v.CompletedSteps == nil:
		fmt.Fprintf(tw, "  steps\tnot known: no worker answered the progress query\n")
	case v.TotalSteps > 0:
		fmt.Fprintf(tw, "  steps\t%d of %d completed\n", *v.CompletedSteps, v.TotalSteps)
	default:
		fmt.Fprintf(tw, "  steps\t%d completed\n", *v.CompletedSteps)
	}
	fmt.Fprintf(tw, "  duration\t%s\n", formatDuration(time.Duration(v.DurationMS)*time.Millisecond))
	if v.Error != "" {
		fmt.Fprintf(tw, "  error\t%s\n", oneLine(v.Error))
	}
	return tw.Flush()
}

// formatDuration rounds to what a person reads: 1.234s, 12.35s, 3m4s.
func formatDuration(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= 10*time.Second:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// cell keeps a table cell on one line and shows "-" for nothing.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return oneLine(s)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:/@=+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

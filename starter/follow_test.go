package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/starter/client"
)

// fakeWatcher answers Pollers and Progress from scripts; the last answer
// repeats. When the last progress has been given it delivers the outcome
// on done, as the goroutine waiting for the result would.
type fakeWatcher struct {
	mu       sync.Mutex
	pollers  []int
	progress []any // contract.Progress or error
	done     chan waited
	outcome  client.Outcome
	sent     bool
	queried  int
	checked  int
	// failure, when set, makes the run stuck with it.
	failure *client.TaskFailure
}

func (f *fakeWatcher) Pollers(context.Context, string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checked++
	n := f.pollers[0]
	if len(f.pollers) > 1 {
		f.pollers = f.pollers[1:]
	}
	return n, nil
}

// Describe says the run is running, and stuck when the fake says so.
func (f *fakeWatcher) Describe(_ context.Context, id string) (*client.Description, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := &client.Description{WorkflowID: id, RunID: "run-1", Running: true}
	if f.failure != nil {
		d.WorkflowTask = &client.WorkflowTask{Attempt: 3}
	}
	return d, nil
}

func (f *fakeWatcher) LastTaskFailure(context.Context, string, string) (*client.TaskFailure, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failure, nil
}

func (f *fakeWatcher) Progress(context.Context, string) (contract.Progress, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queried++
	next := f.progress[0]
	if len(f.progress) > 1 {
		f.progress = f.progress[1:]
	} else if !f.sent {
		f.sent = true
		f.done <- waited{outcome: f.outcome}
	}
	if err, ok := next.(error); ok {
		return contract.Progress{}, err
	}
	return next.(contract.Progress), nil
}

// recorder is a display that remembers what it was asked to show.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) show(p contract.Progress) { r.add("show " + progressLine(p)) }
func (r *recorder) say(msg string)           { r.add("say " + msg) }
func (r *recorder) stop()                    { r.add("stop") }
func (r *recorder) add(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

var fast = timing{every: time.Millisecond, query: time.Second, pollers: 0}

func step(status string, done int, steps ...string) contract.Progress {
	return contract.Progress{Status: status, CompletedSteps: done, TotalSteps: 3, ProgressPercentage: done * 100 / 3, CurrentSteps: steps}
}

func TestFollowShowsEachChangeOnce(t *testing.T) {
	t.Parallel()
	p1 := step("PROCESSING", 0, "a")
	p1later := p1
	p1later.UpdatedAt, p1later.Seq = time.Now(), 9 // only the time moved: not a change
	w := &fakeWatcher{
		pollers:  []int{0, 0, 1},
		progress: []any{p1, p1later, step("PROCESSING", 1, "b"), step("COMPLETE", 3)},
		done:     make(chan waited, 1),
		outcome:  client.Outcome{WorkflowID: "wf", State: client.EndComplete},
	}
	d := &recorder{}
	f := follow(context.Background(), w, "wf", "statedriven", w.done, d, fast)
	require.NoError(t, f.err)
	require.Equal(t, client.EndComplete, f.outcome.State)
	require.True(t, f.seen)
	require.Equal(t, step("COMPLETE", 3), f.last)
	require.Equal(t, []string{
		"say still no worker is polling task queue statedriven: waiting for one (start it with make run)",
		"say a worker is polling task queue statedriven now",
		"show PROCESSING 0% (0/3) steps: a",
		"show PROCESSING 33% (1/3) steps: b",
		"show COMPLETE 100% (3/3)",
		"stop",
	}, d.events)
	require.Equal(t, 3, w.checked, "once a worker is seen, pollers are not asked again")
}

func TestFollowLooksForAWorkerAgainWhenQueriesGetNoAnswer(t *testing.T) {
	t.Parallel()
	noAnswer := &client.Error{Kind: client.ErrNoAnswer, Message: "no answer", Err: context.DeadlineExceeded}
	w := &fakeWatcher{
		pollers:  []int{1},
		progress: []any{noAnswer, errors.New("transient"), step("PROCESSING", 1, "b")},
		done:     make(chan waited, 1),
		outcome:  client.Outcome{State: client.EndFailed, Error: "boom"},
	}
	d := &recorder{}
	f := follow(context.Background(), w, "wf", "statedriven", w.done, d, fast)
	require.NoError(t, f.err)
	require.Equal(t, client.EndFailed, f.outcome.State)
	require.Equal(t, 2, w.checked, "after a query got no answer, follow checks for a worker again")
	require.Equal(t, []string{
		"say no worker answers the progress query (is one polling task queue statedriven? start one with make run): waiting",
		"say a worker is polling task queue statedriven now",
		"show PROCESSING 33% (1/3) steps: b",
		"stop",
	}, d.events)
}

// A query that fails because the worker fails the run's workflow task is
// said to be that, once, not "no worker answers".
func TestFollowSaysARunIsStuck(t *testing.T) {
	t.Parallel()
	refused := &client.Error{Kind: client.ErrRefused, Message: "workflow wf refused the query: panic: boom"}
	w := &fakeWatcher{
		pollers:  []int{1},
		progress: []any{refused, refused, refused, step("PROCESSING", 1, "b")},
		done:     make(chan waited, 1),
		outcome:  client.Outcome{State: client.EndComplete},
		failure:  &client.TaskFailure{Message: "panic: boom\nstack"},
	}
	d := &recorder{}
	f := follow(context.Background(), w, "wf", "statedriven", w.done, d, fast)
	require.NoError(t, f.err)
	require.Equal(t, []string{
		"say the run is stuck, its worker fails its workflow task: panic: boom stack; it makes no progress until the worker is fixed " +
			"(starter cancel wf --terminate ends it): waiting",
		"say the run's workflow task runs again",
		"show PROCESSING 33% (1/3) steps: b",
		"stop",
	}, d.events)
}

func TestFollowStopsWhenInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := &fakeWatcher{pollers: []int{0}, progress: []any{step("PROCESSING", 0)}, done: make(chan waited)}
	d := &recorder{}
	f := follow(ctx, w, "wf", "q", w.done, d, fast)
	require.ErrorIs(t, f.err, context.Canceled)
	require.False(t, f.seen)
	require.Equal(t, []string{"stop"}, d.events, "no 'no worker' message for a cancelled context")
}

func TestOutcomeOfFollowed(t *testing.T) {
	t.Parallel()
	f := followed{
		waited: waited{outcome: client.Outcome{WorkflowID: "wf", RunID: "r", State: client.EndComplete,
			Start: at, Close: at.Add(2500 * time.Millisecond)}},
		last: step("COMPLETE", 3), seen: true,
	}
	three := 3
	require.Equal(t, outcomeView{WorkflowID: "wf", RunID: "r", State: "COMPLETE", CompletedSteps: &three, TotalSteps: 3, DurationMS: 2500},
		outcomeOf(f, time.Hour))
	f.outcome.Start = time.Time{}
	require.Equal(t, int64(3_600_000), outcomeOf(f, time.Hour).DurationMS, "without Temporal's times, the time spent following")
	f.seen = false
	require.Nil(t, outcomeOf(f, time.Hour).CompletedSteps, "no progress seen: the steps are not known")
}

func TestLineDisplay(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	d := lineDisplay{w: &buf}
	d.say("still no worker")
	d.show(step("PROCESSING", 1, "b"))
	d.stop()
	require.Equal(t, "starter: still no worker\nPROCESSING 33% (1/3) steps: b\n", buf.String())

	buf.Reset()
	q := quietDisplay{w: &buf}
	q.show(step("PROCESSING", 1, "b"))
	q.say("hello")
	require.Equal(t, "starter: hello\n", buf.String())
}

func TestBarDisplay(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	d := newBarDisplay(&buf)
	d.show(contract.Progress{Status: "PROCESSING", CurrentSteps: []string{"process"}, ProgressPercentage: 30, CompletedSteps: 3, TotalSteps: 10})
	require.Contains(t, buf.String(), "30%")
	require.Contains(t, buf.String(), "PROCESSING 3/10 process")
	d.say("a worker is polling task queue statedriven now")
	require.Contains(t, buf.String(), "starter: a worker is polling task queue statedriven now\n")
	d.stop()
	fmt.Fprint(&buf, "END")
	require.Contains(t, buf.String(), "\rEND", "stop clears the bar's line for the outcome")
}

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	require.False(t, isTerminal(&bytes.Buffer{}))
}

func TestChangeKeyIgnoresTime(t *testing.T) {
	t.Parallel()
	a := step("PROCESSING", 1, "b")
	b := a
	b.UpdatedAt, b.Seq = at, 42
	require.Equal(t, changeKey(a), changeKey(b))
	b.CurrentSteps = []string{"b", "c"}
	require.NotEqual(t, changeKey(a), changeKey(b))
}

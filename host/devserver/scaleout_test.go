package devserver_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/statedriven/statedriven/activities"
	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/host"
	"github.com/statedriven/statedriven/host/devserver"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

// workerEnv makes the test binary run as a statedriven worker process
// (host.Main with the built-ins), so that a test can run several and kill
// one with SIGKILL.
const workerEnv = "STATEDRIVEN_TEST_WORKER_PROCESS"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		os.Exit(runWorkerProcess(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func runWorkerProcess(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runner := activities.NewRunner(activities.NewRegistry(), activities.RunnerOptions{})
	return host.Main(ctx, args, os.Stdout, os.Stderr, host.Registration{
		Workflows:  func(w worker.WorkflowRegistry) { workflows.Register(w); runner.RegisterActions(w) },
		Activities: runner.Register,
	}, nil)
}

// workerProcess starts a worker process on queue against s; it is killed
// when the test ends.
func workerProcess(t *testing.T, s *devserver.Server, queue string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "--address", s.FrontendAddress(), "--namespace", s.Namespace(),
		"--task-queue", queue, "--log-level", "warn")
	cmd.Env = append(os.Environ(), workerEnv+"=1")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("worker %d:\n%s", cmd.Process.Pid, out.String())
		}
	})
	return cmd
}

// frontendPort is s's frontend port, to start a server again on it.
func frontendPort(t *testing.T, s *devserver.Server) int {
	t.Helper()
	_, text, err := net.SplitHostPort(s.FrontendAddress())
	require.NoError(t, err)
	port, err := strconv.Atoi(text)
	require.NoError(t, err)
	return port
}

// startServerNoUI starts a server in dir on port (0: a free one) without
// the Web UI, stopped when the test ends.
func startServerNoUI(t *testing.T, dir string, port int) *devserver.Server {
	t.Helper()
	s, err := devserver.Start(context.Background(), devserver.Options{DataDir: dir, Port: port, UIPort: devserver.NoUI, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Stop()) })
	return s
}

func compile(t *testing.T, yaml string) *definition.Plan {
	t.Helper()
	doc, err := definition.Parse(t.Name()+".yaml", []byte(yaml))
	require.NoError(t, err)
	p, err := definition.Compile(doc, definition.Options{})
	require.NoError(t, err)
	return p
}

// requireEachStepOnce checks a finished run's history: contiguous, and
// each of want completed exactly once, in order.
func requireEachStepOnce(t *testing.T, c client.Client, ctx context.Context, id string, want []string) []statemachine.Record {
	t.Helper()
	v, err := c.QueryWorkflow(ctx, id, "", contract.QueryHistory)
	require.NoError(t, err)
	var h []statemachine.Record
	require.NoError(t, v.Get(&h))
	var done []string
	for i, r := range h {
		require.Equal(t, uint64(i+1), r.Seq, "%s: seq contiguous", id)
		if r.Event == statemachine.EventStepCompleted {
			done = append(done, r.Step)
		}
	}
	require.Equal(t, want, done, "%s: each step's completion recorded once", id)
	require.Equal(t, statemachine.Complete, h[len(h)-1].To, id)
	return h
}

// Two worker processes on one task queue, 100 runs of steps that take a
// while, one worker killed with SIGKILL in the middle: every run
// completes on the other, each step's completion recorded once.
func TestTwoWorkersOneKilled(t *testing.T) {
	t.Parallel()
	s := startServerNoUI(t, t.TempDir(), 0)
	c := dial(t, s, client.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	queue := "scale-out"
	workers := []*exec.Cmd{workerProcess(t, s, queue), workerProcess(t, s, queue)}

	plan := compile(t, `
workflow_id: scale-out
initial_step: s1
defaults:
  # A step lost with the killed worker is retried after its heartbeat
  # timeout; no limit on attempts, so a loaded machine (the race detector,
  # the other packages' tests) delays a step rather than failing it.
  timeouts: {start_to_close: 5m, heartbeat: 5s}
  retry: {initial_interval: 100ms, maximum_attempts: 0}
steps:
  - name: s1
    action: wait
    params: {duration: 1s}
    next: s2
  - name: s2
    action: wait
    params: {duration: 1s}
    next: s3
  - name: s3
    action: wait
    params: {duration: 1s}
`)
	const runs = 100
	ids := make([]string, runs)
	handles := make([]client.WorkflowRun, runs)
	for i := range runs {
		ids[i] = fmt.Sprintf("scale-out-%d", i)
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ids[i], TaskQueue: queue},
			contract.WorkflowType, workflows.NewInput(plan, nil))
		require.NoError(t, err)
		handles[i] = run
	}
	// Kill the worker that runs the most of the newest runs' steps, once
	// one runs some: on a loaded machine one worker may take everything
	// for a while, and killing the idle one would prove nothing.
	var victim *exec.Cmd
	require.Eventually(t, func() bool {
		started := map[*exec.Cmd]int{}
		for _, id := range ids[runs-20:] {
			d, err := c.DescribeWorkflowExecution(ctx, id, "")
			if err != nil {
				continue
			}
			for _, a := range d.GetPendingActivities() {
				for _, w := range workers {
					if a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED && strings.HasPrefix(a.GetLastWorkerIdentity(), strconv.Itoa(w.Process.Pid)+"@") {
						started[w]++
					}
				}
			}
		}
		for w, n := range started {
			if victim == nil || n > started[victim] {
				victim = w
			}
		}
		return victim != nil
	}, 5*time.Minute, 20*time.Millisecond)
	require.NoError(t, victim.Process.Signal(syscall.SIGKILL))

	for _, run := range handles {
		var res workflows.Result
		require.NoError(t, run.Get(ctx, &res), run.GetID())
		require.Equal(t, statemachine.Complete, res.State, run.GetID())
	}
	retried := 0
	for _, id := range ids {
		requireEachStepOnce(t, c, ctx, id, []string{"s1", "s2", "s3"})
		iter := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			require.NoError(t, err)
			if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.GetAttempt() > 1 {
				retried++
			}
		}
	}
	t.Logf("%d runs complete; %d steps ran again on the surviving worker", runs, retried)
	require.Positive(t, retried, "the killed worker held steps in flight, which the other one ran again")
}

// The dev server restarted on its SQLite file while runs wait on timers:
// the runs, their timers and the worker process all carry on.
func TestDevServerRestartedWhileRunsWait(t *testing.T) {
	// Not parallel: on a loaded machine (the race detector, the 100-run
	// test) the runs could pass their timers before they are seen waiting.
	dir := t.TempDir()
	s := startServerNoUI(t, dir, 0)
	port := frontendPort(t, s)
	queue := "restart"
	workerProcess(t, s, queue)
	c := newClient(t, s, client.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	plan := compile(t, `
workflow_id: restart
initial_step: nap
steps:
  - name: nap
    wait: {duration: 15s}
    next: after
  - name: after
    action: log
    params: {message: after the restart}
`)
	const runs = 20
	ids := make([]string, runs)
	for i := range runs {
		ids[i] = fmt.Sprintf("restart-%d", i)
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ids[i], TaskQueue: queue},
			contract.WorkflowType, workflows.NewInput(plan, nil))
		require.NoError(t, err)
	}
	for _, id := range ids {
		require.Eventually(t, func() bool {
			v, err := c.QueryWorkflow(ctx, id, "", contract.QueryState)
			var sv contract.StateView
			return err == nil && v.Get(&sv) == nil && sv.State == statemachine.Waiting
		}, time.Minute, 20*time.Millisecond, "%s waits", id)
	}
	c.Close()
	stopped := time.Now()
	require.NoError(t, s.Stop())

	// The same data folder and port; the worker process reconnects.
	s2 := startServerNoUI(t, dir, port)
	c2 := dial(t, s2, client.Options{})
	after := 0
	for _, id := range ids {
		var res workflows.Result
		require.NoError(t, c2.GetWorkflow(ctx, id, "").Get(ctx, &res), id)
		require.Equal(t, statemachine.Complete, res.State, id)
		h := requireEachStepOnce(t, c2, ctx, id, []string{"nap", "after"})
		if h[len(h)-1].At.After(stopped) {
			after++
		}
	}
	t.Logf("%d of %d runs ended after the restart", after, runs)
	require.Positive(t, after, "the timers fired after the restart")
}

// Package testserver gives the starter's tests a real Temporal server: one
// in-process server (temporaltest, SQLite in memory) per test binary, with
// statedriven's search attributes registered, and workers that run the
// real StateDrivenWorkflow and step runner on a queue of the test's own.
// Tests that use it run in parallel without seeing each other's work.
package testserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	sdkclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/common/dynamicconfig"
	servertemporal "go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"

	"github.com/statedriven/statedriven/activities"
	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/projection"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

var (
	once   sync.Once
	server *temporaltest.TestServer
	seq    atomic.Int64
)

// Shared returns the test binary's server, starting it on first use.
func Shared(t testing.TB) *temporaltest.TestServer {
	t.Helper()
	once.Do(func() {
		// As the dev server has them (host/devserver): with one history
		// shard the server otherwise reads its task queues at most 20
		// times a second, and a test that starts 200 runs at once waits
		// tens of seconds for their first workflow tasks. One partition
		// per task queue, so that a task never waits in a partition that
		// the test's two pollers are not polling.
		server = temporaltest.NewServer(temporaltest.WithBaseServerOptions(
			servertemporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
				dynamicconfig.TransferProcessorMaxPollRPS.Key():         []dynamicconfig.ConstrainedValue{{Value: 1000}},
				dynamicconfig.TimerProcessorMaxPollRPS.Key():            []dynamicconfig.ConstrainedValue{{Value: 1000}},
				dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  []dynamicconfig.ConstrainedValue{{Value: 1}},
				dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): []dynamicconfig.ConstrainedValue{{Value: 1}},
			}),
		))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := registerSearchAttributes(ctx, server); err != nil {
			panic(fmt.Sprintf("register search attributes: %v", err))
		}
	})
	return server
}

// Address is the server's frontend host:port.
func Address(t testing.TB) string {
	return Shared(t).GetFrontendHostPort()
}

// Namespace is the server's namespace.
func Namespace(t testing.TB) string {
	return Shared(t).GetDefaultNamespace()
}

// Client is an SDK client of the server, for what the test does beside
// the code under test (closed by the server at the end of the binary).
func Client(t testing.TB) sdkclient.Client {
	return Shared(t).GetDefaultClient()
}

// Queue returns a task queue name no other test uses.
func Queue(t testing.TB) string {
	return fmt.Sprintf("q-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), seq.Add(1))
}

// ID returns a workflow ID no other test uses.
func ID(t testing.TB) string {
	return fmt.Sprintf("wf-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), seq.Add(1))
}

// Worker runs the real workflow and step runner on queue (and the step
// runner on each specialist queue of queue) until the test ends. It
// returns once the server lists the workers' pollers, as the starter's
// checks for a worker read them.
func Worker(t testing.TB, queue string, specialists ...string) {
	t.Helper()
	runWorker(t, queue, projection.Discard, specialists...)
}

// WorkerWithRedis is Worker with the runs mirrored into the Redis at
// redisURL (redistest.Server.URL), as a worker with REDIS_URL set does,
// with the default options (prefix wf, TTL 24 h, 10000 records). It
// returns a function that stops the worker before the test ends (to show
// what reads without a worker); the workers stop at the end of the test
// in any case.
func WorkerWithRedis(t testing.TB, queue, redisURL string) (stop func()) {
	t.Helper()
	rdb, err := projection.Config{URL: redisURL}.WriterClient()
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	writer := projection.NewWriter(rdb, projection.Options{})
	return runWorker(t, queue, writer.Project)
}

func runWorker(t testing.TB, queue string, project func(context.Context, contract.ProjectionBatch) (contract.ProjectionResult, error), specialists ...string) (stop func()) {
	t.Helper()
	runner := activities.NewRunner(activities.NewRegistry(), activities.RunnerOptions{})
	stop = start(t, queue, func(w worker.Worker) {
		workflows.Register(w)
		projection.Register(w, project)
		runner.RegisterActions(w)
		runner.Register(w)
	})
	awaitPollers(t, queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	awaitPollers(t, queue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
	for _, s := range specialists {
		q := contract.SpecialistQueue(queue, s)
		start(t, q, func(w worker.Worker) { runner.Register(w) })
		awaitPollers(t, q, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
	}
	return stop
}

func awaitPollers(t testing.TB, queue string, kind enumspb.TaskQueueType) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := Client(t).DescribeTaskQueue(context.Background(), queue, kind)
		return err == nil && len(resp.GetPollers()) > 0
	}, time.Minute, 10*time.Millisecond, "no %s poller on %s", kind, queue)
}

// BrokenWorker runs, on queue, a workflow registered as
// StateDrivenWorkflow whose every workflow task fails with a panic that
// says message: a run on queue is stuck the way a run is when its worker
// cannot process it (a bug, a payload over the limit).
func BrokenWorker(t testing.TB, queue, message string) {
	t.Helper()
	start(t, queue, func(w worker.Worker) {
		w.RegisterWorkflowWithOptions(func(workflow.Context, workflows.Input) (workflows.Result, error) {
			panic(message)
		}, workflow.RegisterOptions{Name: contract.WorkflowType})
	})
	awaitPollers(t, queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
}

// OversizedWorker runs, on queue, a workflow registered as
// StateDrivenWorkflow that schedules a step whose input (2.5 MB) is over
// Temporal's payload limit: the SDK fails each workflow task before it
// reaches the server, as it did for the runs the issue saw wedge.
func OversizedWorker(t testing.TB, queue string) {
	t.Helper()
	start(t, queue, func(w worker.Worker) {
		w.RegisterWorkflowWithOptions(func(ctx workflow.Context, _ workflows.Input) (workflows.Result, error) {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
			err := workflow.ExecuteActivity(ctx, contract.RunStepName, strings.Repeat("x", 2_500_000)).Get(ctx, nil)
			return workflows.Result{}, err
		}, workflow.RegisterOptions{Name: contract.WorkflowType})
	})
	awaitPollers(t, queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
}

// start runs a worker on queue until the test ends, or until the
// function it returns is called.
func start(t testing.TB, queue string, register func(worker.Worker)) (stop func()) {
	t.Helper()
	w := worker.New(Client(t), queue, worker.Options{})
	register(w)
	require.NoError(t, w.Start())
	stop = sync.OnceFunc(w.Stop)
	t.Cleanup(stop)
	return stop
}

// registerSearchAttributes adds statedriven's search attributes and
// returns once they may be set at a start (the frontend checks them) and
// upserted (the history service does): each service learns of new ones
// when it next refreshes its namespaces, and until then refuses them.
func registerSearchAttributes(ctx context.Context, ts *temporaltest.TestServer) error {
	c := ts.GetDefaultClient()
	_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: ts.GetDefaultNamespace(),
		SearchAttributes: map[string]enumspb.IndexedValueType{
			workflows.StateAttribute.GetName():      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			workflows.ProgressAttribute.GetName():   enumspb.INDEXED_VALUE_TYPE_INT,
			workflows.DefinitionAttribute.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			contract.RedrivenFromAttribute:          enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		},
	})
	if err != nil {
		return err
	}
	const queue = "search-attribute-probe"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		return workflow.UpsertTypedSearchAttributes(ctx,
			workflows.StateAttribute.ValueSet("PROCESSING"), workflows.ProgressAttribute.ValueSet(1), workflows.DefinitionAttribute.ValueSet("probe"))
	}, workflow.RegisterOptions{Name: "SearchAttributeProbe"})
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	opts := sdkclient.StartWorkflowOptions{
		ID: "search-attribute-probe", TaskQueue: queue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.StateAttribute.ValueSet("INITIAL"), workflows.ProgressAttribute.ValueSet(0), workflows.DefinitionAttribute.ValueSet("probe"),
			temporal.NewSearchAttributeKeyKeyword(contract.RedrivenFromAttribute).ValueSet("probe")),
	}
	for {
		// A refused workflow task is retried by the server until the
		// history service knows the attributes.
		run, err := c.ExecuteWorkflow(ctx, opts, "SearchAttributeProbe")
		if err == nil {
			return run.Get(ctx, nil)
		}
		var invalid *serviceerror.InvalidArgument
		if !errors.As(err, &invalid) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// OlderWorker runs the workflow and the step runner on queue like Worker,
// without the workflow that tells which actions it offers, as a worker
// from before it did.
func OlderWorker(t testing.TB, queue string) {
	t.Helper()
	runner := activities.NewRunner(activities.NewRegistry(), activities.RunnerOptions{})
	start(t, queue, func(w worker.Worker) {
		workflows.Register(w)
		projection.Register(w, projection.Discard)
		runner.Register(w)
	})
	awaitPollers(t, queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	awaitPollers(t, queue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
}

// Counter counts the calls of the count action that CountingWorker adds,
// by step.
type Counter struct {
	mu    sync.Mutex
	calls map[string]int
}

// Calls is how many times the count action ran for step (retries
// included).
func (c *Counter) Calls(step string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[step]
}

// CountingWorker is Worker with one more action, count, which counts its
// calls by step (see Counter) and answers its step's input; with params
// {fail_unless: FIELD} it fails, not to be retried, when its input has no
// true FIELD. It shows which steps a run executed, across runs.
func CountingWorker(t testing.TB, queue string) *Counter {
	t.Helper()
	counter := &Counter{calls: map[string]int{}}
	reg := activities.NewRegistry()
	reg.MustRegister("count", func(_ context.Context, in contract.StepInput) (any, error) {
		counter.mu.Lock()
		counter.calls[in.Step]++
		counter.mu.Unlock()
		if field, _ := in.Params["fail_unless"].(string); field != "" {
			obj, _ := in.Input.(map[string]any)
			if ok, _ := obj[field].(bool); !ok {
				return nil, activities.NewNonRetryableError("Refused", "input has no true %s", field)
			}
		}
		return in.Input, nil
	})
	runner := activities.NewRunner(reg, activities.RunnerOptions{})
	start(t, queue, func(w worker.Worker) {
		workflows.Register(w)
		projection.Register(w, projection.Discard)
		runner.RegisterActions(w)
		runner.Register(w)
	})
	awaitPollers(t, queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	awaitPollers(t, queue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
	return counter
}

// PreUpdateWorker runs, on queue, a workflow registered as
// StateDrivenWorkflow that knows no update, as a worker from before pause
// and resume were updates: it waits for the pause signal and returns the
// signal's payload as the output of a step named pause.
func PreUpdateWorker(t testing.TB, queue string) {
	t.Helper()
	start(t, queue, func(w worker.Worker) {
		w.RegisterWorkflowWithOptions(func(ctx workflow.Context, _ workflows.Input) (workflows.Result, error) {
			var r contract.Reason
			workflow.GetSignalChannel(ctx, contract.SignalPause).Receive(ctx, &r)
			return workflows.Result{State: statemachine.Complete, Steps: map[string]any{"pause": map[string]any{"reason": r.Reason, "who": r.Who}}}, nil
		}, workflow.RegisterOptions{Name: contract.WorkflowType})
	})
	awaitPollers(t, queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
}

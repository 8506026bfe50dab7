package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"

	"github.com/statedriven/statedriven/activities"
	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/projection"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

// One in-process Temporal server (SQLite in memory) serves every test of
// the package; each test has its own task queue, so tests run in
// parallel without seeing each other's work.
var (
	testTimeout = 2 * time.Minute
	serverOnce  sync.Once
	server      *temporaltest.TestServer
	queueSeq    atomic.Int64
)

func sharedServer(t testing.TB) *temporaltest.TestServer {
	if t != nil {
		t.Helper()
	}
	serverOnce.Do(func() {
		// The dynamic config replaces temporaltest's, which forces the
		// server to re-read its search attributes from the database on
		// every read. Production servers and the dev server do not; with
		// it, each upsert costs a database read, which made the engine
		// look a tenth slower in the benchmark than it is.
		server = temporaltest.NewServer(temporaltest.WithBaseServerOptions(
			temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
				dynamicconfig.EnableEagerWorkflowStart.Key():     []dynamicconfig.ConstrainedValue{{Value: true}},
				dynamicconfig.EnableActivityEagerExecution.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
				// As the dev server has them (host/devserver).
				dynamicconfig.TransferProcessorMaxPollRPS.Key(): []dynamicconfig.ConstrainedValue{{Value: 1000}},
				dynamicconfig.TimerProcessorMaxPollRPS.Key():    []dynamicconfig.ConstrainedValue{{Value: 1000}},
			}),
		))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := server.GetDefaultClient().OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			Namespace: server.GetDefaultNamespace(),
			SearchAttributes: map[string]enumspb.IndexedValueType{
				workflows.StateAttribute.GetName():      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
				workflows.ProgressAttribute.GetName():   enumspb.INDEXED_VALUE_TYPE_INT,
				workflows.DefinitionAttribute.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			},
		})
		if err != nil {
			panic(fmt.Sprintf("register search attributes: %v", err))
		}
		if err := awaitSearchAttributes(ctx, server.GetDefaultClient()); err != nil {
			panic(fmt.Sprintf("search attributes registered but not usable: %v", err))
		}
	})
	return server
}

// awaitSearchAttributes returns once statedriven's search attributes may
// be set at a start (the frontend checks them) and upserted (the history
// service does): each service learns of new ones when it next refreshes
// its namespaces, and until then refuses them.
func awaitSearchAttributes(ctx context.Context, c client.Client) error {
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
	opts := client.StartWorkflowOptions{
		ID: "search-attribute-probe", TaskQueue: queue,
		TypedSearchAttributes: sdktemporal.NewSearchAttributes(
			workflows.StateAttribute.ValueSet("INITIAL"), workflows.ProgressAttribute.ValueSet(0), workflows.DefinitionAttribute.ValueSet("probe")),
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

// bundle is what a test works with: a client, its own task queue, the
// action registry its worker serves, and a context bounded in time.
type bundle struct {
	t      *testing.T
	ctx    context.Context
	client client.Client
	queue  string
	reg    *activities.Registry
	// project is the worker's Redis projection (nil: one that writes
	// nothing).
	project projection.ProjectFunc
}

// setup returns a test bundle; call start to run a worker on its queue
// once the test has registered its actions.
func setup(t *testing.T) *bundle {
	t.Helper()
	ts := sharedServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return &bundle{
		t:      t,
		ctx:    ctx,
		client: ts.GetDefaultClient(),
		queue:  fmt.Sprintf("q-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), queueSeq.Add(1)),
		reg:    activities.NewRegistry(),
	}
}

// projectionOrDiscard is the bundle's projection, or one that writes
// nothing.
func (b *bundle) projectionOrDiscard() projection.ProjectFunc {
	if b.project != nil {
		return b.project
	}
	return projection.Discard
}

// with returns the bundle for a subtest t, which may run in parallel with
// its siblings.
func (b *bundle) with(t *testing.T) *bundle {
	c := *b
	c.t = t
	// Its own time budget, from when it runs: a parallel subtest may wait
	// for a free slot longer than its parent's budget.
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	c.ctx = ctx
	return &c
}

// startWorker runs a worker on the bundle's queue (and the given
// specialist queues) until the test ends or stop is called.
func (b *bundle) startWorker(specialists ...string) (stop func()) {
	b.t.Helper()
	// The tests' own HTTP servers listen on loopback, which the http
	// action refuses unless allowed.
	runner := activities.NewRunner(b.reg, activities.RunnerOptions{HTTPAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	var workers []worker.Worker
	for _, q := range append([]string{b.queue}, specialistQueues(b.queue, specialists)...) {
		w := worker.New(b.client, q, worker.Options{})
		if q == b.queue {
			workflows.Register(w)
			projection.Register(w, b.projectionOrDiscard())
		}
		runner.Register(w)
		require.NoError(b.t, w.Start())
		workers = append(workers, w)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			for _, w := range workers {
				w.Stop()
			}
		})
	}
	b.t.Cleanup(stop)
	return stop
}

func specialistQueues(queue string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = contract.SpecialistQueue(queue, n)
	}
	return out
}

// plan compiles a definition given as YAML text; its sub-workflows, if
// any, read their files from files (by name).
func (b *bundle) plan(yaml string, files ...map[string]string) *definition.Plan {
	b.t.Helper()
	doc, err := definition.Parse(b.t.Name()+".yaml", []byte(yaml))
	require.NoError(b.t, err)
	var opts definition.Options
	if len(files) > 0 {
		opts.ReadFile = func(name string) ([]byte, error) {
			text, ok := files[0][name]
			if !ok {
				return nil, os.ErrNotExist
			}
			return []byte(text), nil
		}
	}
	p, err := definition.Compile(doc, opts)
	require.NoError(b.t, err)
	return p
}

// load compiles an example file, optionally editing its text first.
func (b *bundle) load(file string, edits ...string) *definition.Plan {
	b.t.Helper()
	if len(edits) == 0 {
		p, err := definition.Load(file)
		require.NoError(b.t, err)
		return p
	}
	data, err := os.ReadFile(file)
	require.NoError(b.t, err)
	text := string(data)
	for i := 0; i+1 < len(edits); i += 2 {
		require.Contains(b.t, text, edits[i])
		text = strings.ReplaceAll(text, edits[i], edits[i+1])
	}
	tmp := filepath.Join(b.t.TempDir(), filepath.Base(file))
	require.NoError(b.t, os.WriteFile(tmp, []byte(text), 0o644))
	// Sub-workflow files are found next to the original.
	for _, f := range []string{"sequential.yaml"} {
		if src, err := os.ReadFile(filepath.Join(filepath.Dir(file), f)); err == nil {
			require.NoError(b.t, os.WriteFile(filepath.Join(filepath.Dir(tmp), f), src, 0o644))
		}
	}
	p, err := definition.Load(tmp)
	require.NoError(b.t, err)
	return p
}

// start launches a run of plan with input and returns its handle.
func (b *bundle) start(plan *definition.Plan, input map[string]any, opts ...func(*workflows.Input)) client.WorkflowRun {
	b.t.Helper()
	in := workflows.NewInput(plan, input)
	for _, o := range opts {
		o(&in)
	}
	run, err := b.client.ExecuteWorkflow(b.ctx, client.StartWorkflowOptions{
		ID:        fmt.Sprintf("%s-%d", b.queue, queueSeq.Add(1)),
		TaskQueue: b.queue,
	}, contract.WorkflowType, in)
	require.NoError(b.t, err)
	return run
}

// finish waits for the run's end and returns its final progress and
// history, read through the queries.
func (b *bundle) finish(run client.WorkflowRun) (contract.Progress, []statemachine.Record, error) {
	b.t.Helper()
	var res workflows.Result
	err := run.Get(b.ctx, &res)
	return b.progress(run), b.history(run), err
}

func (b *bundle) progress(run client.WorkflowRun) contract.Progress {
	b.t.Helper()
	v, err := b.client.QueryWorkflow(b.ctx, run.GetID(), "", contract.QueryProgress)
	require.NoError(b.t, err)
	var p contract.Progress
	require.NoError(b.t, v.Get(&p))
	return p
}

func (b *bundle) history(run client.WorkflowRun) []statemachine.Record {
	b.t.Helper()
	v, err := b.client.QueryWorkflow(b.ctx, run.GetID(), "", contract.QueryHistory)
	require.NoError(b.t, err)
	var h []statemachine.Record
	require.NoError(b.t, v.Get(&h))
	return h
}

// decide sends the approve or reject update and waits until the run has
// handled it; a refusal by the validator is the error.
func (b *bundle) decide(run client.WorkflowRun, update, reason string) error {
	b.t.Helper()
	upd, err := b.client.UpdateWorkflow(b.ctx, client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), UpdateName: update, Args: []any{contract.Reason{Reason: reason}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	return upd.Get(b.ctx, nil)
}

// waitState waits until the run reports state st.
func (b *bundle) waitState(run client.WorkflowRun, st statemachine.State) {
	b.t.Helper()
	require.Eventually(b.t, func() bool {
		v, err := b.client.QueryWorkflow(b.ctx, run.GetID(), "", contract.QueryState)
		if err != nil {
			return false
		}
		var s contract.StateView
		return v.Get(&s) == nil && s.State == st
	}, time.Minute, 20*time.Millisecond, "run never reached %s", st)
}

// steps lists the steps named by records with the given event, in order.
func steps(h []statemachine.Record, ev statemachine.Event) []string {
	var out []string
	for _, r := range h {
		if r.Event == ev {
			out = append(out, r.Step)
		}
	}
	return out
}

// requireContiguous checks the history's seq runs 1, 2, 3… and each
// record starts where the one before ended.
func requireContiguous(t *testing.T, h []statemachine.Record) {
	t.Helper()
	for i, r := range h {
		require.Equal(t, uint64(i+1), r.Seq, "record %d", i)
		if i > 0 {
			require.Equal(t, h[i-1].To, r.From, "record %d starts where %d ended", r.Seq, h[i-1].Seq)
		}
	}
}

// toJSON is a helper for assertions on JSON shapes.
func toJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// events returns the history of a run (runID "" for the latest).
func (b *bundle) events(workflowID, runID string) []*historypb.HistoryEvent {
	b.t.Helper()
	var out []*historypb.HistoryEvent
	iter := b.client.GetWorkflowHistory(b.ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(b.t, err)
		out = append(out, ev)
	}
	return out
}

// upserts lists, for each search attribute upsert in the run's history,
// the names it set, sorted.
func (b *bundle) upserts(workflowID, runID string) [][]string {
	b.t.Helper()
	var out [][]string
	for _, ev := range b.events(workflowID, runID) {
		if a := ev.GetUpsertWorkflowSearchAttributesEventAttributes(); a != nil {
			out = append(out, slices.Sorted(maps.Keys(a.GetSearchAttributes().GetIndexedFields())))
		}
	}
	return out
}

package devserver_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/host"
	"github.com/statedriven/statedriven/host/devserver"
)

// Pipeline runs Shout on its own queue, then WhereAmI on a specialist's.
func Pipeline(ctx workflow.Context, name, specialistQueue string) ([]string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var shouted, where string
	if err := workflow.ExecuteActivity(ctx, "Shout", name).Get(ctx, &shouted); err != nil {
		return nil, err
	}
	ctx = workflow.WithTaskQueue(ctx, specialistQueue)
	if err := workflow.ExecuteActivity(ctx, "WhereAmI").Get(ctx, &where); err != nil {
		return nil, err
	}
	return []string{shouted, where}, nil
}

// host.Run in dev mode, end to end: the dev server, the main worker and a
// specialist's, a workflow across both, and a graceful stop.
func TestHostRunInDevMode(t *testing.T) {
	t.Parallel()

	// The real dev server, on free ports rather than 7233 and 8233.
	servers := make(chan host.DevServer, 1)
	dev := func(ctx context.Context, o host.DevServerOptions) (host.DevServer, error) {
		o.Port, o.UIPort = 0, 0
		s, err := devserver.ForHost(ctx, o)
		if err == nil {
			servers <- s
		}
		return s, err
	}
	stdout := &syncBuffer{}
	// Count the activities that workflow task completions hand back to
	// Run's worker: eager activity execution must stay on.
	var eagerActivities atomic.Int32
	record := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoke(ctx, method, req, reply, cc, opts...)
		if resp, ok := reply.(*workflowservice.RespondWorkflowTaskCompletedResponse); ok && err == nil {
			eagerActivities.Add(int32(len(resp.GetActivityTasks())))
		}
		return err
	}
	cfg := host.Config{
		TaskQueue:   "pipeline",
		Specialists: []string{"checker"},
		Dev:         true,
		DevDataDir:  t.TempDir(),
		DevServer:   dev,
		Stdout:      stdout,
		Client: client.Options{ConnectionOptions: client.ConnectionOptions{
			DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(record)},
		}},
	}
	reg := host.Registration{
		Workflows: func(w worker.WorkflowRegistry) {
			w.RegisterWorkflowWithOptions(Pipeline, workflow.RegisterOptions{Name: "Pipeline"})
		},
		Activities: registerActivities,
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- host.Run(ctx, cfg, reg, testLogger(t)) }()

	var s host.DevServer
	select {
	case s = <-servers:
	case err := <-done:
		require.NoError(t, err)
		require.FailNow(t, "Run returned before its dev server started")
	}
	require.Contains(t, stdout.String(), "Temporal Web UI: "+s.UIAddress()+"\n")
	require.Contains(t, stdout.String(), "Temporal frontend: "+s.FrontendAddress()+" (namespace default)\n")

	c, err := client.Dial(client.Options{HostPort: s.FrontendAddress(), Logger: host.NewSDKLogger(testLogger(t))})
	require.NoError(t, err)
	defer c.Close()
	specialistQueue := contract.SpecialistQueue("pipeline", "checker")
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "pipeline-1", TaskQueue: "pipeline"}, "Pipeline", "hi", specialistQueue)
	require.NoError(t, err)
	var out []string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, []string{"HI!", "pipeline.checker"}, out)
	require.EqualValues(t, 1, eagerActivities.Load(), "Shout, on the workflow's own queue, ran eagerly; WhereAmI, on the specialist's, could not")

	cancel()
	require.NoError(t, <-done, "a cancelled context is a clean stop")
	require.NoError(t, s.Stop(), "Run stopped the dev server; Stop again is a no-op")
}

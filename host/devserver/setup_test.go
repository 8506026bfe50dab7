package devserver_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/statedriven/statedriven/host"
	"github.com/statedriven/statedriven/host/devserver"
)

// syncBuffer is a bytes.Buffer that goroutines share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testLogger collects logs and shows them when the test fails. Unlike
// zaptest's, it may be written to after the test ends (the server's
// goroutines log while they stop).
func testLogger(t *testing.T) *zap.Logger {
	t.Helper()
	buf := &syncBuffer{}
	l, err := host.NewLogger("info", "console", buf)
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", buf.String())
		}
	})
	return l
}

// startServer starts a server on free ports in dir ("" for memory) and
// stops it when the test ends.
func startServer(t *testing.T, dir string) *devserver.Server {
	t.Helper()
	s, err := devserver.Start(context.Background(), devserver.Options{DataDir: dir, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Stop()) })
	return s
}

// dial connects a client to s, closed when the test ends.
func dial(t *testing.T, s *devserver.Server, opts client.Options) client.Client {
	t.Helper()
	c := newClient(t, s, opts)
	t.Cleanup(c.Close)
	return c
}

func newClient(t *testing.T, s *devserver.Server, opts client.Options) client.Client {
	t.Helper()
	opts.HostPort = s.FrontendAddress()
	opts.Namespace = s.Namespace()
	opts.Logger = host.NewSDKLogger(testLogger(t).Named("sdk").WithOptions(zap.IncreaseLevel(zapcore.WarnLevel)))
	c, err := client.Dial(opts)
	require.NoError(t, err)
	return c
}

// Greet is the tiny workflow of these tests: one activity on its own task
// queue.
func Greet(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var out string
	err := workflow.ExecuteActivity(ctx, "Shout", name).Get(ctx, &out)
	return out, err
}

// Shout is Greet's activity.
func Shout(_ context.Context, s string) (string, error) {
	return strings.ToUpper(s) + "!", nil
}

// WhereAmI answers with the task queue it ran on.
func WhereAmI(ctx context.Context) (string, error) {
	return activity.GetInfo(ctx).TaskQueue, nil
}

func registerGreet(w worker.WorkflowRegistry) {
	w.RegisterWorkflowWithOptions(Greet, workflow.RegisterOptions{Name: "Greet"})
}

func registerActivities(w worker.ActivityRegistry) {
	w.RegisterActivityWithOptions(Shout, activity.RegisterOptions{Name: "Shout"})
	w.RegisterActivityWithOptions(WhereAmI, activity.RegisterOptions{Name: "WhereAmI"})
}

// startWorker serves Greet on queue with c, stopped when the test ends.
func startWorker(t *testing.T, c client.Client, queue string) {
	t.Helper()
	t.Cleanup(newWorker(t, c, queue).Stop)
}

func newWorker(t *testing.T, c client.Client, queue string) worker.Worker {
	t.Helper()
	w := worker.New(c, queue, worker.Options{})
	registerGreet(w)
	registerActivities(w)
	require.NoError(t, w.Start())
	return w
}

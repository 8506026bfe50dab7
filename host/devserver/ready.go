package devserver

import (
	"context"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/statedriven/statedriven/host"
)

// awaitReady returns once the server serves the namespace: its search
// attributes are registered, and the history and matching services answer
// through the frontend. The server's Start returns before its services
// have found each other (its membership ring forms in the background), so
// a worker started right away would see "Not enough hosts to serve the
// request" for a while; the services' Unavailable answers are retried
// until ctx ends.
func awaitReady(ctx context.Context, frontend, namespace string) error {
	conn, err := grpc.NewClient(frontend, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial the frontend at %s: %w", frontend, err)
	}
	defer func() { _ = conn.Close() }()
	op := operatorservice.NewOperatorServiceClient(conn)
	wf := workflowservice.NewWorkflowServiceClient(conn)

	steps := []struct {
		what string
		call func() error
	}{
		{"register the search attributes", func() error {
			// A new namespace got them when it was created; this adds
			// them to one that existed before (made by another tool).
			return host.RegisterSearchAttributes(ctx, op, namespace)
		}},
		{"reach the history service", func() error {
			_, err := wf.DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
				Namespace: namespace,
				Execution: &commonpb.WorkflowExecution{WorkflowId: "statedriven-devserver-readiness-probe"},
			})
			if serviceerror.ToStatus(err).Code() == codes.NotFound {
				return nil // history answered
			}
			return err
		}},
		{"reach the matching service", func() error {
			_, err := wf.DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
				Namespace:     namespace,
				TaskQueue:     &taskqueuepb.TaskQueue{Name: "statedriven-devserver-readiness-probe", Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
				TaskQueueType: enumspb.TASK_QUEUE_TYPE_WORKFLOW,
			})
			return err
		}},
	}

	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for _, step := range steps {
		for {
			err := step.call()
			code := serviceerror.ToStatus(err).Code()
			if code == codes.OK {
				break
			}
			if code != codes.Unavailable && code != codes.NotFound {
				return fmt.Errorf("%s: %w", step.what, err)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: %w (the last answer: %w)", step.what, ctx.Err(), err)
			case <-tick.C:
			}
		}
	}
	return nil
}

package client

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestListQuery(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"":                            "WorkflowType = 'StateDrivenWorkflow'",
		"  ":                          "WorkflowType = 'StateDrivenWorkflow'",
		"ExecutionStatus = 'Running'": "WorkflowType = 'StateDrivenWorkflow' AND (ExecutionStatus = 'Running')",
		"DefinitionName = 'a' OR DefinitionName = 'b'": "WorkflowType = 'StateDrivenWorkflow' AND (DefinitionName = 'a' OR DefinitionName = 'b')",
		"WorkflowState = 'REVIEW' order by StartTime":  "WorkflowType = 'StateDrivenWorkflow' AND (WorkflowState = 'REVIEW') order by StartTime",
		"ORDER BY StartTime DESC":                      "WorkflowType = 'StateDrivenWorkflow' ORDER BY StartTime DESC",
	}
	for user, want := range cases {
		require.Equal(t, want, ListQuery(user), "user query %q", user)
	}
}

func TestExecutionOf(t *testing.T) {
	t.Parallel()
	dc := converter.GetDefaultDataConverter()
	payload := func(v any) *commonpb.Payload {
		p, err := dc.ToPayload(v)
		require.NoError(t, err)
		return p
	}
	start := time.Date(2026, 11, 27, 17, 0, 0, 0, time.UTC)
	info := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "order-42", RunId: "run-1"},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		StartTime: timestamppb.New(start),
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
			"WorkflowState":    payload("PROCESSING"),
			"WorkflowProgress": payload(30),
			"DefinitionName":   payload([]string{"complex-workflow"}),
		}},
	}
	e := executionOf(info)
	require.Equal(t, Execution{
		WorkflowID: "order-42", RunID: "run-1", Status: "Running", Start: start,
		State: "PROCESSING", Progress: 30, HasProgress: true, Definition: "complex-workflow",
	}, e)

	bare := executionOf(&workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "old"},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
		StartTime: timestamppb.New(start),
		CloseTime: timestamppb.New(start.Add(time.Minute)),
	})
	require.Equal(t, "Completed", bare.Status)
	require.False(t, bare.HasProgress)
	require.Empty(t, bare.State)
	require.Equal(t, start.Add(time.Minute), bare.Close)
}

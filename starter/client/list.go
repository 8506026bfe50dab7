package client

import (
	"context"
	"fmt"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/grpc/codes"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/workflows"
)

// Execution is one run as a list shows it.
type Execution struct {
	WorkflowID string
	RunID      string
	// Status is Temporal's execution status (Running, Completed, …).
	Status string
	Start  time.Time
	// Close is zero while the run is open.
	Close time.Time
	// State, Progress and Definition are the run's search attributes;
	// Has* say whether they are set.
	State       string
	Progress    int64
	HasProgress bool
	Definition  string
}

// ListQuery narrows a user's visibility query to statedriven runs. An
// ORDER BY clause stays at the end, outside the parentheses.
func ListQuery(user string) string {
	q := fmt.Sprintf("WorkflowType = '%s'", contract.WorkflowType)
	user = strings.TrimSpace(user)
	if user == "" {
		return q
	}
	where, order := user, ""
	if i := strings.LastIndex(strings.ToUpper(user), "ORDER BY"); i >= 0 {
		where, order = strings.TrimSpace(user[:i]), " "+user[i:]
	}
	if where == "" {
		return q + order
	}
	return q + " AND (" + where + ")" + order
}

// List returns up to limit runs (0: all) that match ListQuery(query),
// newest first as the server orders them.
func (c *Client) List(ctx context.Context, query string, limit int) ([]Execution, error) {
	var out []Execution
	var token []byte
	for {
		size := 100
		if limit > 0 && limit-len(out) < size {
			size = limit - len(out)
		}
		resp, err := c.sdk.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace:     c.namespace,
			PageSize:      int32(size),
			NextPageToken: token,
			Query:         ListQuery(query),
		})
		if err != nil {
			if Code(err) == codes.InvalidArgument {
				return nil, &Error{Kind: ErrBadRequest, Message: fmt.Sprintf("Temporal refused the list query %q: %s (see https://docs.temporal.io/list-filter)",
					ListQuery(query), grpcMessage(err)), Err: err}
			}
			return nil, c.explain(err, "")
		}
		for _, info := range resp.GetExecutions() {
			out = append(out, executionOf(info))
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return out, nil
		}
	}
}

func executionOf(info *workflowpb.WorkflowExecutionInfo) Execution {
	e := Execution{
		WorkflowID: info.GetExecution().GetWorkflowId(),
		RunID:      info.GetExecution().GetRunId(),
		Status:     info.GetStatus().String(),
	}
	if info.GetStartTime() != nil {
		e.Start = info.GetStartTime().AsTime()
	}
	if info.GetCloseTime() != nil {
		e.Close = info.GetCloseTime().AsTime()
	}
	fields := info.GetSearchAttributes().GetIndexedFields()
	e.State, _ = keyword(fields, workflows.StateAttribute.GetName())
	e.Definition, _ = keyword(fields, workflows.DefinitionAttribute.GetName())
	if p, ok := fields[workflows.ProgressAttribute.GetName()]; ok {
		e.HasProgress = converter.GetDefaultDataConverter().FromPayload(p, &e.Progress) == nil
	}
	return e
}

// keyword decodes a Keyword search attribute. The server hands Keyword
// values back as a JSON string (or, after some updates, a one-element
// list).
func keyword(fields map[string]*commonpb.Payload, name string) (string, bool) {
	p, ok := fields[name]
	if !ok {
		return "", false
	}
	dc := converter.GetDefaultDataConverter()
	var s string
	if dc.FromPayload(p, &s) == nil {
		return s, true
	}
	var list []string
	if dc.FromPayload(p, &list) == nil && len(list) > 0 {
		return list[0], true
	}
	return "", false
}

// Recent returns the workflow IDs of the statedriven runs that match
// ListQuery(query) and are open, or closed since since: what the Redis
// mirror may still hold. Each ID comes once, however many runs (a
// continue-as-new chain, a reused ID) it had; a user's ORDER BY is not
// allowed here.
func (c *Client) Recent(ctx context.Context, query string, since time.Time) ([]string, error) {
	window := fmt.Sprintf("ExecutionStatus = 'Running' OR CloseTime > '%s'", since.UTC().Format(time.RFC3339))
	q := "(" + window + ")"
	if strings.TrimSpace(query) != "" {
		q = "(" + query + ") AND " + q
	}
	runs, err := c.List(ctx, q, 0)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(runs))
	var ids []string
	for _, r := range runs {
		if !seen[r.WorkflowID] {
			seen[r.WorkflowID] = true
			ids = append(ids, r.WorkflowID)
		}
	}
	return ids, nil
}

package client

import (
	"context"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

// Trail is a run's whole audit trail across its continue-as-new chain.
type Trail struct {
	// Records are the records found, oldest first, each Seq once.
	Records []statemachine.Record
	// Gaps are the ranges of Seq that no run of the chain holds any more
	// (the runs that carried them are past the namespace's retention).
	Gaps []SeqRange
	// Runs is how many runs of the chain were read.
	Runs int
	// RunID is the latest run of the chain, whose records come last;
	// FirstRunID is the chain's first run.
	RunID, FirstRunID string
}

// SeqRange is a range of Seq, both ends included.
type SeqRange struct {
	From, To uint64
}

// Trail reads every record of the run workflowID, oldest first: the
// records the latest run keeps (the history query, page by page), then
// the records each earlier run of the chain received in its input when it
// continued as new, walking back through the chain until Seq 1. A run
// keeps its input as long as the namespace keeps closed runs (its
// retention, 24 h on the dev server), so for a chain older than that the
// oldest records may be gone: they come back as Gaps.
func (c *Client) Trail(ctx context.Context, workflowID string) (*Trail, error) {
	d, err := c.Describe(ctx, workflowID)
	if err != nil {
		return nil, err
	}
	live, err := c.keptRecords(ctx, workflowID, d.RunID)
	if err != nil {
		return nil, err
	}
	t := &Trail{Records: live, Runs: 1, RunID: d.RunID, FirstRunID: d.FirstRunID}
	if t.FirstRunID == "" {
		t.FirstRunID = d.RunID
	}
	lowest := uint64(1)
	if len(live) > 0 {
		lowest = live[0].Seq
	}
	for runID := d.RunID; lowest > 1 && runID != ""; {
		in, prev, err := c.startInput(ctx, workflowID, runID)
		if err != nil {
			return nil, err
		}
		if runID != d.RunID {
			t.Runs++
		}
		var carried []statemachine.Record
		if in.Carry != nil {
			carried = in.Carry.Machine.History
		}
		older := recordsBefore(carried, lowest)
		if len(older) > 0 {
			if end := older[len(older)-1].Seq; end+1 < lowest {
				t.Gaps = append(t.Gaps, SeqRange{From: end + 1, To: lowest - 1})
			}
			t.Records = append(older, t.Records...)
			lowest = older[0].Seq
		}
		runID = prev
	}
	if lowest > 1 {
		t.Gaps = append(t.Gaps, SeqRange{From: 1, To: lowest - 1})
	}
	return t, nil
}

// keptRecords asks the run for every record it keeps, in pages of at most
// contract.MaxHistoryPage.
func (c *Client) keptRecords(ctx context.Context, workflowID, runID string) ([]statemachine.Record, error) {
	var out []statemachine.Record
	req := contract.HistoryRequest{FromSeq: 1, Limit: contract.MaxHistoryPage}
	for {
		var page []statemachine.Record
		if err := c.queryArgs(ctx, workflowID, runID, contract.QueryHistory, &page, req); err != nil {
			return nil, err
		}
		if len(out) > 0 && len(page) > 0 && page[0].Seq != out[len(out)-1].Seq+1 {
			return nil, fmt.Errorf("the history query of %s answered seq %d after %d: the run changed while it was read; try again",
				workflowID, page[0].Seq, out[len(out)-1].Seq)
		}
		out = append(out, page...)
		if len(page) < req.Limit {
			return out, nil
		}
		req.FromSeq = page[len(page)-1].Seq + 1
	}
}

// queryArgs runs a query with arguments on one run and decodes its answer.
func (c *Client) queryArgs(ctx context.Context, workflowID, runID, name string, into any, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	v, err := c.sdk.QueryWorkflow(ctx, workflowID, runID, name, args...)
	if err != nil {
		return c.explainQuery(err, workflowID, name)
	}
	if err := v.Get(into); err != nil {
		return fmt.Errorf("the answer to the %s query is not what package workflows describes: %w", name, err)
	}
	return nil
}

// startInput reads the input a run started with, and the run it continued
// from ("" for the first of the chain), from the first event of its
// history.
func (c *Client) startInput(ctx context.Context, workflowID, runID string) (workflows.Input, string, error) {
	resp, err := c.sdk.WorkflowService().GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace:       c.namespace,
		Execution:       &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: runID},
		MaximumPageSize: 1,
	})
	if err != nil {
		return workflows.Input{}, "", c.explain(err, workflowID)
	}
	events := resp.GetHistory().GetEvents()
	if len(events) == 0 || events[0].GetWorkflowExecutionStartedEventAttributes() == nil {
		return workflows.Input{}, "", fmt.Errorf("run %s of %s: its history does not begin with its start", runID, workflowID)
	}
	attrs := events[0].GetWorkflowExecutionStartedEventAttributes()
	var in workflows.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in); err != nil {
		return workflows.Input{}, "", fmt.Errorf("run %s of %s: its input is not a statedriven input: %w", runID, workflowID, err)
	}
	return in, attrs.GetContinuedExecutionRunId(), nil
}

// recordsBefore returns the records of rs with Seq below seq.
func recordsBefore(rs []statemachine.Record, seq uint64) []statemachine.Record {
	for i, r := range rs {
		if r.Seq >= seq {
			return rs[:i]
		}
	}
	return rs
}

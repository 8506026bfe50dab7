package client

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/statedriven/statedriven/definition"
)

func TestNewWorkflowID(t *testing.T) {
	t.Parallel()
	a, b := NewWorkflowID("complex-workflow"), NewWorkflowID("complex-workflow")
	require.Regexp(t, `^complex-workflow-[0-9a-f]{8}$`, a)
	require.Regexp(t, `^complex-workflow-[0-9a-f]{8}$`, b)
	require.NotEqual(t, a, b)
}

func TestSummary(t *testing.T) {
	t.Parallel()
	hash := "sha256:3f2a9c1b7d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
	require.Equal(t, "Order processing (sha256:3f2a9c1b7d4e)", Summary(&definition.Plan{Name: "orders", Title: "Order processing", Hash: hash}))
	require.Equal(t, "orders (sha256:3f2a9c1b7d4e)", Summary(&definition.Plan{Name: "orders", Hash: hash}))
	require.Equal(t, "abc", ShortHash("abc"))
	require.Equal(t, "0123456789ab", ShortHash("0123456789abcdef"))
}

func TestUnregisteredAttribute(t *testing.T) {
	t.Parallel()
	require.True(t, unregisteredAttribute(serviceerror.NewInvalidArgument("search attribute DefinitionName is not defined")))
	require.True(t, unregisteredAttribute(fmt.Errorf("start: %w",
		serviceerror.NewInvalidArgument("Namespace default has no mapping defined for search attribute DefinitionName"))))
	require.False(t, unregisteredAttribute(serviceerror.NewInvalidArgument("WorkflowId is not set")))
	require.False(t, unregisteredAttribute(serviceerror.NewUnavailable("DefinitionName")))
}

// Queues finds every queue a plan's activities use: plain steps, a
// specialist's, parallel branches, a map's items, a sub-workflow's steps,
// compensations and hooks.
func TestQueues(t *testing.T) {
	t.Parallel()
	p := plan(t, `
workflow_id: everywhere
initial_step: first
hooks:
  on_enter:
    COMPLETE:
      - action: log
        specialist: notifier
        params: {message: done}
steps:
  - name: first
    action: log
    params: {message: hi}
    compensate: {action: log, specialist: undo}
  - name: fan
    action: log
    specialist: checker
    params: {message: a}
    parallel_with: [side]
  - name: side
    action: log
    specialist: checker
    params: {message: b}
  - name: each
    map: {items: "input.orders", action: log, specialist: mapper, params: {message: item}}
  - name: sub
    workflow: {file: child.yaml}
`, "child.yaml", `
workflow_id: child
initial_step: inner
steps:
  - name: inner
    action: log
    specialist: checker
    params: {message: inner}
`)
	require.Equal(t, []QueueUse{
		{Queue: "q", Workflow: true, Steps: []string{"first"}},
		{Queue: "q.undo", Steps: []string{"first"}},
		{Queue: "q.checker", Steps: []string{"fan", "side", "sub/inner"}},
		{Queue: "q.mapper", Steps: []string{"each"}},
		{Queue: "q.notifier", Steps: []string{"on_enter COMPLETE"}},
	}, Queues(p, "q"))
}

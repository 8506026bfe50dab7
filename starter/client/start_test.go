package client

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/workflows"
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
	require.True(t, unregisteredAttribute(serviceerror.NewInvalidArgument("search attribute DefinitionName is not defined"), statedrivenAttributes...))
	require.True(t, unregisteredAttribute(fmt.Errorf("start: %w",
		serviceerror.NewInvalidArgument("Namespace default has no mapping defined for search attribute DefinitionName")), statedrivenAttributes...))
	require.False(t, unregisteredAttribute(serviceerror.NewInvalidArgument("WorkflowId is not set"), statedrivenAttributes...))
	require.False(t, unregisteredAttribute(serviceerror.NewUnavailable("DefinitionName"), statedrivenAttributes...))
	redriven := serviceerror.NewInvalidArgument("search attribute RedrivenFrom is not defined")
	require.True(t, unregisteredAttribute(redriven, RedrivenFromAttribute.GetName()))
	require.False(t, unregisteredAttribute(redriven, statedrivenAttributes...), "only RedrivenFrom is dropped")
}

func TestWithRedrivenFrom(t *testing.T) {
	t.Parallel()
	opts := StartOptions(&definition.Plan{Name: "orders", Hash: "sha256:00"}, "order-42", "q")
	attrs := withRedrivenFrom(opts.TypedSearchAttributes, "run-1")
	require.Equal(t, 4, attrs.Size())
	got, ok := attrs.GetKeyword(RedrivenFromAttribute)
	require.True(t, ok)
	require.Equal(t, "run-1", got)
	name, _ := attrs.GetKeyword(workflows.DefinitionAttribute)
	require.Equal(t, "orders", name)
	progress, ok := attrs.GetInt64(workflows.ProgressAttribute)
	require.True(t, ok)
	require.Zero(t, progress)
}

func TestUnknownUpdate(t *testing.T) {
	t.Parallel()
	require.True(t, unknownUpdate("unknown update pause. KnownUpdates=[approve reject]"))
	require.False(t, unknownUpdate("the run is PAUSED already"))
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

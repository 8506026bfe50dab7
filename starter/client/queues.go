package client

import (
	"context"
	"errors"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
)

// QueueUse is a task queue a run of a plan needs a worker on, and the
// steps that need it.
type QueueUse struct {
	Queue string
	// Workflow says the run itself (and its sub-workflows) runs there;
	// otherwise only steps' activities do.
	Workflow bool
	// Steps are the steps whose activities run there, in plan order
	// ("parent/child" for a sub-workflow's).
	Steps []string
}

// Queues lists the task queues a run of p started on taskQueue uses: the
// workflow's own first, then each activity queue in the order its first
// step appears. Steps without a specialist run on taskQueue; a
// specialist's on contract.SpecialistQueue. Sub-workflows run on the
// parent's queue. Hooks and compensations count as the step they belong
// to ("on_enter PROCESSING" for a hook).
func Queues(p *definition.Plan, taskQueue string) []QueueUse {
	uses := []QueueUse{{Queue: taskQueue, Workflow: true}}
	add := func(specialist, step string) {
		q := taskQueue
		if specialist != "" {
			q = contract.SpecialistQueue(taskQueue, specialist)
		}
		i := slices.IndexFunc(uses, func(u QueueUse) bool { return u.Queue == q })
		if i < 0 {
			uses = append(uses, QueueUse{Queue: q})
			i = len(uses) - 1
		}
		if !slices.Contains(uses[i].Steps, step) {
			uses[i].Steps = append(uses[i].Steps, step)
		}
	}
	walkActionNames(p, "", func(specialist, _, step string) { add(specialist, step) })
	return uses
}

// walkActionNames calls add for every action of p that runs as an
// activity, with its specialist, its name and the name of its step.
func walkActionNames(p *definition.Plan, prefix string, add func(specialist, action, step string)) {
	for i := range p.Steps {
		s := &p.Steps[i]
		name := prefix + s.Name
		if s.Action != "" {
			add(s.Specialist, s.Action, name)
		}
		if s.Map != nil && s.Map.Action != "" {
			add(s.Map.Specialist, s.Map.Action, name)
		}
		if s.Compensate != nil && s.Compensate.Action != "" {
			add(s.Compensate.Specialist, s.Compensate.Action, name)
		}
		if s.Child != nil {
			walkActionNames(s.Child, name+"/", add)
		}
	}
	for _, hooks := range []struct {
		when string
		m    map[string][]definition.Action
	}{{"on_enter", p.OnEnter}, {"on_exit", p.OnExit}} {
		for _, state := range sortedKeys(hooks.m) {
			for _, a := range hooks.m[state] {
				if a.Action != "" {
					add(a.Specialist, a.Action, prefix+hooks.when+" "+state)
				}
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Pollers returns how many workers polled the task queue's workflow tasks
// in the last few minutes (Temporal's own window, so a worker stopped a
// minute ago still counts).
func (c *Client) Pollers(ctx context.Context, taskQueue string) (int, error) {
	return c.pollers(ctx, taskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
}

// ActivityPollers is Pollers for the queue's activity tasks.
func (c *Client) ActivityPollers(ctx context.Context, taskQueue string) (int, error) {
	return c.pollers(ctx, taskQueue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
}

func (c *Client) pollers(ctx context.Context, taskQueue string, kind enumspb.TaskQueueType) (int, error) {
	resp, err := c.sdk.DescribeTaskQueue(ctx, taskQueue, kind)
	if err != nil {
		var ns *serviceerror.NamespaceNotFound
		if Code(err) == codes.NotFound && !errors.As(err, &ns) {
			// A task queue nobody has used yet.
			return 0, nil
		}
		return 0, c.explain(err, "")
	}
	return len(resp.GetPollers()), nil
}

// Unpolled returns the uses whose queue no worker polls for what the use
// needs: workflow tasks for the workflow's queue, activity tasks for the
// steps'. A queue the run's workflow uses and no worker polls is reported
// once, for the workflow: its steps could not start anyway.
func (c *Client) Unpolled(ctx context.Context, uses []QueueUse) ([]QueueUse, error) {
	var out []QueueUse
	for _, u := range uses {
		if u.Workflow {
			n, err := c.Pollers(ctx, u.Queue)
			if err != nil {
				return nil, err
			}
			if n == 0 {
				out = append(out, u)
				continue
			}
		}
		if len(u.Steps) == 0 {
			continue
		}
		n, err := c.ActivityPollers(ctx, u.Queue)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			out = append(out, QueueUse{Queue: u.Queue, Steps: u.Steps})
		}
	}
	return out, nil
}

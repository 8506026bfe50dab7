package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/statedriven/statedriven/activities/builtin"
	"github.com/statedriven/statedriven/contract"
)

// waitAction sleeps for params.duration, or until ctx is cancelled. RunStep
// heartbeats meanwhile when the step has a heartbeat timeout, which is also
// how a cancellation reaches a waiting activity.
func waitAction(ctx context.Context, in contract.StepInput) (any, error) {
	p, problems := builtin.ParseWait(in.Params)
	if err := paramsError(problems); err != nil {
		return nil, err
	}
	d := p.Duration
	if deadline, ok := ctx.Deadline(); ok {
		// Waiting past the attempt's deadline would time out on every
		// attempt: say so now instead.
		if left := time.Until(deadline); d > left {
			return nil, badParams("duration", "%s is longer than the step's timeout leaves (%s); raise timeouts.start_to_close or use a `wait:` step, which waits in the workflow", d, left.Round(time.Second))
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return map[string]any{"waited": d.String()}, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait %s: %w", d, ctx.Err())
	}
}

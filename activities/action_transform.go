package activities

import (
	"context"
	"fmt"
	"strings"

	"github.com/statedriven/statedriven/activities/builtin"
	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/expression"
)

// transformAction evaluates each expression of params.mapping over input,
// steps and item, and returns the object of their values. The mapping's
// rules (an object of strings that compile) are builtin's, checked by
// validate too; compiled programs are cached there by source.
func transformAction(ctx context.Context, in contract.StepInput) (any, error) {
	if in.Params["mapping"] == nil {
		return in.Input, nil
	}
	p, problems := builtin.ParseTransform(in.Params)
	if err := paramsError(problems); err != nil {
		return nil, err
	}
	vars := expression.Vars{Input: in.Input, Steps: in.Steps, Item: in.Item}
	out := make(map[string]any, len(p.Keys))
	var failed []string
	// Keys are sorted, so the message lists the same keys in the same
	// order on every attempt.
	for _, key := range p.Keys {
		// EvalContext: an activity may stop on its deadline or on
		// cancellation; the counted limits apply as in workflow code.
		v, err := p.Programs[key].EvalContext(ctx, vars)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr // cancelled or timed out: Temporal decides, not a bad mapping
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("key %q: %v", key, err))
			continue
		}
		out[key] = v
	}
	if len(failed) > 0 {
		return nil, NewNonRetryableError(ErrorTypeTransform, "mapping failed: %s", strings.Join(failed, "; "))
	}
	return out, nil
}

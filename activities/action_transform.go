package activities

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/statedriven/statedriven/workflows/expression"
)

// newTransformAction returns the transform action: each key of
// params.mapping is a CEL expression over input, steps and item, and the
// result is the object of their values. Compiled programs are cached by
// source; the CEL environment is built on first use.
func newTransformAction() Action {
	envOnce := sync.OnceValues(expression.NewEnv)
	var programs cache[*expression.Program]

	compile := func(src string) (*expression.Program, error) {
		if p, ok := programs.get(src); ok {
			return p, nil
		}
		env, err := envOnce()
		if err != nil {
			return nil, err
		}
		p, err := env.Compile(src, expression.Any)
		if err != nil {
			return nil, err
		}
		programs.put(src, p)
		return p, nil
	}

	return func(ctx context.Context, in StepInput) (any, error) {
		mapping, ok, err := objectParam(in.Params, "mapping")
		if err != nil {
			return nil, err
		}
		if !ok {
			return in.Input, nil
		}
		vars := expression.Vars{Input: in.Input, Steps: in.Steps, Item: in.Item}
		out := make(map[string]any, len(mapping))
		var problems []string
		// Sorted, so the message lists the same keys in the same order on
		// every attempt.
		for _, key := range slices.Sorted(maps.Keys(mapping)) {
			src, isString := mapping[key].(string)
			if !isString {
				return nil, badParams("mapping", "key %q: want a CEL expression as a string, got %s", key, jsonKind(mapping[key]))
			}
			p, err := compile(src)
			if err != nil {
				problems = append(problems, fmt.Sprintf("key %q: %v", key, err))
				continue
			}
			// EvalContext: an activity may stop on its deadline or on
			// cancellation; the counted limits apply as in workflow code.
			v, err := p.EvalContext(ctx, vars)
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr // cancelled or timed out: Temporal decides, not a bad mapping
			}
			if err != nil {
				problems = append(problems, fmt.Sprintf("key %q: %v", key, err))
				continue
			}
			out[key] = v
		}
		if len(problems) > 0 {
			return nil, NewNonRetryableError(ErrorTypeTransform, "mapping failed: %s", strings.Join(problems, "; "))
		}
		return out, nil
	}
}

package activities

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/statedriven/statedriven/activities/builtin"
	"github.com/statedriven/statedriven/contract"
)

// aggregateAction gathers the outputs of earlier steps into one object.
func aggregateAction(_ context.Context, in contract.StepInput) (any, error) {
	p, problems := builtin.ParseAggregate(in.Params)
	if err := paramsError(problems); err != nil {
		return nil, err
	}
	names := p.Steps
	if names == nil {
		names = slices.Sorted(maps.Keys(in.Steps))
	}
	var missing []string
	out := make(map[string]any, len(names)+1)
	for _, name := range names {
		v, ran := in.Steps[name]
		if !ran {
			missing = append(missing, fmt.Sprintf("%q", name))
			continue
		}
		out[name] = v
	}
	if len(missing) > 0 {
		return nil, badParams("steps", "no output from %s; name steps that ran before this one (outputs so far: %s)",
			strings.Join(missing, ", "), listOrNone(slices.Sorted(maps.Keys(in.Steps))))
	}
	if input, isMap := in.Input.(map[string]any); isMap {
		if _, clash := out["input"]; clash {
			return nil, badParams("steps", "the output of step \"input\" would hide the step's input, kept under the same key; list the steps without \"input\"")
		}
		out["input"] = input
	}
	return out, nil
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

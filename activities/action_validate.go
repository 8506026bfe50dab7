package activities

import (
	"context"
	"strings"

	"github.com/statedriven/statedriven/activities/builtin"
	"github.com/statedriven/statedriven/contract"
)

// validateAction checks the step's input against params.schema, a JSON
// Schema (draft 2020-12 unless the schema's $schema says otherwise). The
// schema's rules are builtin's, checked by validate too; compiled schemas
// are cached there by their canonical JSON.
func validateAction(_ context.Context, in contract.StepInput) (any, error) {
	p, problems := builtin.ParseValidate(in.Params)
	if err := paramsError(problems); err != nil {
		return nil, err
	}
	if p.Schema == nil {
		if in.Input == nil {
			return nil, NewNonRetryableError(ErrorTypeValidation,
				"input is missing; give the step an `input:` mapping or start the run with input")
		}
		return map[string]any{"valid": true}, nil
	}
	violations, err := builtin.SchemaViolations(p.Schema, in.Input)
	if err != nil {
		return nil, NewNonRetryableError(ErrorTypeValidation, "input %v", err)
	}
	if len(violations) > 0 {
		msgs := make([]string, len(violations))
		for i, v := range violations {
			msgs[i] = v.String()
		}
		noun := "violations"
		if len(msgs) == 1 {
			noun = "violation"
		}
		return nil, NewNonRetryableError(ErrorTypeValidation, "input does not match the schema, %d %s: %s",
			len(msgs), noun, strings.Join(msgs, "; "))
	}
	return map[string]any{"valid": true}, nil
}

// oneLine folds whitespace, for quoting a response body in a message.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

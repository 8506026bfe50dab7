package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/statedriven/statedriven/activities/builtin"
)

// validateAction checks the step's input against params.schema, a JSON
// Schema (draft 2020-12 unless the schema's $schema says otherwise). The
// schema's rules are builtin's, checked by validate too; compiled schemas
// are cached there by their canonical JSON.
func validateAction(_ context.Context, in StepInput) (any, error) {
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
	// The validator wants JSON's own types (json.Number for numbers);
	// a round trip gives them whatever Go values the input holds.
	raw, err := json.Marshal(in.Input)
	if err != nil {
		return nil, NewNonRetryableError(ErrorTypeValidation, "input cannot be encoded as JSON: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, NewNonRetryableError(ErrorTypeValidation, "input cannot be read back as JSON: %v", err)
	}
	if err := p.Schema.Validate(inst); err != nil {
		var verr *jsonschema.ValidationError
		if !errors.As(err, &verr) {
			return nil, NewNonRetryableError(ErrorTypeValidation, "input could not be validated: %v", err)
		}
		violations := builtin.Violations(verr)
		noun := "violations"
		if len(violations) == 1 {
			noun = "violation"
		}
		return nil, NewNonRetryableError(ErrorTypeValidation, "input does not match the schema, %d %s: %s",
			len(violations), noun, strings.Join(violations, "; "))
	}
	return map[string]any{"valid": true}, nil
}

// oneLine folds whitespace, for quoting a response body in a message.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

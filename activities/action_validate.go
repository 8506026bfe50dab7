package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaURL is where a step's schema "lives" for the compiler; relative
// $refs resolve against it (.invalid is a reserved domain) and are then
// refused by noLoader.
const schemaURL = "https://statedriven.invalid/step-schema.json"

// newValidateAction returns the validate action: it checks the step's input
// against params.schema, a JSON Schema (draft 2020-12 unless the schema's
// $schema says otherwise). Compiled schemas are cached by their canonical
// JSON.
func newValidateAction() Action {
	var schemas cache[*jsonschema.Schema]

	compile := func(schema any) (*jsonschema.Schema, error) {
		// encoding/json writes object keys sorted: equal schemas give
		// equal keys whatever their order in the definition.
		canonical, err := json.Marshal(schema)
		if err != nil {
			return nil, badParams("schema", "cannot encode it as JSON: %v", err)
		}
		key := string(canonical)
		if sch, ok := schemas.get(key); ok {
			return sch, nil
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(canonical))
		if err != nil {
			return nil, badParams("schema", "cannot read it as JSON: %v", err)
		}
		c := jsonschema.NewCompiler()
		c.UseLoader(noLoader{})
		if err := c.AddResource(schemaURL, doc); err != nil {
			return nil, badParams("schema", "not a valid JSON Schema: %v", err)
		}
		sch, err := c.Compile(schemaURL)
		if err != nil {
			// Checked against its meta-schema: say where the schema itself
			// is wrong, the way input violations are said.
			var verr *jsonschema.ValidationError
			if errors.As(err, &verr) {
				return nil, badParams("schema", "not a valid JSON Schema: %s", strings.Join(leafViolations(verr), "; "))
			}
			return nil, badParams("schema", "not a valid JSON Schema: %s", oneLine(err.Error()))
		}
		schemas.put(key, sch)
		return sch, nil
	}

	return func(_ context.Context, in StepInput) (any, error) {
		schema, present := in.Params["schema"]
		if !present || schema == nil {
			if in.Input == nil {
				return nil, NewNonRetryableError(ErrorTypeValidation,
					"input is missing; give the step an `input:` mapping or start the run with input")
			}
			return map[string]any{"valid": true}, nil
		}
		switch schema.(type) {
		case map[string]any, bool:
		default:
			return nil, badParams("schema", "want a JSON Schema object, got %s", jsonKind(schema))
		}
		sch, err := compile(schema)
		if err != nil {
			return nil, err
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
		if err := sch.Validate(inst); err != nil {
			var verr *jsonschema.ValidationError
			if !errors.As(err, &verr) {
				return nil, NewNonRetryableError(ErrorTypeValidation, "input could not be validated: %v", err)
			}
			violations := leafViolations(verr)
			noun := "violations"
			if len(violations) == 1 {
				noun = "violation"
			}
			return nil, NewNonRetryableError(ErrorTypeValidation, "input does not match the schema, %d %s: %s",
				len(violations), noun, strings.Join(violations, "; "))
		}
		return map[string]any{"valid": true}, nil
	}
}

// leafViolations flattens the validator's tree to the violations that
// caused it, each "at '<JSON pointer>': <what is wrong>", sorted by place.
func leafViolations(root *jsonschema.ValidationError) []string {
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, e.Error())
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(root)
	slices.Sort(out)
	return slices.Compact(out)
}

// noLoader refuses to fetch $refs: a definition's schema must be self
// contained, and a worker must not read files or URLs named by it.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("$ref %q: schemas are self-contained; put the referenced schema under $defs", url)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

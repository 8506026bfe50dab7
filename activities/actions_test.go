package activities

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/contract"
)

// actionCase is one row of an action's table: a step and either its result
// (as the workflow sees it, decoded from JSON) or its error.
type actionCase struct {
	name   string
	params map[string]any
	input  any
	steps  map[string]any
	item   any
	want   any
	err    *wantErr
}

func runActionTable(t *testing.T, action string, cases []actionCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, RunnerOptions{})
			got, err := b.run(t, contract.StepInput{
				Action: action, Params: tc.params, Input: tc.input, Steps: tc.steps, Item: tc.item,
			})
			if tc.err != nil {
				tc.err.check(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestLogAction(t *testing.T) {
	t.Parallel()
	runActionTable(t, "log", []actionCase{
		{name: "default level", params: map[string]any{"message": "order received"}, want: map[string]any{"message": "order received"}},
		{name: "each level", params: map[string]any{"message": "m", "level": "debug"}, want: map[string]any{"message": "m"}},
		{name: "warn", params: map[string]any{"message": "m", "level": "warn"}, want: map[string]any{"message": "m"}},
		{name: "error", params: map[string]any{"message": "m", "level": "error"}, want: map[string]any{"message": "m"}},
		{name: "message not a string", params: map[string]any{"message": 3}, err: badParamsErr(`param "message": want a string, got a number`)},
		{name: "unknown level", params: map[string]any{"message": "m", "level": "loud"}, err: badParamsErr(`param "level": "loud" is not a level; use debug, info, warn or error`)},
	})
}

func TestLogActionWritesWithStepKeys(t *testing.T) {
	t.Parallel()
	b := setup(t, RunnerOptions{})
	_, err := b.run(t, contract.StepInput{WorkflowID: "order-42", Step: "receive", Action: "log",
		Params: map[string]any{"message": "order received", "level": "warn"}})
	require.NoError(t, err)
	entries := b.logs.find("order received")
	require.Len(t, entries, 1)
	require.Equal(t, "warn", entries[0].level)
	require.Equal(t, "order-42", entries[0].keyvals["workflow_id"])
	require.Equal(t, "receive", entries[0].keyvals["step"])
}

func TestLogActionWithoutMessageLogsStepAndInput(t *testing.T) {
	t.Parallel()
	b := setup(t, RunnerOptions{})
	got, err := b.run(t, contract.StepInput{WorkflowID: "order-42", Step: "trace", Action: "log",
		Input: map[string]any{"order_id": "A1"}})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"message": "step trace"}, got)
	entries := b.logs.find("step trace")
	require.Len(t, entries, 1)
	require.Equal(t, "info", entries[0].level)
	require.Equal(t, "trace", entries[0].keyvals["step"])
	require.Contains(t, entries[0].keyvals["input"], "A1")
}

func TestWaitAction(t *testing.T) {
	t.Parallel()
	runActionTable(t, "wait", []actionCase{
		{name: "short wait", params: map[string]any{"duration": "15ms"}, want: map[string]any{"waited": "15ms"}},
		{name: "fractional", params: map[string]any{"duration": "0.01s"}, want: map[string]any{"waited": "10ms"}},
		{name: "missing", err: badParamsErr(`param "duration": it is required`)},
		{name: "not a duration", params: map[string]any{"duration": "soon"}, err: badParamsErr(`param "duration": "soon" is not a duration`)},
		{name: "negative", params: map[string]any{"duration": "-1s"}, err: badParamsErr(`param "duration": "-1s" is not positive`)},
		{name: "zero", params: map[string]any{"duration": "0s"}, err: badParamsErr(`is not positive`)},
		{name: "number", params: map[string]any{"duration": 5}, err: badParamsErr(`want a string, got a number`)},
		// The test environment gives an attempt ten minutes.
		{name: "longer than the attempt", params: map[string]any{"duration": "1h"}, err: badParamsErr(`1h0m0s is longer than the step's timeout leaves`, "start_to_close")},
	})
}

func TestValidateAction(t *testing.T) {
	t.Parallel()
	orderSchema := map[string]any{
		"type":     "object",
		"required": []any{"order_id"},
		"properties": map[string]any{
			"order_id": map[string]any{"type": "string"},
			"amount":   map[string]any{"type": "number", "minimum": 0},
			"lines":    map[string]any{"type": "array", "items": map[string]any{"type": "object", "required": []any{"sku"}}},
		},
	}
	valid := map[string]any{"valid": true}
	runActionTable(t, "validate", []actionCase{
		{name: "matches", params: map[string]any{"schema": orderSchema}, input: map[string]any{"order_id": "A1", "amount": 3.5}, want: valid},
		{name: "no schema, input present", input: map[string]any{"x": 1}, want: valid},
		{name: "no schema, scalar input present", input: "text", want: valid},
		{name: "no schema, input missing", err: &wantErr{errType: ErrorTypeValidation, nonRetryable: true,
			contains: []string{"input is missing"}}},
		{
			name:   "every violation with its pointer",
			params: map[string]any{"schema": orderSchema},
			input:  map[string]any{"amount": "ten", "lines": []any{map[string]any{"sku": "x"}, map[string]any{}}},
			err: &wantErr{errType: ErrorTypeValidation, nonRetryable: true, contains: []string{
				"input does not match the schema, 3 violations: ",
				"at '': missing property 'order_id'",
				"at '/amount': got string, want number",
				"at '/lines/1': missing property 'sku'",
			}},
		},
		{
			name:   "one violation",
			params: map[string]any{"schema": orderSchema},
			input:  map[string]any{"order_id": "A1", "amount": -1},
			err: &wantErr{errType: ErrorTypeValidation, nonRetryable: true, contains: []string{
				"input does not match the schema, 1 violation: at '/amount': minimum: got -1, want 0",
			}},
		},
		{name: "schema, input missing", params: map[string]any{"schema": orderSchema},
			err: &wantErr{errType: ErrorTypeValidation, nonRetryable: true, contains: []string{"at '': got null, want object"}}},
		{name: "boolean schema", params: map[string]any{"schema": false}, input: 1,
			err: &wantErr{errType: ErrorTypeValidation, nonRetryable: true, contains: []string{"1 violation"}}},
		{name: "schema not an object", params: map[string]any{"schema": "object"}, input: 1,
			err: badParamsErr(`param "schema": want a JSON Schema object, got a string`)},
		{name: "invalid schema", params: map[string]any{"schema": map[string]any{"type": 5}}, input: 1,
			err: badParamsErr(`param "schema": not a valid JSON Schema: `, "at '/type': got number, want array")},
		{name: "external ref refused", params: map[string]any{"schema": map[string]any{"$ref": "other.json"}}, input: 1,
			err: badParamsErr(`param "schema": not a valid JSON Schema`, "put the referenced schema under $defs")},
		{name: "internal ref", params: map[string]any{"schema": map[string]any{
			"$defs": map[string]any{"id": map[string]any{"type": "string"}},
			"$ref":  "#/$defs/id",
		}}, input: "A1", want: valid},
	})
}

func TestValidateActionCachesByCanonicalSchema(t *testing.T) {
	t.Parallel()
	validate := validateAction
	in := func(schema map[string]any, input any) contract.StepInput {
		return contract.StepInput{Params: map[string]any{"schema": schema}, Input: input}
	}
	// The same schema written twice, keys in another order: the second
	// call is served from the cache and must judge the same way.
	a := map[string]any{"type": "object", "required": []any{"id"}}
	b := map[string]any{"required": []any{"id"}, "type": "object"}
	_, err := validate(t.Context(), in(a, map[string]any{"id": 1}))
	require.NoError(t, err)
	_, err = validate(t.Context(), in(b, map[string]any{}))
	requireAppError(t, err, ErrorTypeValidation, true)
}

func TestTransformAction(t *testing.T) {
	t.Parallel()
	input := map[string]any{"amount": 100.0, "tags": []any{"a", "b"}}
	steps := map[string]any{"validate": map[string]any{"score": 0.9}}
	runActionTable(t, "transform", []actionCase{
		{
			name:   "mapping over input, steps and item",
			params: map[string]any{"mapping": map[string]any{"total": "input.amount * 2.0", "score": "steps.validate.score", "sku": "item.sku", "n": "size(input.tags)"}},
			input:  input, steps: steps, item: map[string]any{"sku": "X1"},
			want: map[string]any{"total": 200.0, "score": 0.9, "sku": "X1", "n": 2.0},
		},
		{name: "no mapping returns the input", input: input, want: input},
		{name: "empty mapping", params: map[string]any{"mapping": map[string]any{}}, input: input, want: map[string]any{}},
		{
			name:   "does not compile",
			params: map[string]any{"mapping": map[string]any{"ok": "1", "bad": "input.amount >"}},
			input:  input,
			err:    badParamsErr(`param "mapping": key "bad": expression does not compile`),
		},
		{
			name:   "fails on the data, every failing key named",
			params: map[string]any{"mapping": map[string]any{"a": "input.missing.x", "b": "steps.nope", "c": "1"}},
			input:  input,
			err: &wantErr{errType: ErrorTypeTransform, nonRetryable: true,
				contains: []string{`key "a": evaluate "input.missing.x"`, `; key "b": evaluate "steps.nope"`}},
		},
		{name: "mapping not an object", params: map[string]any{"mapping": "input"},
			err: badParamsErr(`param "mapping": want an object, got a string`)},
		{name: "expression not a string", params: map[string]any{"mapping": map[string]any{"total": 3}},
			err: badParamsErr(`param "mapping": key "total": want a CEL expression as a string, got a number`)},
	})
}

func TestAggregateAction(t *testing.T) {
	t.Parallel()
	steps := map[string]any{
		"validate": map[string]any{"valid": true},
		"analyze":  map[string]any{"score": 0.5},
		"fetch":    "raw",
	}
	runActionTable(t, "aggregate", []actionCase{
		{
			name:  "every step and the input",
			steps: steps, input: map[string]any{"sources": []any{"a"}},
			want: map[string]any{
				"validate": map[string]any{"valid": true}, "analyze": map[string]any{"score": 0.5}, "fetch": "raw",
				"input": map[string]any{"sources": []any{"a"}},
			},
		},
		{
			name:   "named steps",
			params: map[string]any{"steps": []any{"validate", "fetch"}}, steps: steps,
			want: map[string]any{"validate": map[string]any{"valid": true}, "fetch": "raw"},
		},
		{name: "input not an object is left out", steps: map[string]any{"fetch": "raw"}, input: "text", want: map[string]any{"fetch": "raw"}},
		{name: "nothing yet", want: map[string]any{}},
		{
			name:   "missing steps named",
			params: map[string]any{"steps": []any{"validate", "enrich", "score"}}, steps: steps,
			err: badParamsErr(`param "steps": no output from "enrich", "score"; name steps that ran before this one (outputs so far: analyze, fetch, validate)`),
		},
		{name: "steps not a list", params: map[string]any{"steps": "validate"}, err: badParamsErr(`want a list of strings, got a string`)},
		{name: "step name not a string", params: map[string]any{"steps": []any{1}}, err: badParamsErr(`element 0: want a string, got a number`)},
		{
			name:  "a step named input would hide the input",
			steps: map[string]any{"input": 1}, input: map[string]any{},
			err: badParamsErr(`the output of step "input" would hide the step's input`),
		},
	})
}

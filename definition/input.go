package definition

import (
	"fmt"

	"github.com/statedriven/statedriven/activities/builtin"
)

// inputSchema checks input_schema: a JSON Schema that compiles, by the
// rules the validate action applies to its schema param.
func (c *compiler) inputSchema() any {
	s := c.def.InputSchema
	switch s.(type) {
	case nil:
		return nil
	case map[string]any, bool:
	default:
		c.problem("/input_schema", "input_schema must be a JSON Schema object", "write it as a mapping, such as {type: object, required: [order_id]}")
		return nil
	}
	if _, err := builtin.CompileSchema(s); err != nil {
		c.problem("/input_schema", "input_schema: "+err.Error(), "write a JSON Schema (draft 2020-12 unless $schema says otherwise); a $ref may point only into the schema itself, under $defs")
		return nil
	}
	return s
}

// CheckInput checks a run's input against the plan's input_schema and
// returns every way it does not match, each with the JSON pointer of the
// offending value under the input ("/amount"; "" for the input as a
// whole); none when the plan declares no schema or the input matches. The
// starter calls it before starting a run, so that a run never starts on an
// input its definition cannot use.
func (p *Plan) CheckInput(input any) (Problems, error) {
	if p.InputSchema == nil {
		return nil, nil
	}
	sch, err := builtin.CompileSchema(p.InputSchema)
	if err != nil {
		return nil, fmt.Errorf("plan %q: input_schema: %w", p.Name, err)
	}
	violations, err := builtin.SchemaViolations(sch, input)
	if err != nil {
		return nil, fmt.Errorf("plan %q: the input %w", p.Name, err)
	}
	ps := make(Problems, len(violations))
	for i, v := range violations {
		ps[i] = Problem{Path: v.Pointer, Message: v.Message}
	}
	return ps, nil
}

// InputLines words problems from CheckInput one per line, each where it
// is in the input ("input/amount: …", "the input: …" for the whole).
func (ps Problems) InputLines() []string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		where := "the input"
		if p.Path != "" {
			where = "input" + p.Path
		}
		lines[i] = where + ": " + p.Message
	}
	return lines
}

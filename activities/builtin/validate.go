package builtin

import (
	"bytes"
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

// schemas caches compiled schemas by their canonical JSON.
var schemas cache[*jsonschema.Schema]

// ValidateParams are the validate action's params.
type ValidateParams struct {
	// Schema is the compiled schema; nil when the step gives none.
	Schema *jsonschema.Schema
}

// ParseValidate decodes the validate action's params: schema, optional,
// a JSON Schema object (or boolean) that compiles (draft 2020-12 unless
// its $schema says otherwise) and is self-contained.
func ParseValidate(params map[string]any) (ValidateParams, Problems) {
	var ps Problems
	schema, present := params["schema"]
	if !present || schema == nil {
		return ValidateParams{}, nil
	}
	switch schema.(type) {
	case map[string]any, bool:
	default:
		ps.add("schema", "write the schema as an object, such as {type: object, required: [id]}", "want a JSON Schema object, got %s", jsonKind(schema))
		return ValidateParams{}, ps
	}
	sch, err := CompileSchema(schema)
	if err != nil {
		ps.add("schema", "write a JSON Schema (draft 2020-12 unless $schema says otherwise); a $ref may point only into the schema itself, under $defs", "%s", err.Error())
		return ValidateParams{}, ps
	}
	return ValidateParams{Schema: sch}, nil
}

// CompileSchema compiles a JSON Schema given as decoded JSON or YAML
// data. It refuses $refs outside the schema itself: a definition's schema
// must be self-contained, and neither validate nor a worker may read files
// or URLs named by it. Compiled schemas are cached by canonical JSON.
func CompileSchema(schema any) (*jsonschema.Schema, error) {
	// encoding/json writes object keys sorted: equal schemas give equal
	// keys whatever their order in the definition.
	canonical, err := json.Marshal(schema)
	if err != nil {
		return nil, fmt.Errorf("cannot encode it as JSON: %w", err)
	}
	key := string(canonical)
	if sch, ok := schemas.get(key); ok {
		return sch, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(canonical))
	if err != nil {
		return nil, fmt.Errorf("cannot read it as JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("not a valid JSON Schema: %w", err)
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		// Checked against its meta-schema: say where the schema itself
		// is wrong, the way input violations are said.
		var serr *jsonschema.SchemaValidationError
		if errors.As(err, &serr) {
			err = serr.Err // it has no Unwrap
		}
		var verr *jsonschema.ValidationError
		if errors.As(err, &verr) {
			return nil, fmt.Errorf("not a valid JSON Schema: %s", strings.Join(Violations(verr), "; "))
		}
		return nil, fmt.Errorf("not a valid JSON Schema: %s", oneLine(err.Error()))
	}
	schemas.put(key, sch)
	return sch, nil
}

// Violations flattens a validation error's tree to the violations that
// caused it, each "at '<JSON pointer>': <what is wrong>", sorted by place.
func Violations(root *jsonschema.ValidationError) []string {
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

// noLoader refuses to fetch $refs.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("$ref %q: schemas are self-contained; put the referenced schema under $defs", url)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Violation is one way a value does not match a schema.
type Violation struct {
	// Pointer is the JSON pointer of the offending value ("" for the
	// value itself).
	Pointer string
	// Message says what is wrong with it.
	Message string
}

// String formats the violation as the validate action reports it:
// at '<pointer>': <message>.
func (v Violation) String() string {
	return fmt.Sprintf("at '%s': %s", v.Pointer, v.Message)
}

// SchemaViolations checks value (any data that encodes as JSON) against
// sch and returns every violation, sorted by place; none when it matches.
func SchemaViolations(sch *jsonschema.Schema, value any) ([]Violation, error) {
	// The validator wants JSON's own types (json.Number for numbers); a
	// round trip gives them whatever Go values the value holds.
	raw, err := json.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("cannot be encoded as JSON: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("cannot be read back as JSON: %w", err)
	}
	err = sch.Validate(inst)
	if err == nil {
		return nil, nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return nil, fmt.Errorf("could not be validated: %w", err)
	}
	var out []Violation
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		ptr := ""
		for _, tok := range e.InstanceLocation {
			ptr += "/" + pointerEscape(tok)
		}
		msg := e.Error()
		if rest, ok := strings.CutPrefix(msg, "at '"+ptr+"': "); ok {
			msg = rest
		}
		out = append(out, Violation{Pointer: ptr, Message: msg})
	}
	walk(verr)
	slices.SortFunc(out, func(a, b Violation) int { return strings.Compare(a.String(), b.String()) })
	return slices.Compact(out), nil
}

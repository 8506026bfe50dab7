package builtin

import (
	"fmt"
	"strconv"
	"time"
)

// Params arrive as JSON-decoded data (a YAML definition, compiled to a
// plan, crossing Temporal as JSON) or, when validated, as the YAML decoder
// gives them; these helpers accept both shapes and say what is wrong in
// terms of the definition. Each returns ok false when the param is absent
// or null, or when it is wrong (the problem is then recorded).

// stringParam returns params[name] as a string.
func (ps *Problems) stringParam(params map[string]any, name string) (string, bool) {
	v, present := params[name]
	if !present || v == nil {
		return "", false
	}
	s, isString := v.(string)
	if !isString {
		ps.add(name, quoteHint(v), "want a string, got %s", jsonKind(v))
		return "", false
	}
	return s, true
}

// durationParam returns params[name] as a positive Go duration.
func (ps *Problems) durationParam(params map[string]any, name string) (time.Duration, bool) {
	s, ok := ps.stringParam(params, name)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		ps.add(name, `write it the Go way: "500ms", "30s", "1h30m"`, "%q is not a duration", s)
		return 0, false
	}
	if d <= 0 {
		ps.add(name, "give a duration above zero", "%q is not positive", s)
		return 0, false
	}
	return d, true
}

// objectParam returns params[name] as a JSON object.
func (ps *Problems) objectParam(params map[string]any, name string) (map[string]any, bool) {
	v, present := params[name]
	if !present || v == nil {
		return nil, false
	}
	m, isObject := v.(map[string]any)
	if !isObject {
		ps.add(name, "write it as key: value lines, or {key: value}", "want an object, got %s", jsonKind(v))
		return nil, false
	}
	return m, true
}

// stringListParam returns params[name] as a list of strings.
func (ps *Problems) stringListParam(params map[string]any, name string) ([]string, bool) {
	v, present := params[name]
	if !present || v == nil {
		return nil, false
	}
	switch v := v.(type) {
	case []string:
		return v, true
	case []any:
		list := make([]string, 0, len(v))
		bad := false
		for i, e := range v {
			s, isString := e.(string)
			if !isString {
				ps.addAt(name, "/"+pointerEscape(name)+"/"+strconv.Itoa(i), quoteHint(e), "element %d: want a string, got %s", i, jsonKind(e))
				bad = true
				continue
			}
			list = append(list, s)
		}
		return list, !bad
	default:
		ps.add(name, "write it as [a, b]", "want a list of strings, got %s", jsonKind(v))
		return nil, false
	}
}

// jsonKind names a value's JSON type for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, float32, int, int32, int64, uint, uint32, uint64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// quoteHint says how to write a scalar as a string.
func quoteHint(v any) string {
	switch v.(type) {
	case []any, map[string]any, nil:
		return "give a string"
	}
	return fmt.Sprintf("put it in quotes: \"%v\"", v)
}

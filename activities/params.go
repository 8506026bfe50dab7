package activities

import (
	"fmt"
	"time"
)

// Params arrive as JSON-decoded data (a YAML definition, compiled to a plan,
// crossing Temporal as JSON), so these helpers accept exactly that shape and
// say what is wrong in terms of the definition.

// stringParam returns params[name] as a string; ok is false when the param
// is absent or null.
func stringParam(params map[string]any, name string) (s string, ok bool, err error) {
	v, present := params[name]
	if !present || v == nil {
		return "", false, nil
	}
	s, isString := v.(string)
	if !isString {
		return "", false, badParams(name, "want a string, got %s", jsonKind(v))
	}
	return s, true, nil
}

// durationParam returns params[name] as a positive Go duration; ok is false
// when the param is absent or null.
func durationParam(params map[string]any, name string) (d time.Duration, ok bool, err error) {
	s, ok, err := stringParam(params, name)
	if err != nil || !ok {
		return 0, false, err
	}
	d, err = time.ParseDuration(s)
	if err != nil {
		return 0, false, badParams(name, "%q is not a duration; write it the Go way: \"500ms\", \"30s\", \"1h30m\"", s)
	}
	if d <= 0 {
		return 0, false, badParams(name, "%q is not positive; give a duration above zero", s)
	}
	return d, true, nil
}

// objectParam returns params[name] as a JSON object; ok is false when the
// param is absent or null.
func objectParam(params map[string]any, name string) (m map[string]any, ok bool, err error) {
	v, present := params[name]
	if !present || v == nil {
		return nil, false, nil
	}
	m, isObject := v.(map[string]any)
	if !isObject {
		return nil, false, badParams(name, "want an object, got %s", jsonKind(v))
	}
	return m, true, nil
}

// stringListParam returns params[name] as a list of strings; ok is false
// when the param is absent or null.
func stringListParam(params map[string]any, name string) (list []string, ok bool, err error) {
	v, present := params[name]
	if !present || v == nil {
		return nil, false, nil
	}
	switch v := v.(type) {
	case []string:
		return v, true, nil
	case []any:
		list = make([]string, 0, len(v))
		for i, e := range v {
			s, isString := e.(string)
			if !isString {
				return nil, false, badParams(name, "element %d: want a string, got %s", i, jsonKind(e))
			}
			list = append(list, s)
		}
		return list, true, nil
	default:
		return nil, false, badParams(name, "want a list of strings, got %s", jsonKind(v))
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

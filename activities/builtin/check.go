package builtin

import "slices"

// The built-in actions' names.
const (
	Log       = "log"
	Wait      = "wait"
	Validate  = "validate"
	Transform = "transform"
	Aggregate = "aggregate"
	HTTP      = "http"
)

// checks is each built-in's params check: its Parse function without the
// decoded value.
var checks = map[string]func(map[string]any) Problems{
	Log:       func(p map[string]any) Problems { _, ps := ParseLog(p); return ps },
	Wait:      func(p map[string]any) Problems { _, ps := ParseWait(p); return ps },
	Validate:  func(p map[string]any) Problems { _, ps := ParseValidate(p); return ps },
	Transform: func(p map[string]any) Problems { _, ps := ParseTransform(p); return ps },
	Aggregate: func(p map[string]any) Problems { _, ps := ParseAggregate(p); return ps },
	HTTP:      func(p map[string]any) Problems { _, ps := ParseHTTP(p); return ps },
}

// Names returns the built-in actions' names, sorted.
func Names() []string {
	names := make([]string, 0, len(checks))
	for name := range checks {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Is reports whether action names a built-in action.
func Is(action string) bool {
	_, ok := checks[action]
	return ok
}

// Check returns every problem with params as the params of the built-in
// action named action, sorted by path; nil for a valid one and for an
// action that is not built in (its params are its own business).
func Check(action string, params map[string]any) Problems {
	check, ok := checks[action]
	if !ok {
		return nil
	}
	ps := check(params)
	slices.SortStableFunc(ps, func(a, b Problem) int {
		switch {
		case a.Path < b.Path:
			return -1
		case a.Path > b.Path:
			return 1
		}
		return 0
	})
	return ps
}

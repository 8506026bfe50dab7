package builtin

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/statedriven/statedriven/expression"
)

var (
	// sharedEnv is the CEL environment, built once per process on first
	// use: building it is the expensive part.
	sharedEnv = sync.OnceValues(expression.NewEnv)
	// programs caches compiled mapping expressions by source.
	programs cache[*expression.Program]
)

// TransformParams are the transform action's params.
type TransformParams struct {
	// Keys are the mapping's output keys, sorted; nil when the step gives
	// no mapping (the action then returns its input).
	Keys []string
	// Programs are the compiled expressions by output key.
	Programs map[string]*expression.Program
}

// ParseTransform decodes the transform action's params: mapping,
// optional, an object whose values are CEL expressions (strings) over
// input, steps and item that compile.
func ParseTransform(params map[string]any) (TransformParams, Problems) {
	var ps Problems
	mapping, ok := ps.objectParam(params, "mapping")
	if !ok {
		return TransformParams{}, ps
	}
	env, err := sharedEnv()
	if err != nil {
		ps.add("mapping", "", "the expression environment cannot be built: %v", err)
		return TransformParams{}, ps
	}
	t := TransformParams{Keys: slices.Sorted(maps.Keys(mapping)), Programs: make(map[string]*expression.Program, len(mapping))}
	for _, key := range t.Keys {
		path := "/mapping/" + pointerEscape(key)
		src, isString := mapping[key].(string)
		if !isString {
			ps.addAt("mapping", path, `write the expression as a string, such as "input.amount * 2.0"`, "key %q: want a CEL expression as a string, got %s", key, jsonKind(mapping[key]))
			continue
		}
		p, err := compileExpr(env, src)
		if err != nil {
			ps.addAt("mapping", path, "an expression can use input, steps and item; see the expression reference in the README", "key %q: %s", key, exprError(err))
			continue
		}
		t.Programs[key] = p
	}
	if len(ps) > 0 {
		return TransformParams{}, ps
	}
	return t, nil
}

func compileExpr(env *expression.Env, src string) (*expression.Program, error) {
	if p, ok := programs.get(src); ok {
		return p, nil
	}
	p, err := env.Compile(src, expression.Any)
	if err != nil {
		return nil, err
	}
	programs.put(src, p)
	return p, nil
}

// exprError shortens CEL's compile error to what a reader needs.
func exprError(err error) string {
	msg := err.Error()
	if before, _, cut := strings.Cut(msg, " expecting {"); cut {
		msg = before // CEL lists every token it could take; the place says enough
	}
	return fmt.Sprint(strings.TrimSuffix(oneLine(msg), " (in container '')"))
}

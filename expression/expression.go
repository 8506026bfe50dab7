package expression

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
	"google.golang.org/protobuf/types/known/structpb"
)

// jsonValueType is what results convert to: a JSON value, so outputs of
// expressions have the same shape as data decoded from JSON.
var jsonValueType = reflect.TypeFor[*structpb.Value]()

// Kind says what an expression must produce.
type Kind int

const (
	// Any accepts whatever the expression yields (input mappings).
	Any Kind = iota
	// Bool requires a boolean (conditions).
	Bool
	// List requires a list (the items of a map step).
	List
)

// String returns the kind as messages name it: any, bool or list.
func (k Kind) String() string {
	switch k {
	case Bool:
		return "bool"
	case List:
		return "list"
	default:
		return "any"
	}
}

// Limits bound what one expression may cost, so a definition cannot stall a
// workflow task or fill the worker's memory. All of them are counted, never
// timed, so an evaluation stops at the same point on every replay.
const (
	// MaxSourceLength is the longest expression accepted, in bytes.
	MaxSourceLength = 4096
	// MaxNesting is the parser's limit on nested calls, lists and maps.
	MaxNesting = 32
	// MaxCost is the evaluation budget in CEL's abstract cost units, with
	// what an operation builds or walks charged by its size (see builtCost):
	// one unit per list element or string byte built, per value compared.
	MaxCost = 1_000_000
	// MaxResultBytes bounds the JSON size of a result: Temporal's payload
	// limit (2 MB), so a value read whole from one payload passes through,
	// while a result no payload could carry stops before it is copied out.
	MaxResultBytes = 2 << 20
)

// ErrCompile matches every compile error from Compile.
var ErrCompile = errors.New("expression does not compile")

// ErrLimit matches every evaluation error caused by a limit: the cost budget
// (MaxCost) or the result size (MaxResultBytes). Such an error is a property
// of the expression and its data, so retrying the same evaluation fails the
// same way.
var ErrLimit = errors.New("expression exceeds a limit")

// programOptions bound every evaluation (see the package doc for why CEL's
// own cost tracking is not enough) and let ints mix with doubles (numbers.go).
// InterruptCheckFrequency only matters to callers that pass a context, which
// workflow code does not.
var programOptions = []cel.ProgramOption{
	cel.CostTracking(builtCost{}),
	cel.CostLimit(MaxCost),
	cel.CustomDecoratorV2(guardWalks),
	cel.CustomDecoratorV2(mixNumbers),
	cel.InterruptCheckFrequency(100),
}

// Program is a compiled expression, ready to evaluate any number of times.
type Program struct {
	source   string
	kind     Kind
	prg      cel.Program
	stepRefs []string // see StepRefs
	allSteps bool
}

// Env is the shared CEL environment. Building it is the expensive part, so
// one is made per process and reused.
type Env struct {
	env *cel.Env
	// plain is env without the int/double mixing. The mixed overloads make
	// dyn + int a dyn (int or double), which would let a condition such as
	// steps.a.count + 1 pass the check; plain still calls it an int.
	plain *cel.Env
}

// NewEnv builds the environment with the variables listed in the package doc.
func NewEnv() (*Env, error) {
	opts := []cel.EnvOption{
		cel.Variable("input", cel.DynType),
		cel.Variable("steps", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("result", cel.DynType),
		cel.Variable("item", cel.DynType),
		cel.ParserRecursionLimit(MaxNesting),
		cel.ParserExpressionSizeLimit(MaxSourceLength),
	}
	plain, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("build expression environment: %w", err)
	}
	env, err := plain.Extend(numericOptions()...)
	if err != nil {
		return nil, fmt.Errorf("build expression environment: %w", err)
	}
	return &Env{env: env, plain: plain}, nil
}

// Compile parses and type-checks src. An expression whose type is known to
// be wrong for kind is refused now; one whose type is only known at run time
// (dyn) is checked when evaluated.
func (e *Env) Compile(src string, kind Kind) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("%w: it is empty", ErrCompile)
	}
	if len(src) > MaxSourceLength {
		return nil, fmt.Errorf("%w: it is %d characters long; the limit is %d", ErrCompile, len(src), MaxSourceLength)
	}
	ast, iss := e.env.Compile(src)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("%w: %s", ErrCompile, oneLine(iss.Err().Error()))
	}
	out := e.outputType(ast, kind)
	switch kind {
	case Bool:
		if !out.IsExactType(types.BoolType) && !out.IsExactType(types.DynType) {
			return nil, fmt.Errorf("%w: a condition must be true or false, but this yields %s", ErrCompile, out)
		}
	case List:
		if out.Kind() != types.ListKind && !out.IsExactType(types.DynType) {
			return nil, fmt.Errorf("%w: the items of a map step must be a list, but this yields %s", ErrCompile, out)
		}
	}
	prg, err := e.env.Program(ast, programOptions...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrCompile, oneLine(err.Error()))
	}
	names, all := stepRefs(ast.NativeRep().Expr())
	return &Program{source: src, kind: kind, prg: prg, stepRefs: names, allSteps: all}, nil
}

// outputType is the type the checker gives the expression, as precise as it
// can be: for Bool and List, where the type decides whether the expression
// is refused, the type without int/double mixing when that one is known.
func (e *Env) outputType(checked *cel.Ast, kind Kind) *cel.Type {
	out := checked.OutputType()
	if kind == Any || !out.IsExactType(types.DynType) {
		return out
	}
	if plain, iss := e.plain.Compile(checked.Source().Content()); iss.Err() == nil {
		return plain.OutputType()
	}
	return out
}

// Vars are the values an expression sees; nil fields are null.
type Vars struct {
	Input  any
	Steps  map[string]any
	Result any
	Item   any
}

// Eval runs the program. Values are plain Go data as decoded from JSON
// (map[string]any, []any, string, float64, bool, nil) and the result is
// converted back to that shape.
func (p *Program) Eval(v Vars) (any, error) {
	return p.eval(context.Background(), v)
}

// EvalContext is Eval for activities, which may use the clock: it also stops,
// with an error that matches ctx.Err() through errors.Is, once ctx is done
// (checked every 100 iterations of map, filter, all and exists). Workflow code
// calls Eval: the counted limits already bound it, and a deadline would not
// stop at the same point on replay.
func (p *Program) EvalContext(ctx context.Context, v Vars) (any, error) {
	return p.eval(ctx, v)
}

func (p *Program) eval(ctx context.Context, v Vars) (any, error) {
	steps := v.Steps
	if steps == nil {
		steps = map[string]any{}
	}
	vars := map[string]any{"input": v.Input, "steps": steps, "result": v.Result, "item": v.Item}
	var out ref.Val
	var err error
	if ctx.Done() == nil { // never done: no need for the interrupt checks
		out, _, err = p.prg.Eval(vars)
	} else {
		out, _, err = p.prg.ContextEval(ctx, vars)
	}
	if err != nil {
		var cancelled interpreter.EvalCancelledError
		switch {
		case errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded:
			return nil, fmt.Errorf("evaluate %q: %w: cost limit of %d units reached (lists and strings count by their size)", p.source, ErrLimit, MaxCost)
		case ctx.Err() != nil:
			return nil, fmt.Errorf("evaluate %q: stopped: %w", p.source, ctx.Err())
		}
		return nil, fmt.Errorf("evaluate %q: %w", p.source, err)
	}
	if _, ok := jsonSize(out, MaxResultBytes); !ok {
		// Not the count reached: where the walk stops depends on the order
		// of map iteration, and this message may be recorded in history.
		return nil, fmt.Errorf("evaluate %q: %w: its result is over %d bytes as JSON", p.source, ErrLimit, MaxResultBytes)
	}
	native, err := out.ConvertToNative(jsonValueType)
	if err != nil {
		return nil, fmt.Errorf("evaluate %q: result %s cannot be used as data: %w", p.source, out.Type(), err)
	}
	val := native.(*structpb.Value).AsInterface()
	switch p.kind {
	case Bool:
		if _, ok := val.(bool); !ok {
			return nil, fmt.Errorf("evaluate %q: a condition must be true or false, got %T", p.source, val)
		}
	case List:
		if _, ok := val.([]any); !ok {
			return nil, fmt.Errorf("evaluate %q: the items of a map step must be a list, got %T", p.source, val)
		}
	}
	return val, nil
}

// EvalBool runs a Bool program.
func (p *Program) EvalBool(v Vars) (bool, error) {
	val, err := p.Eval(v)
	if err != nil {
		return false, err
	}
	b, ok := val.(bool)
	if !ok {
		return false, fmt.Errorf("evaluate %q: a condition must be true or false, got %T", p.source, val)
	}
	return b, nil
}

// Source returns the expression's text.
func (p *Program) Source() string { return p.source }

func oneLine(s string) string {
	// CEL's messages span lines with a caret under the column; keep the
	// first line, which says what is wrong, so problems stay one per line.
	s = strings.TrimPrefix(s, "ERROR: ")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimPrefix(strings.TrimSpace(s), "<input>:")
}

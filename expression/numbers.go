package expression

import (
	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"
)

// Numbers from JSON arrive as doubles, while an integer literal (1) and the
// result of size() are ints, and CEL does not convert between the two:
// `input.amount + 1` fails with "no such overload". Rewriting integer
// literals to doubles would leave size() unmixable and make list indexes
// doubles, so instead:
//
//   - the checker is told that + - * / also take (int, double) and
//     (double, int) and yield a double (numericOptions);
//   - the evaluator converts the int operand of such a pair to a double
//     before applying the operator (mixNumbers), whether the types were
//     known when checking or only at run time (dyn);
//   - comparisons use CEL's cross-type numeric comparisons; equality already
//     compares numbers by value across types.
//
// The arithmetic is float64 arithmetic, the same on every machine; int with
// int stays int (7 / 2 is 3).
func numericOptions() []cel.EnvOption {
	opts := []cel.EnvOption{cel.CrossTypeNumericComparisons(true)}
	for _, name := range []string{operators.Add, operators.Subtract, operators.Multiply, operators.Divide} {
		// No binding: CEL's own implementation (one for every overload of
		// the operator) runs, with mixNumbers converting the operands first.
		opts = append(opts, cel.Function(name,
			cel.Overload("statedriven_"+name+"_int64_double", []*cel.Type{cel.IntType, cel.DoubleType}, cel.DoubleType),
			cel.Overload("statedriven_"+name+"_double_int64", []*cel.Type{cel.DoubleType, cel.IntType}, cel.DoubleType),
		))
	}
	return opts
}

// arithmetic maps each operator to CEL's implementation of it, through the
// operand trait, as CEL's standard library does.
var arithmetic = map[string]func(lhs, rhs ref.Val) ref.Val{
	operators.Add: func(lhs, rhs ref.Val) ref.Val {
		if l, ok := lhs.(traits.Adder); ok {
			return l.Add(rhs)
		}
		return types.MaybeNoSuchOverloadErr(lhs)
	},
	operators.Subtract: func(lhs, rhs ref.Val) ref.Val {
		if l, ok := lhs.(traits.Subtractor); ok {
			return l.Subtract(rhs)
		}
		return types.MaybeNoSuchOverloadErr(lhs)
	},
	operators.Multiply: func(lhs, rhs ref.Val) ref.Val {
		if l, ok := lhs.(traits.Multiplier); ok {
			return l.Multiply(rhs)
		}
		return types.MaybeNoSuchOverloadErr(lhs)
	},
	operators.Divide: func(lhs, rhs ref.Val) ref.Val {
		if l, ok := lhs.(traits.Divider); ok {
			return l.Divide(rhs)
		}
		return types.MaybeNoSuchOverloadErr(lhs)
	},
}

// mixNumbers is the interpreter decorator that replaces each arithmetic call
// by a mixedCall.
func mixNumbers(i interpreter.InterpretableV2) (interpreter.InterpretableV2, error) {
	call, ok := i.(interpreter.InterpretableCall)
	if !ok || len(call.Args()) != 2 {
		return i, nil
	}
	if op, ok := arithmetic[call.Function()]; ok {
		args := call.Args()
		return &mixedCall{InterpretableCall: call, op: op, lhs: args[0], rhs: args[1]}, nil
	}
	return i, nil
}

// mixedCall evaluates both operands, as CEL's binary calls do, converts an
// int paired with a double to a double, and applies the operator.
type mixedCall struct {
	interpreter.InterpretableCall
	op       func(lhs, rhs ref.Val) ref.Val
	lhs, rhs interpreter.InterpretableV2 // Args() allocates on every call
}

// Eval implements interpreter.Interpretable.
func (m *mixedCall) Eval(vars interpreter.Activation) ref.Val {
	return m.Exec(interpreter.AsFrame(vars))
}

// Exec implements interpreter.InterpretableV2.
func (m *mixedCall) Exec(frame *interpreter.ExecutionFrame) ref.Val {
	lhs := m.lhs.Exec(frame)
	rhs := m.rhs.Exec(frame)
	if types.IsUnknownOrError(lhs) {
		return lhs
	}
	if types.IsUnknownOrError(rhs) {
		return rhs
	}
	switch l := lhs.(type) {
	case types.Int:
		if _, ok := rhs.(types.Double); ok {
			lhs = types.Double(l)
		}
	case types.Double:
		if r, ok := rhs.(types.Int); ok {
			rhs = types.Double(r)
		}
	}
	return m.op(lhs, rhs)
}

package expression

import (
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/overloads"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"
)

// CEL's own runtime cost charges list concatenation one unit (it builds a
// lazy view), string concatenation a tenth of a unit per character, and
// equality by the top-level size of its operands only. A definition can
// therefore build a list of 2^24 elements for a few dozen units, and have it
// walked by ==, `in` or the conversion of the result, in one step that the
// limit, checked between steps, cannot interrupt. builtCost closes that gap:
// whatever an operation builds is charged by its size, and whatever an
// operation walks is measured, within a cap, before it is walked.

// builtCost is the interpreter.ActualCostEstimator that charges operations
// by the size of what they build or walk. It switches on the function and
// the runtime values rather than the overload id, because operands typed dyn
// (anything read from input or steps) reach it with no specific overload.
type builtCost struct{}

// CallCost implements interpreter.ActualCostEstimator.
func (builtCost) CallCost(function, _ string, args []ref.Val, _ ref.Val) *uint64 {
	if len(args) != 2 {
		return nil // CEL's own estimate
	}
	var cost uint64
	switch function {
	case operators.Add:
		cost = addCost(args[0], args[1])
	case operators.Equals, operators.NotEquals:
		cost = compareCost(args[0], args[1])
	case operators.In:
		cost = inCost(args[0], args[1])
	default:
		return nil
	}
	if cost < uint64(len(smallCosts)) {
		return &smallCosts[cost] // the common case, without an allocation per call
	}
	charged := cost
	return &charged
}

// smallCosts holds the costs most calls have, each at its own index, so
// that CallCost can return a pointer without allocating; CEL only reads
// through it.
var smallCosts = func() (c [256]uint64) {
	for i := range c {
		c[i] = uint64(i)
	}
	return c
}()

// addCost charges a concatenation by the size of its result: one unit per
// element of a list, per byte of a string. The exception is the hidden
// accumulator of map and filter, which CEL appends to in place: charging its
// whole size on every append would make every map quadratic, so an append
// is charged by what it adds.
func addCost(lhs, rhs ref.Val) uint64 {
	switch l := lhs.(type) {
	case traits.MutableLister:
		return 1 + listLen(rhs)
	case traits.Lister:
		return 1 + listLen(l) + listLen(rhs)
	case types.String:
		if r, ok := rhs.(types.String); ok {
			return 1 + uint64(len(l)) + uint64(len(r))
		}
	case types.Bytes:
		if r, ok := rhs.(types.Bytes); ok {
			return 1 + uint64(len(l)) + uint64(len(r))
		}
	}
	return 1 // numbers, durations, timestamps
}

// compareCost charges an equality by the values it may visit: one unit when
// either side is a scalar or the sizes differ (CEL answers at once), else the
// smaller of the two sides' value counts.
func compareCost(lhs, rhs ref.Val) uint64 {
	if !deepCompare(lhs, rhs) {
		return 1
	}
	l, _ := countValues(lhs, MaxCost+1)
	r, _ := countValues(rhs, l)
	return min(l, r)
}

// inCost charges membership in a list by the values the search may visit;
// a key lookup in a map is one unit.
func inCost(elem, container ref.Val) uint64 {
	list, ok := container.(traits.Lister)
	if !ok {
		return 1
	}
	if !isContainer(elem) {
		return 1 + listLen(list)
	}
	n, _ := countValues(list, MaxCost+1)
	return n
}

// matchCost is CEL's own charge for matches() (string length times a
// quarter of the pattern's), which CEL only applies once the match has run:
// with both from the data, one match could take hours.
func matchCost(s, pattern ref.Val) uint64 {
	str, ok1 := s.(types.String)
	re, ok2 := pattern.(types.String)
	if !ok1 || !ok2 {
		return 1
	}
	strCost := (uint64(len(str)) + 10) / 10
	reCost := (uint64(len(re)) + 3) / 4
	return strCost * reCost
}

// deepCompare reports whether comparing lhs and rhs walks into them.
func deepCompare(lhs, rhs ref.Val) bool {
	ls, lok := lhs.(traits.Sizer)
	rs, rok := rhs.(traits.Sizer)
	return lok && rok && isContainer(lhs) && isContainer(rhs) && ls.Size() == rs.Size()
}

func isContainer(v ref.Val) bool {
	switch v.(type) {
	case traits.Lister, traits.Mapper:
		return true
	}
	return false
}

func listLen(v ref.Val) uint64 {
	if l, ok := v.(traits.Lister); ok {
		if n, ok := l.Size().(types.Int); ok && n > 0 {
			return uint64(n)
		}
	}
	return 0
}

// countValues counts the values in v, containers and their elements alike,
// and stops as soon as the count passes limit, so that measuring a value
// costs no more than the limit, however large (or however shared, as
// [a, a, a] with a a large list is) the value is. Past the limit it returns
// exactly limit+1, whatever order maps are walked in.
func countValues(v ref.Val, limit uint64) (uint64, bool) {
	c := counter{limit: limit}
	ok := c.walk(v)
	return c.n, ok
}

type counter struct {
	n, limit uint64
}

func (c *counter) walk(v ref.Val) bool {
	switch v := v.(type) {
	case traits.Lister:
		if native, ok := v.Value().([]any); ok {
			return c.walkNative(native) // data as decoded from JSON, unwrapped
		}
	case traits.Mapper:
		if native, ok := v.Value().(map[string]any); ok {
			return c.walkNative(native)
		}
	}
	c.n++
	if c.n > c.limit {
		return false
	}
	switch v := v.(type) {
	case traits.Lister:
		for it := v.Iterator(); it.HasNext() == types.True; {
			if !c.walk(it.Next()) {
				return false
			}
		}
	case traits.Mapper:
		for it := v.Iterator(); it.HasNext() == types.True; {
			if !c.walk(v.Get(it.Next())) {
				return false
			}
		}
	}
	return true
}

func (c *counter) walkNative(v any) bool {
	c.n++
	if c.n > c.limit {
		return false
	}
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if !c.walkNative(e) {
				return false
			}
		}
	case map[string]any:
		for _, e := range v { // the count does not depend on the order
			if !c.walkNative(e) {
				return false
			}
		}
	}
	return true
}

// guardWalks is the interpreter decorator that measures the operands of ==,
// != and `in` before they are compared, and stops the evaluation when the
// comparison would visit more than MaxCost values; likewise matches() when
// its string and pattern would cost more than MaxCost. The cost tracker charges
// only after an operation returns, so without this one comparison of two
// cheaply built, widely shared lists could run for minutes.
func guardWalks(i interpreter.InterpretableV2) (interpreter.InterpretableV2, error) {
	call, ok := i.(interpreter.InterpretableCall)
	if !ok || len(call.Args()) != 2 {
		return i, nil
	}
	switch call.Function() {
	case operators.Equals, operators.NotEquals, operators.In, overloads.Matches:
		args := call.Args()
		return &guardedCall{InterpretableCall: call, lhs: args[0], rhs: args[1]}, nil
	}
	return i, nil
}

// guardedCall evaluates the operands itself, measures them, then applies the
// operator with the same semantics as CEL's own evalEq, evalNe and `in`.
type guardedCall struct {
	interpreter.InterpretableCall
	lhs, rhs interpreter.InterpretableV2 // Args() allocates on every call
}

// Eval implements interpreter.Interpretable.
func (g *guardedCall) Eval(vars interpreter.Activation) ref.Val {
	return g.Exec(interpreter.AsFrame(vars))
}

// Exec implements interpreter.InterpretableV2.
func (g *guardedCall) Exec(frame *interpreter.ExecutionFrame) ref.Val {
	lhs := g.lhs.Exec(frame)
	if types.IsError(lhs) {
		return lhs
	}
	rhs := g.rhs.Exec(frame)
	if types.IsError(rhs) {
		return rhs
	}
	var unk *types.Unknown
	unk, _ = types.MaybeMergeUnknowns(lhs, unk)
	unk, _ = types.MaybeMergeUnknowns(rhs, unk)
	if unk != nil {
		return unk
	}
	switch g.Function() {
	case operators.Equals:
		if compareCost(lhs, rhs) > MaxCost {
			return tooCostly()
		}
		return types.Equal(lhs, rhs)
	case operators.NotEquals:
		if compareCost(lhs, rhs) > MaxCost {
			return tooCostly()
		}
		return types.Bool(types.Equal(lhs, rhs) != types.True)
	case overloads.Matches:
		m, ok := lhs.(traits.Matcher)
		if !ok {
			return types.MaybeNoSuchOverloadErr(lhs)
		}
		if matchCost(lhs, rhs) > MaxCost {
			return tooCostly() // before the pattern is even compiled
		}
		return m.Match(rhs)
	default: // operators.In
		c, ok := rhs.(traits.Container)
		if !ok {
			return types.MaybeNoSuchOverloadErr(rhs)
		}
		if inCost(lhs, rhs) > MaxCost {
			return tooCostly()
		}
		return c.Contains(lhs)
	}
}

// tooCostly stops the evaluation the way CEL's cost tracker does, so callers
// see one kind of error whichever of the two noticed.
func tooCostly() ref.Val {
	panic(interpreter.EvalCancelledError{
		Cause:   interpreter.CostLimitExceeded,
		Message: "operation cancelled: actual cost limit exceeded",
	})
}

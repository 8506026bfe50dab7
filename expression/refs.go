package expression

import (
	"slices"

	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
)

// StepRefs returns the names of the earlier steps whose outputs the
// expression reads, sorted and without duplicates, so that a caller can pass
// an activity only those outputs. A name counts when it is written out:
// steps.NAME, has(steps.NAME), steps["NAME"] or "NAME" in steps. all reports
// that the expression also reads steps in a way only known at run time
// (steps[x], steps.size(), steps.exists(...), or steps itself): the caller
// must then pass every output. The returned slice is the caller's to keep.
func (p *Program) StepRefs() (names []string, all bool) {
	return slices.Clone(p.stepRefs), p.allSteps
}

// stepRefs walks a checked expression for StepRefs. A comprehension that
// names its own variable steps hides the real one; its reads count as all,
// which is never wrong, only wasteful.
func stepRefs(e ast.Expr) (names []string, all bool) {
	w := refWalker{}
	w.walk(e)
	slices.Sort(w.names)
	return slices.Compact(w.names), w.all
}

type refWalker struct {
	names []string
	all   bool
}

func (w *refWalker) walk(e ast.Expr) {
	switch e.Kind() {
	case ast.IdentKind:
		if e.AsIdent() == "steps" {
			w.all = true
		}
	case ast.SelectKind:
		sel := e.AsSelect()
		if isSteps(sel.Operand()) {
			w.names = append(w.names, sel.FieldName())
			return
		}
		w.walk(sel.Operand())
	case ast.CallKind:
		w.call(e.AsCall())
	case ast.ListKind:
		for _, el := range e.AsList().Elements() {
			w.walk(el)
		}
	case ast.MapKind:
		for _, entry := range e.AsMap().Entries() {
			me := entry.AsMapEntry()
			w.walk(me.Key())
			w.walk(me.Value())
		}
	case ast.StructKind:
		for _, f := range e.AsStruct().Fields() {
			w.walk(f.AsStructField().Value())
		}
	case ast.ComprehensionKind:
		c := e.AsComprehension()
		for _, sub := range []ast.Expr{c.IterRange(), c.AccuInit(), c.LoopCondition(), c.LoopStep(), c.Result()} {
			w.walk(sub)
		}
	}
}

// call records steps["NAME"] and "NAME" in steps as reads of NAME, and
// walks every other call's operands.
func (w *refWalker) call(c ast.CallExpr) {
	args := c.Args()
	if len(args) == 2 && !c.IsMemberFunction() {
		switch c.FunctionName() {
		case operators.Index:
			if name, ok := stringLiteral(args[1]); ok && isSteps(args[0]) {
				w.names = append(w.names, name)
				return
			}
		case operators.In:
			if name, ok := stringLiteral(args[0]); ok && isSteps(args[1]) {
				w.names = append(w.names, name)
				return
			}
		}
	}
	if c.IsMemberFunction() {
		w.walk(c.Target())
	}
	for _, a := range args {
		w.walk(a)
	}
}

func isSteps(e ast.Expr) bool {
	return e.Kind() == ast.IdentKind && e.AsIdent() == "steps"
}

func stringLiteral(e ast.Expr) (string, bool) {
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}

// Package expression compiles and evaluates the expressions of a workflow
// definition: data conditions (`when`), input mappings, the item lists of
// map steps (all three inside deterministic workflow code) and the mappings
// of the transform action (in an activity). Expressions are CEL
// (github.com/google/cel-go): sandboxed, side effect free and deterministic
// (CEL has no clock and no randomness).
//
// Every expression sees the same variables:
//
//	input   the run's input data
//	steps   the outputs of the steps run so far, by step name
//	result  the output of the step being routed (conditions only; null elsewhere)
//	item    the current element (inside a map step; null elsewhere)
//
// # Bounds
//
// Workflow code may not use a clock, so evaluation is bounded by counting.
// CEL's own runtime cost is not enough: it charges list concatenation one
// unit (the result is a lazy view), string concatenation a tenth of a unit
// per byte, and equality by the top-level size of its operands, all after
// the operation has run. A one-kilobyte expression could build a list of
// 2^24 elements for a few dozen units and then have it walked, by == or by
// the conversion of the result, in one uninterruptible step. Here:
//
//   - concatenation is charged by the size of its result (cost.go), and the
//     elements map and filter append are charged one by one;
//   - ==, != and `in` measure what they would visit before they visit it, and
//     are charged for it (cost.go);
//   - a result is measured as JSON before it is converted, against
//     MaxResultBytes (size.go).
//
// Errors from these limits match ErrLimit.
//
// # Numbers
//
// JSON numbers are doubles, CEL integer literals and size() are ints, and
// CEL does not convert between them. The environment declares + - * / for
// (int, double) and (double, int), converting the int to a double when the
// operator runs, and enables CEL's cross-type numeric comparisons; see
// numbers.go. Integer with integer stays integer arithmetic.
//
// # Step references
//
// Program.StepRefs lists the earlier steps an expression reads, so that
// callers pass an activity only those outputs.
package expression

package expression

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/stretchr/testify/require"
)

// doubling returns an expression of depth n that doubles seed n times, each
// level reading the previous one twice: [[seed]].map(a0, [a0+a0].map(a1, …)).
func doubling(seed string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s].map(a0, ", seed)
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "[a%d + a%d].map(a%d, ", i-1, i-1, i)
	}
	fmt.Fprintf(&b, "a%d + a%d", n-1, n-1)
	b.WriteString(strings.Repeat(")", n))
	return b.String()
}

// sharing returns an expression that multiplies a list tenfold per level by
// writing the previous level ten times in a list literal: no + at all.
func sharing(n int) string {
	var b strings.Builder
	b.WriteString("[[1]].map(a0, ")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "[[%s]].map(a%d, ", strings.TrimSuffix(strings.Repeat(fmt.Sprintf("a%d, ", i-1), 10), ", "), i)
	}
	fmt.Fprintf(&b, "[%s]", strings.TrimSuffix(strings.Repeat(fmt.Sprintf("a%d, ", n-1), 10), ", "))
	b.WriteString(strings.Repeat(")", n))
	return b.String()
}

// bytesAllocated is what f allocates on the heap. Tests that call it are not
// parallel: other goroutines' allocations would count too.
func bytesAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestBombsStopAtTheLimitWithBoundedMemory(t *testing.T) {
	env, err := NewEnv()
	require.NoError(t, err)
	big := make([]any, 1000)
	for i := range big {
		big[i] = float64(i)
	}
	vars := Vars{Input: map[string]any{"l": big, "s": strings.Repeat("x", 1000), "long": strings.Repeat("(x|xx)", 20_000)}}
	cases := []struct {
		name string
		src  string
		kind Kind
	}{
		{"list doubling, mapping", doubling("[1]", 24), Any},
		{"list doubling, condition", doubling("[1]", 24) + " == []", Bool},
		{"list doubling, size", doubling("[1]", 24) + ".size() > 0", Bool},
		{"string doubling", doubling("'ab'", 24), Any},
		{"string doubling from input", doubling("input.s", 24), Any},
		{"list doubling from input", doubling("input.l", 24), Any},
		{"shared literals, mapping", sharing(8), Any},
		{"shared literals, compared", sharing(8) + " == " + sharing(8), Bool},
		{"shared literals, in", "dyn([1]) in " + sharing(8), Bool},
		{"range-like construction", "input.l.map(a, input.l.map(b, a + b))", Any},
		{"nested comprehension filter", "input.l.map(a, input.l.filter(b, b > a)).size() > 0", Bool},
		{"repeated input", "input.l.map(a, input.l)", Any},
		{"repeated input compared", "input.l.map(a, input.l) == input.l.map(a, input.l)", Bool},
		{"concat in a loop", "input.l.map(a, input.l + [a]).size() > 0", Bool},
		{"string concat in a loop", "input.l.map(a, input.s + input.s).size() > 0", Bool},
		{"match of a long pattern", "input.long.matches(input.long)", Bool},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.LessOrEqual(t, len(tc.src), MaxSourceLength)
			prg, err := env.Compile(tc.src, tc.kind)
			require.NoError(t, err)
			var evalErr error
			alloc := bytesAllocated(func() { _, evalErr = prg.Eval(vars) })
			require.ErrorIs(t, evalErr, ErrLimit)
			t.Logf("%d bytes allocated: %v", alloc, evalErr)
			require.Less(t, alloc, uint64(64<<20), "allocated %d bytes before stopping", alloc)
		})
	}
}

func TestNormalExpressionsStayWellUnderTheLimits(t *testing.T) {
	t.Parallel()
	env, err := NewEnv()
	require.NoError(t, err)
	vars := benchVars()
	for _, bc := range benchCases {
		prg, err := env.Compile(bc.src, bc.kind)
		require.NoError(t, err, bc.src)
		_, err = prg.Eval(vars)
		require.NoError(t, err, bc.src)
	}
	// A result as large as a payload can be passes through whole.
	items := make([]any, 20_000)
	for i := range items {
		items[i] = map[string]any{"id": fmt.Sprintf("item-%05d", i), "amount": float64(i), "ok": true}
	}
	prg, err := env.Compile("input.items", List)
	require.NoError(t, err)
	got, err := prg.Eval(Vars{Input: map[string]any{"items": items}})
	require.NoError(t, err)
	require.Len(t, got, 20_000)
}

func TestResultSizeIsBounded(t *testing.T) {
	t.Parallel()
	env, err := NewEnv()
	require.NoError(t, err)
	prg, err := env.Compile("[input.s, input.s, input.s]", Any)
	require.NoError(t, err)
	_, err = prg.Eval(Vars{Input: map[string]any{"s": strings.Repeat("x", MaxResultBytes/2)}})
	require.ErrorIs(t, err, ErrLimit)
	require.ErrorContains(t, err, "result is over")
}

var benchCases = []struct {
	name string
	src  string
	kind Kind
}{
	{"condition", "steps.validate.score > 0.8 && input.amount >= 100.0", Bool},
	{"mapping", "{'total': input.amount * 2.0, 'customer': input.customer, 'tags': input.tags}", Any},
	{"string", "'order-' + input.id + '-' + input.customer.name", Any},
	{"items", "input.items.map(x, x.id)", List},
	{"filter", "input.items.filter(x, x.amount > 50.0).size() > 3", Bool},
	{"membership", "'b' in input.tags && input.customer == steps.validate.customer", Bool},
	{"regex", "input.id.matches('^A[0-9]+$')", Bool},
}

func benchVars() Vars {
	items := make([]any, 100)
	for i := range items {
		items[i] = map[string]any{"id": fmt.Sprintf("item-%d", i), "amount": float64(i)}
	}
	customer := map[string]any{"name": "Ada", "tier": "gold"}
	return Vars{
		Input: map[string]any{"amount": 120.0, "id": "A17", "tags": []any{"a", "b"}, "customer": customer, "items": items},
		Steps: map[string]any{"validate": map[string]any{"score": 0.9, "customer": map[string]any{"name": "Ada", "tier": "gold"}}},
	}
}

// BenchmarkEval compares, in one run, the bounded evaluation with what
// Compile and Eval did before it (CEL's own cost limit, no result check).
func BenchmarkEval(b *testing.B) {
	env, err := NewEnv()
	require.NoError(b, err)
	vars := benchVars()
	for _, bc := range benchCases {
		prg, err := env.Compile(bc.src, bc.kind)
		require.NoError(b, err)
		ast, iss := env.env.Compile(bc.src)
		require.NoError(b, iss.Err())
		plain, err := env.env.Program(ast, cel.CostLimit(MaxCost), cel.InterruptCheckFrequency(100))
		require.NoError(b, err)
		b.Run(bc.name+"/before", func(b *testing.B) {
			for b.Loop() {
				out, _, err := plain.Eval(map[string]any{
					"input": vars.Input, "steps": vars.Steps, "result": vars.Result, "item": vars.Item,
				})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := out.ConvertToNative(jsonValueType); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/bounded", func(b *testing.B) {
			for b.Loop() {
				if _, err := prg.Eval(vars); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestJSONSizeMatchesEncoding(t *testing.T) {
	t.Parallel()
	v := map[string]any{
		"amount": 120.5, "n": 3.0, "tags": []any{"a", "bc"}, "empty": []any{},
		"none": nil, "ok": true, "nested": map[string]any{"x": []any{1.0, map[string]any{}}},
	}
	want, err := json.Marshal(v)
	require.NoError(t, err)
	got, ok := jsonSize(types.DefaultTypeAdapter.NativeToValue(v), len(want))
	require.True(t, ok)
	require.Equal(t, len(want), got)
	_, ok = jsonSize(types.DefaultTypeAdapter.NativeToValue(v), len(want)-1)
	require.False(t, ok)
}

func TestEvalContextStopsWhenTheContextIsDone(t *testing.T) {
	t.Parallel()
	env, err := NewEnv()
	require.NoError(t, err)
	prg, err := env.Compile("input.l.map(a, input.l.map(b, a + b)).size() > 0", Bool)
	require.NoError(t, err)
	l := make([]any, 100)
	for i := range l {
		l[i] = float64(i)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = prg.EvalContext(ctx, Vars{Input: map[string]any{"l": l}})
	require.ErrorIs(t, err, context.Canceled)

	got, err := prg.EvalContext(t.Context(), Vars{Input: map[string]any{"l": l}})
	require.NoError(t, err)
	require.Equal(t, true, got)
}

func TestGuardedOperatorsKeepCELSemantics(t *testing.T) {
	t.Parallel()
	env, err := NewEnv()
	require.NoError(t, err)
	vars := Vars{Input: map[string]any{"m": map[string]any{"a": 1.0, "b": []any{"x"}}, "l": []any{1.0, "x"}}}
	cases := []struct {
		src  string
		want any
		err  string
	}{
		{"[1, 2] == [1, 2]", true, ""},
		{"[1, 2] != [1, 3]", true, ""},
		{"input.m == {'a': 1.0, 'b': ['x']}", true, ""},
		{"input.m != {'a': 1.0, 'b': ['y']}", true, ""},
		{"input.m == {'a': 1}", false, ""},
		{"input.l == [1, 'x']", true, ""},
		{"2 in [1, 2]", true, ""},
		{"'a' in input.m", true, ""},
		{"['x'] in [input.m.b]", true, ""},
		{"'z' in input.l", false, ""},
		{"'abc'.matches('^a.c$')", true, ""},
		{"matches('abc', 'd')", false, ""},
		{"input.missing == 1", nil, "no such key"},
		{"1 in input.missing", nil, "no such key"},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			t.Parallel()
			prg, err := env.Compile(tc.src, Any)
			require.NoError(t, err)
			got, err := prg.Eval(vars)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

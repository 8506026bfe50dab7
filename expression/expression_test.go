package expression

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCompileAndEval(t *testing.T) {
	t.Parallel()
	env, err := NewEnv()
	require.NoError(t, err)
	vars := Vars{
		Input: map[string]any{"amount": 120.0, "tags": []any{"a", "b"}},
		Steps: map[string]any{"validate": map[string]any{"score": 0.9}},
	}
	cases := []struct {
		name string
		src  string
		kind Kind
		want any
		err  string
	}{
		{"bool on data", "steps.validate.score > 0.8 && input.amount >= 100.0", Bool, true, ""},
		{"dyn condition", "input.tags.size() == 2", Bool, true, ""},
		{"mapping", "{'total': input.amount * 2.0}", Any, map[string]any{"total": 240.0}, ""},
		{"list", "input.tags", List, []any{"a", "b"}, ""},
		{"int condition refused", "1 + 2", Bool, nil, "must be true or false, but this yields int"},
		{"string list refused", "'abc'", List, nil, "must be a list, but this yields string"},
		{"syntax", "input.amount >", Any, nil, "does not compile"},
		{"unknown variable", "data.x", Any, nil, "undeclared reference to 'data'"},
		{"empty", "  ", Any, nil, "it is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prg, err := env.Compile(tc.src, tc.kind)
			if tc.err != "" {
				require.ErrorIs(t, err, ErrCompile)
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			got, err := prg.Eval(vars)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestEvalRefusesWrongTypeAtRunTime(t *testing.T) {
	t.Parallel()
	env, err := NewEnv()
	require.NoError(t, err)
	prg, err := env.Compile("input.amount", Bool)
	require.NoError(t, err)
	_, err = prg.EvalBool(Vars{Input: map[string]any{"amount": 3.0}})
	require.ErrorContains(t, err, "must be true or false")
}

func TestCostLimitStopsRunawayExpressions(t *testing.T) {
	t.Parallel()
	env, err := NewEnv()
	require.NoError(t, err)
	// Each nested map over the list multiplies the work; the cost limit must
	// stop it long before it finishes.
	prg, err := env.Compile("input.l.map(a, input.l.map(b, input.l.map(c, input.l.map(d, a+b+c+d)))).size() > 0", Bool)
	require.NoError(t, err)
	l := make([]any, 100)
	for i := range l {
		l[i] = float64(i)
	}
	_, err = prg.Eval(Vars{Input: map[string]any{"l": l}})
	require.ErrorContains(t, err, "cost limit")
}

package expression

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIntegersMixWithDoubles(t *testing.T) {
	t.Parallel()
	env, err := NewEnv()
	require.NoError(t, err)
	vars := Vars{
		Input: map[string]any{"amount": 120.0, "x": 2.5, "tags": []any{"a", "b", "c"}, "idx": 1.0},
		Steps: map[string]any{"a": map[string]any{"count": 3.0}},
	}
	cases := []struct {
		src  string
		want any
	}{
		{"input.amount + 1", 121.0},
		{"1 + input.x", 3.5},
		{"input.amount - 1", 119.0},
		{"steps.a.count - 1", 2.0},
		{"10 - input.x", 7.5},
		{"input.amount * 2", 240.0},
		{"2 * input.x", 5.0},
		{"input.amount / 2", 60.0},
		{"5 / input.x", 2.0},
		{"input.amount > 100", true},
		{"100 < input.amount", true},
		{"input.amount >= 120", true},
		{"121 <= input.amount", false},
		{"input.amount < 100", false},
		{"input.amount == 120", true},
		{"120 != input.amount", false},
		{"size(input.tags) * 1.5", 4.5},
		{"1.5 * size(input.tags)", 4.5},
		{"input.tags.size() + input.x", 5.5},
		{"size(input.tags) > input.x", true},
		{"input.x < input.tags.size()", true},
		{"size(input.tags) - 0.5", 2.5},
		{"input.amount + 1 > 120", true},
		{"1 + 2", 3.0},                 // still int arithmetic; JSON has one number type
		{"7 / 2", 3.0},                 // int division stays int division
		{"input.tags[0]", "a"},         // int literals still index lists
		{"input.tags[input.idx]", "b"}, // and whole doubles do too
		{"input.tags[size(input.tags) - 1]", "c"},
		{"{'total': input.amount * 2 + 1}", map[string]any{"total": 241.0}},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			t.Parallel()
			prg, err := env.Compile(tc.src, Any)
			require.NoError(t, err)
			first, err := prg.Eval(vars)
			require.NoError(t, err)
			require.Equal(t, tc.want, first)
			for range 3 {
				again, err := prg.Eval(vars)
				require.NoError(t, err)
				require.Equal(t, first, again)
			}
		})
	}
}

func TestMixedNumbersTypeCheck(t *testing.T) {
	t.Parallel()
	env, err := NewEnv()
	require.NoError(t, err)
	for _, src := range []string{"size([1]) * 1.5 > 1", "1 + 2.5 == 3.5", "2.0 * 3 < 7"} {
		prg, err := env.Compile(src, Bool)
		require.NoError(t, err, src)
		got, err := prg.EvalBool(Vars{})
		require.NoError(t, err, src)
		require.True(t, got, src)
	}
	_, err = env.Compile("'a' + 1", Any)
	require.ErrorIs(t, err, ErrCompile, "strings and numbers still do not mix")
}

func TestMixingDoesNotHideANumberWhereABoolIsNeeded(t *testing.T) {
	t.Parallel()
	env, err := NewEnv()
	require.NoError(t, err)
	_, err = env.Compile("steps.analyze.score + 1", Bool)
	require.ErrorIs(t, err, ErrCompile)
	require.ErrorContains(t, err, "must be true or false, but this yields int")
	_, err = env.Compile("input.amount * 2", List)
	require.ErrorContains(t, err, "must be a list, but this yields int")
	_, err = env.Compile("size(input.tags) * 1.5", Bool)
	require.ErrorContains(t, err, "must be true or false, but this yields double")
	_, err = env.Compile("input.amount + 1 > 100", Bool)
	require.NoError(t, err)
}

package expression

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStepRefs(t *testing.T) {
	t.Parallel()
	env, err := NewEnv()
	require.NoError(t, err)
	cases := []struct {
		src   string
		names []string
		all   bool
	}{
		{"input.amount > 100.0", nil, false},
		{"steps.validate.score > 0.8", []string{"validate"}, false},
		{"steps.b.x + steps.a.y + steps.b.z", []string{"a", "b"}, false},
		{"has(steps.first) ? steps.first.count + 1 : 0", []string{"first"}, false},
		{`steps["with-dash"].ok`, []string{"with-dash"}, false},
		{`'first' in steps && steps.first.n > 1`, []string{"first"}, false},
		{"{'k': [steps.m.v], steps.n.key: 1}", []string{"m", "n"}, false},
		{"input.items.map(x, steps.lookup[x.id])", []string{"lookup"}, false},
		{"steps.a.list.exists(x, x == steps.b.v)", []string{"a", "b"}, false},
		{"steps[input.name]", nil, true},
		{"steps", nil, true},
		{"size(steps) > 1 && steps.a.ok", []string{"a"}, true},
		{"steps.exists(k, k == 'a')", nil, true},
		{"[1].map(steps, steps)", nil, true}, // a shadowing variable counts as all: wasteful, not wrong
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			t.Parallel()
			prg, err := env.Compile(tc.src, Any)
			require.NoError(t, err)
			names, all := prg.StepRefs()
			require.Equal(t, tc.names, names)
			require.Equal(t, tc.all, all)
		})
	}
}

func TestStepRefsReturnsACopy(t *testing.T) {
	t.Parallel()
	env, err := NewEnv()
	require.NoError(t, err)
	prg, err := env.Compile("steps.a.x", Any)
	require.NoError(t, err)
	names, _ := prg.StepRefs()
	names[0] = "changed"
	again, _ := prg.StepRefs()
	require.Equal(t, []string{"a"}, again)
}

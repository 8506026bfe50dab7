package activities

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/contract"
)

func constant(v any) Action {
	return func(context.Context, contract.StepInput) (any, error) { return v, nil }
}

func TestRegistryBuiltins(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	require.Equal(t, []string{"aggregate", "http", "log", "transform", "validate", "wait"}, reg.Names())
	for _, name := range reg.Names() {
		a, ok := reg.Lookup(name)
		require.True(t, ok, name)
		require.NotNil(t, a, name)
	}
	_, ok := reg.Lookup("custom_processing")
	require.False(t, ok)
}

func TestRegistryRegister(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		action  Action
		wantErr string
		is      error
	}{
		{name: "custom", action: constant(1)},
		{name: "", action: constant(1), wantErr: "the name is empty"},
		{name: " custom", action: constant(1), wantErr: "leading or trailing spaces"},
		{name: "nil_action", action: nil, wantErr: "the action is nil"},
		{name: "log", action: constant(1), wantErr: `register action "log": action already registered; to use your own in its place, call Replace`, is: ErrActionExists},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q", tc.name), func(t *testing.T) {
			t.Parallel()
			reg := NewRegistry()
			err := reg.Register(tc.name, tc.action)
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.Contains(t, reg.Names(), tc.name)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
		})
	}
}

func TestRegistryDuplicateAndReplace(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	require.NoError(t, reg.Register("enrich", constant("first")))
	require.ErrorIs(t, reg.Register("enrich", constant("second")), ErrActionExists)

	// The first registration stands until it is replaced on purpose.
	a, ok := reg.Lookup("enrich")
	require.True(t, ok)
	got, err := a(context.Background(), contract.StepInput{})
	require.NoError(t, err)
	require.Equal(t, "first", got)

	require.NoError(t, reg.Replace("enrich", constant("second")))
	a, _ = reg.Lookup("enrich")
	got, err = a(context.Background(), contract.StepInput{})
	require.NoError(t, err)
	require.Equal(t, "second", got)

	// A built-in is replaced the same way.
	require.NoError(t, reg.Replace("log", constant("quiet")))
	a, _ = reg.Lookup("log")
	got, err = a(context.Background(), contract.StepInput{})
	require.NoError(t, err)
	require.Equal(t, "quiet", got)

	err = reg.Replace("enrihc", constant("typo"))
	require.ErrorIs(t, err, ErrActionNotFound)
	require.ErrorContains(t, err, "add it with Register")
	require.NotContains(t, reg.Names(), "enrihc")
	require.ErrorContains(t, reg.Replace("enrich", nil), "the action is nil")

	require.PanicsWithError(t, `register action "enrich": action already registered; to use your own in its place, call Replace`,
		func() { reg.MustRegister("enrich", constant(0)) })
	require.NotPanics(t, func() { reg.MustRegister("fresh", constant(0)) })
}

func TestRegistryConcurrentUse(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			name := fmt.Sprintf("action_%d", i)
			if errs[i] = reg.Register(name, constant(i)); errs[i] != nil {
				return
			}
			if _, ok := reg.Lookup(name); !ok {
				errs[i] = fmt.Errorf("%s not found after Register", name)
				return
			}
			errs[i] = reg.Replace(name, constant(-i))
			_ = reg.Names()
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, reg.Names(), 6+8)
}

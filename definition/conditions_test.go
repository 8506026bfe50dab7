package definition_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/definition"
)

// Wait and review steps route the error types they fail with (Timeout,
// Rejected) and refuse any other.
func TestWaitAndReviewErrorConditions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, step, routed, want string
	}{
		{"wait routes Timeout", `{name: w, wait: {signal: go, timeout: 1h}, conditions: {Timeout: done}}`, "Timeout", ""},
		{"review routes Rejected", `{name: w, type: review, review: {}, conditions: {Rejected: done}}`, "Rejected", ""},
		{"wait refuses another type", `{name: w, wait: {signal: go, timeout: 1h}, conditions: {Rejected: done}}`, "", "a wait step fails only with Timeout"},
		{"review refuses another type", `{name: w, type: review, review: {}, conditions: {Timeout: done}}`, "", "a review step fails only with Rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := definition.Parse("c.yaml", []byte("workflow_id: c\ninitial_step: w\nsteps:\n  - "+tt.step+"\n  - {name: done, type: succeed}\n"))
			require.NoError(t, err)
			plan, err := definition.Compile(doc, definition.Options{})
			if tt.want != "" {
				require.ErrorContains(t, err, tt.want)
				return
			}
			require.NoError(t, err)
			s, ok := plan.Step("w")
			require.True(t, ok)
			require.Equal(t, "done", s.OnError[tt.routed])
		})
	}
}

// A definition whose plan would not fit in a run's input is refused by
// validate, not by the server at the start.
func TestPlanTooLargeIsRefused(t *testing.T) {
	t.Parallel()
	var def strings.Builder
	def.WriteString("workflow_id: huge\ninitial_step: s0\nsteps:\n")
	for i := range 10_000 {
		fmt.Fprintf(&def, "  - {name: s%d, action: log, params: {message: \"step %d of a definition far too long to carry\"}}\n", i, i)
	}
	doc, err := definition.Parse("huge.yaml", []byte(def.String()))
	require.NoError(t, err)
	_, err = definition.Compile(doc, definition.Options{})
	var ps definition.Problems
	require.ErrorAs(t, err, &ps)
	require.Len(t, ps, 1)
	require.Contains(t, ps[0].String(), "huge.yaml:1:1")
	require.Contains(t, ps[0].String(), "the compiled plan is")
}

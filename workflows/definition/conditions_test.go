package definition_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/workflows/definition"
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

package builtin

import "time"

// WaitParams are the wait action's params.
type WaitParams struct {
	// Duration is how long to wait, above zero.
	Duration time.Duration
}

// ParseWait decodes the wait action's params: duration required and
// positive. Whether it fits in the attempt's timeout is known only at run
// time, to the action.
func ParseWait(params map[string]any) (WaitParams, Problems) {
	var ps Problems
	d, ok := ps.durationParam(params, "duration")
	if !ok && len(ps) == 0 {
		ps.add("duration", `say how long to wait, e.g. "30s"`, "it is required")
	}
	return WaitParams{Duration: d}, ps
}

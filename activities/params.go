package activities

import "github.com/statedriven/statedriven/activities/builtin"

// paramsError is the BadParams failure for a built-in action's params
// problems (see package builtin, which validate shares), or nil when there
// are none.
func paramsError(ps builtin.Problems) error {
	if len(ps) == 0 {
		return nil
	}
	return NewNonRetryableError(ErrorTypeBadParams, "%s", ps.Error())
}

package builtin

// AggregateParams are the aggregate action's params.
type AggregateParams struct {
	// Steps names the steps whose outputs to gather; nil gathers every
	// step run so far.
	Steps []string
}

// ParseAggregate decodes the aggregate action's params: steps, an
// optional list of step names. That the named steps ran before is known
// only at run time.
func ParseAggregate(params map[string]any) (AggregateParams, Problems) {
	var ps Problems
	steps, _ := ps.stringListParam(params, "steps")
	return AggregateParams{Steps: steps}, ps
}

package contract

// StepInput is what an action receives.
type StepInput struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	// Definition is the plan's name.
	Definition string `json:"definition"`
	Step       string `json:"step"`
	Action     string `json:"action"`
	// Params are the step's literal params.
	Params map[string]any `json:"params,omitempty"`
	// Input is the result of the step's input mapping; without one, the
	// run's input.
	Input any `json:"input,omitempty"`
	// Steps are the outputs of the steps run so far, sent to the
	// aggregate action only: every other action reads earlier outputs
	// through its step's input mapping, so that an activity's input does
	// not grow with the length of the run.
	Steps map[string]any `json:"steps,omitempty"`
	// Item is the element of a map step's list this call handles.
	Item any `json:"item,omitempty"`
	// Index is the element's position in that list.
	Index int `json:"index,omitempty"`
}

// StepOutput is what an action returns.
type StepOutput struct {
	// Result is stored as the step's output, seen by later expressions as
	// steps.<name>.
	Result any `json:"result,omitempty"`
}

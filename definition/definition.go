package definition

// Definition is a workflow definition as a user writes it, in YAML or JSON.
// Field names are the document's keys; see the README's definition
// reference and definition/definition.schema.json.
type Definition struct {
	// WorkflowID names the definition (the seed's `workflow_id`); it is the
	// DefinitionName search attribute of every run.
	WorkflowID  string `yaml:"workflow_id"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// InitialStep is the step a run starts with.
	InitialStep string `yaml:"initial_step"`
	// InputSchema is the JSON Schema (an object, or a boolean) that a
	// run's input must match; nil accepts any input.
	InputSchema any       `yaml:"input_schema"`
	Defaults    *Defaults `yaml:"defaults"`
	Hooks       *Hooks    `yaml:"hooks"`
	Steps       []Step    `yaml:"steps"`
}

// Defaults apply to every step that does not set its own.
type Defaults struct {
	Retry    *Retry    `yaml:"retry"`
	Timeouts *Timeouts `yaml:"timeouts"`
}

// Hooks are actions run when the run enters or leaves a state, keyed by
// state name (PROCESSING, REVIEW, …).
type Hooks struct {
	OnEnter map[string][]Action `yaml:"on_enter"`
	OnExit  map[string][]Action `yaml:"on_exit"`
}

// Action names an action and its literal parameters (hooks, compensation).
type Action struct {
	Action     string         `yaml:"action"`
	Specialist string         `yaml:"specialist"`
	Params     map[string]any `yaml:"params"`
}

// Step is one step of a definition. Which kind it is follows from `type`
// or, when that is left out, from the one kind-specific field it sets.
type Step struct {
	Name        string `yaml:"name"`
	Type        string `yaml:"type"`
	Description string `yaml:"description"`

	// action steps
	Action     string            `yaml:"action"`
	Specialist string            `yaml:"specialist"`
	Params     map[string]any    `yaml:"params"`
	Input      map[string]string `yaml:"input"`
	Compensate *Action           `yaml:"compensate"`

	// parallel: `parallel_with` on an action step (the seed's form) or a
	// `type: parallel` step with `branches`.
	ParallelWith    []string `yaml:"parallel_with"`
	Branches        []string `yaml:"branches"`
	OnBranchFailure string   `yaml:"on_branch_failure"`

	Wait     *Wait        `yaml:"wait"`
	Review   *Review      `yaml:"review"`
	Map      *Map         `yaml:"map"`
	Workflow *SubWorkflow `yaml:"workflow"`

	// Error is the message of a `type: fail` step.
	Error string `yaml:"error"`

	// Routing. Without next, conditions.success or end, a step continues
	// with the step after it in the list.
	Next       string            `yaml:"next"`
	End        bool              `yaml:"end"`
	Conditions map[string]string `yaml:"conditions"`
	When       []Choice          `yaml:"when"`

	Retry    *Retry    `yaml:"retry"`
	Timeouts *Timeouts `yaml:"timeouts"`
}

// Choice routes on data: when If (a boolean expression) holds after the step
// succeeds, the run continues with Next. Choices are tried in order.
type Choice struct {
	If   string `yaml:"if"`
	Next string `yaml:"next"`
}

// Wait pauses the run in WAITING for a duration or until a signal arrives.
type Wait struct {
	Duration  Duration `yaml:"duration"`
	Signal    string   `yaml:"signal"`
	Timeout   Duration `yaml:"timeout"`
	OnTimeout string   `yaml:"on_timeout"`
}

// Review holds the run in REVIEW until it is approved or rejected.
type Review struct {
	Timeout   Duration `yaml:"timeout"`
	OnTimeout string   `yaml:"on_timeout"`
}

// Map runs an action once per element of a list, at most Concurrency at a
// time.
type Map struct {
	Items       string         `yaml:"items"`
	Action      string         `yaml:"action"`
	Specialist  string         `yaml:"specialist"`
	Params      map[string]any `yaml:"params"`
	Concurrency int            `yaml:"concurrency"`
}

// SubWorkflow runs another definition as a child workflow. File is relative
// to the file of the definition that names it.
type SubWorkflow struct {
	File string `yaml:"file"`
}

// Retry is a step's retry policy (Temporal's fields, in snake case).
type Retry struct {
	InitialInterval    Duration `yaml:"initial_interval"`
	BackoffCoefficient *float64 `yaml:"backoff_coefficient"`
	MaximumInterval    Duration `yaml:"maximum_interval"`
	MaximumAttempts    *int     `yaml:"maximum_attempts"`
	NonRetryableErrors []string `yaml:"non_retryable_errors"`
}

// Timeouts are a step's activity timeouts.
type Timeouts struct {
	StartToClose    Duration `yaml:"start_to_close"`
	ScheduleToClose Duration `yaml:"schedule_to_close"`
	Heartbeat       Duration `yaml:"heartbeat"`
}

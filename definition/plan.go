package definition

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Kind is what a step does.
type Kind string

// The step kinds.
const (
	KindAction   Kind = "action"
	KindParallel Kind = "parallel"
	KindWait     Kind = "wait"
	KindReview   Kind = "review"
	KindMap      Kind = "map"
	KindWorkflow Kind = "workflow"
	KindSucceed  Kind = "succeed"
	KindFail     Kind = "fail"
)

var kinds = []Kind{KindAction, KindParallel, KindWait, KindReview, KindMap, KindWorkflow, KindSucceed, KindFail}

// What a parallel group does when one of its branches fails.
const (
	// FailFast cancels the other branches and fails the group at once.
	FailFast = "fail_fast"
	// WaitAll lets the other branches finish, then fails the group.
	WaitAll = "wait_all"
	// Ignore records the failure and lets the group succeed.
	Ignore = "ignore"
)

// Built-in defaults, used where neither the step nor the definition's
// defaults say otherwise.
var (
	DefaultRetry = RetryPolicy{
		InitialInterval:    Duration{D: 1e9, Set: true},
		BackoffCoefficient: 2,
		MaximumInterval:    Duration{D: 100e9, Set: true},
		MaximumAttempts:    3,
	}
	DefaultTimeouts = ActivityTimeouts{StartToClose: Duration{D: 5 * 60e9, Set: true}}
	// DefaultConcurrency is a map step's concurrency when it sets none.
	DefaultConcurrency = 10
)

// Plan is a compiled definition: every default resolved, every name
// checked, every route explicit. A run carries its plan in its input, so
// editing a file never changes a run in flight. Treat a Plan as read-only:
// Hash covers its content and Verify tells when it no longer matches.
type Plan struct {
	// Name is the definition's workflow_id.
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	// Source is the file the plan was compiled from; it is not hashed, so
	// the same definition in two places has one hash.
	Source  string `json:"source,omitempty"`
	Initial string `json:"initial"`
	// InputSchema is the definition's input_schema: the JSON Schema a
	// run's input must match (see CheckInput); nil accepts any input.
	InputSchema any        `json:"input_schema,omitempty"`
	Steps       []PlanStep `json:"steps"`
	// OnEnter and OnExit are the hooks per state name.
	OnEnter map[string][]Action `json:"on_enter,omitempty"`
	OnExit  map[string][]Action `json:"on_exit,omitempty"`
	// TotalSteps estimates how many steps a run completes: the longest
	// success path from the initial step, each parallel branch counting
	// as one step and each loop once.
	TotalSteps int `json:"total_steps"`
	// Hash is "sha256:" and the hex digest of the plan's canonical JSON
	// without Source and Hash.
	Hash string `json:"hash"`
}

// PlanStep is a step of a Plan.
type PlanStep struct {
	Name        string `json:"name"`
	Kind        Kind   `json:"kind"`
	Description string `json:"description,omitempty"`

	// Action runs for action steps, and for a parallel step written in the
	// seed's form (`parallel_with`) as one more branch beside Branches.
	Action     string            `json:"action,omitempty"`
	Specialist string            `json:"specialist,omitempty"`
	Params     map[string]any    `json:"params,omitempty"`
	Input      map[string]string `json:"input,omitempty"`
	Compensate *Action           `json:"compensate,omitempty"`

	Branches        []string `json:"branches,omitempty"`
	OnBranchFailure string   `json:"on_branch_failure,omitempty"`
	// Group names the parallel step this step is a branch of; a branch
	// runs only inside its group and never routes.
	Group string `json:"group,omitempty"`

	Wait   *Wait    `json:"wait,omitempty"`
	Review *Review  `json:"review,omitempty"`
	Map    *PlanMap `json:"map,omitempty"`
	Child  *Plan    `json:"child,omitempty"`
	Error  string   `json:"error,omitempty"`

	// Next is where the run goes after success; "" ends the run in
	// COMPLETE.
	Next string   `json:"next,omitempty"`
	When []Choice `json:"when,omitempty"`
	// OnFailure is where the run goes when the step fails with an error
	// type not in OnError; "" fails the run.
	OnFailure string            `json:"on_failure,omitempty"`
	OnError   map[string]string `json:"on_error,omitempty"`

	Retry    *RetryPolicy      `json:"retry,omitempty"`
	Timeouts *ActivityTimeouts `json:"timeouts,omitempty"`

	// Weight is how many steps this one counts for in progress (a
	// parallel step counts each branch; terminal steps count none).
	Weight int `json:"weight"`
	// Remaining estimates the steps still to run after this one succeeds,
	// along the longest success path.
	Remaining int `json:"remaining"`
}

// PlanMap is a map step with its defaults resolved.
type PlanMap struct {
	Items       string         `json:"items"`
	Action      string         `json:"action"`
	Specialist  string         `json:"specialist,omitempty"`
	Params      map[string]any `json:"params,omitempty"`
	Concurrency int            `json:"concurrency"`
}

// RetryPolicy is a resolved retry policy.
type RetryPolicy struct {
	InitialInterval    Duration `json:"initial_interval"`
	BackoffCoefficient float64  `json:"backoff_coefficient"`
	MaximumInterval    Duration `json:"maximum_interval"`
	// MaximumAttempts of 0 means no limit.
	MaximumAttempts    int      `json:"maximum_attempts"`
	NonRetryableErrors []string `json:"non_retryable_errors,omitempty"`
}

// ActivityTimeouts are resolved activity timeouts; unset ones are left to
// Temporal.
type ActivityTimeouts struct {
	StartToClose    Duration `json:"start_to_close"`
	ScheduleToClose Duration `json:"schedule_to_close"`
	Heartbeat       Duration `json:"heartbeat"`
}

// Step returns the step called name.
func (p *Plan) Step(name string) (*PlanStep, bool) {
	for i := range p.Steps {
		if p.Steps[i].Name == name {
			return &p.Steps[i], true
		}
	}
	return nil, false
}

// Verify recomputes the hash and reports whether the plan is unchanged
// since it was compiled.
func (p *Plan) Verify() error {
	h, err := p.computeHash()
	if err != nil {
		return err
	}
	if h != p.Hash {
		return fmt.Errorf("plan %q: content hash %s does not match recorded %s", p.Name, h, p.Hash)
	}
	return nil
}

func (p *Plan) computeHash() (string, error) {
	c := *p
	c.Source, c.Hash = "", ""
	b, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("plan %q: encode for hashing: %w", p.Name, err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	sdkclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/statemachine"
	"github.com/statedriven/statedriven/workflows"
)

// StartRequest starts a run of a plan.
type StartRequest struct {
	Plan *definition.Plan
	// Input is the run's input data (may be nil).
	Input map[string]any
	// ID is the workflow ID; empty means NewWorkflowID(Plan.Name).
	ID string
	// TaskQueue is where the workflow runs; empty means
	// contract.DefaultTaskQueue.
	TaskQueue string
	// ProgressEvery is how old the last upsert must be before a change of
	// progress alone reaches WorkflowProgress; unset means
	// workflows.DefaultProgressEvery, and 0 writes every change.
	ProgressEvery definition.Duration
	// Redrive, when set, makes the run continue a FAILED or CANCELLED run
	// (see Client.Redrive): it goes into the input, and its RunID into the
	// RedrivenFrom search attribute.
	Redrive *workflows.Redrive
}

// Validate reports what is wrong with r, before anything is sent.
func (r StartRequest) Validate() error {
	if r.Plan == nil {
		return errors.New("start: no plan")
	}
	if r.ProgressEvery.D < 0 {
		return fmt.Errorf("--progress-every: progress_every %s is negative: give 0 to write every change of progress, or leave it out for %s",
			r.ProgressEvery.D, workflows.DefaultProgressEvery)
	}
	// The server would refuse the start with a bare ResourceExhausted;
	// and an input that barely fits would not cross continue-as-new.
	data, err := json.Marshal(workflows.NewInput(r.Plan, r.Input))
	if err != nil {
		return fmt.Errorf("--input: cannot be encoded as JSON: %w", err)
	}
	if len(data) > workflows.PayloadLimit {
		return fmt.Errorf("--input: the run's input (its data and the plan) is %d bytes, over the %d a run can carry (Temporal refuses a payload over 2 MB): pass a reference to the data (a URL, a key) rather than the data itself",
			len(data), workflows.PayloadLimit)
	}
	return nil
}

// Started describes a run that has started.
type Started struct {
	WorkflowID string
	RunID      string
	TaskQueue  string
	// Warning is set when the run started in a degraded way the user
	// should know about (without the DefinitionName search attribute).
	Warning string
}

// NewWorkflowID returns "<name>-<8 random hex digits>": readable in lists,
// and unlikely to clash with another run of the same definition.
func NewWorkflowID(name string) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported platforms (Go 1.24+).
		panic(err)
	}
	return name + "-" + hex.EncodeToString(b[:])
}

// Summary is the run's static summary in the Web UI: the plan's title (or
// its name) and the first 12 digits of its content hash, so two runs of
// differing versions of one definition are told apart at a glance.
func Summary(p *definition.Plan) string {
	title := p.Title
	if title == "" {
		title = p.Name
	}
	return fmt.Sprintf("%s (%s)", title, ShortHash(p.Hash))
}

// ShortHash shortens "sha256:<64 hex>" to "sha256:<12 hex>".
func ShortHash(hash string) string {
	algo, digest, ok := strings.Cut(hash, ":")
	if !ok {
		algo, digest = "", hash
	}
	if len(digest) > 12 {
		digest = digest[:12]
	}
	if algo == "" {
		return digest
	}
	return algo + ":" + digest
}

// StartOptions are the options Start uses for a run of p with the given
// workflow ID on the given task queue: eager start, the plan's summary,
// and the search attributes of a run that has not begun.
func StartOptions(p *definition.Plan, id, queue string) sdkclient.StartWorkflowOptions {
	return sdkclient.StartWorkflowOptions{
		ID:        id,
		TaskQueue: queue,
		// Without this, starting an ID that is already running would
		// silently hand back the running workflow.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		// Taken only where this process has a worker on the queue (a
		// program embedding host), never by `starter run`.
		EnableEagerStart: true,
		StaticSummary:    Summary(p),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.DefinitionAttribute.ValueSet(p.Name),
			workflows.StateAttribute.ValueSet(statemachine.Initial.String()),
			workflows.ProgressAttribute.ValueSet(0),
		),
	}
}

// Start starts a run of req.Plan. When the server refuses the
// DefinitionName search attribute because the namespace has not
// registered it, Start tries once more without search attributes and says
// so in Started.Warning.
func (c *Client) Start(ctx context.Context, req StartRequest) (*Started, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	id := req.ID
	if id == "" {
		id = NewWorkflowID(req.Plan.Name)
	}
	queue := req.TaskQueue
	if queue == "" {
		queue = contract.DefaultTaskQueue
	}
	opts := StartOptions(req.Plan, id, queue)
	in := workflows.NewInput(req.Plan, req.Input)
	if req.ProgressEvery.Set {
		in.ProgressEvery = req.ProgressEvery
	}
	in.Redrive = req.Redrive
	started := &Started{WorkflowID: id, TaskQueue: queue}

	base := opts.TypedSearchAttributes
	if req.Redrive != nil {
		opts.TypedSearchAttributes = withRedrivenFrom(base, req.Redrive.RunID)
	}
	run, err := c.sdk.ExecuteWorkflow(ctx, opts, contract.WorkflowType, in)
	if err != nil && req.Redrive != nil && unregisteredAttribute(err, RedrivenFromAttribute.GetName()) {
		// The link stays in the input and the run's history; only the
		// list filter is lost.
		started.Warning = fmt.Sprintf(
			"namespace %s has no search attribute %s, so the run started without it and `temporal workflow list --query` cannot find it by the run it continues "+
				"(the link is in its input; a worker of this version registers the attribute where the server allows, or run: temporal operator search-attribute create --name %s --type Keyword)",
			c.namespace, RedrivenFromAttribute.GetName(), RedrivenFromAttribute.GetName())
		opts.TypedSearchAttributes = base
		run, err = c.sdk.ExecuteWorkflow(ctx, opts, contract.WorkflowType, in)
	}
	if err != nil && unregisteredAttribute(err, statedrivenAttributes...) {
		started.Warning = joinWarnings(started.Warning, fmt.Sprintf(
			"namespace %s has no search attribute %s, so the run started without it (the worker registers it where the server allows; "+
				"or run: temporal operator search-attribute create --name %s --type Keyword)",
			c.namespace, workflows.DefinitionAttribute.GetName(), workflows.DefinitionAttribute.GetName()))
		opts.TypedSearchAttributes = temporal.SearchAttributes{}
		// The run must not upsert them either: the server would refuse
		// every workflow task that tries.
		in.NoSearchAttributes = true
		run, err = c.sdk.ExecuteWorkflow(ctx, opts, contract.WorkflowType, in)
	}
	if err != nil {
		return nil, c.explain(err, id)
	}
	started.RunID = run.GetRunID()
	return started, nil
}

// RedrivenFromAttribute is the search attribute that links a run started
// by a redrive to the run it continues (contract.RedrivenFromAttribute).
var RedrivenFromAttribute = temporal.NewSearchAttributeKeyKeyword(contract.RedrivenFromAttribute)

// withRedrivenFrom is attrs with RedrivenFrom set to runID.
func withRedrivenFrom(attrs temporal.SearchAttributes, runID string) temporal.SearchAttributes {
	updates := []temporal.SearchAttributeUpdate{RedrivenFromAttribute.ValueSet(runID)}
	for key, value := range attrs.GetUntypedValues() {
		switch k := key.(type) {
		case temporal.SearchAttributeKeyKeyword:
			updates = append(updates, k.ValueSet(value.(string)))
		case temporal.SearchAttributeKeyInt64:
			updates = append(updates, k.ValueSet(value.(int64)))
		}
	}
	return temporal.NewSearchAttributes(updates...)
}

func joinWarnings(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// statedrivenAttributes are the search attributes every run starts with.
var statedrivenAttributes = []string{workflows.DefinitionAttribute.GetName(), workflows.StateAttribute.GetName(), workflows.ProgressAttribute.GetName()}

// unregisteredAttribute reports whether the server refused a start because
// one of the search attributes names is not registered in the namespace.
// The server's wording differs by visibility store ("search attribute X is
// not defined", "has no mapping defined for search attribute X"); both
// name the attribute.
func unregisteredAttribute(err error, names ...string) bool {
	if Code(err) != codes.InvalidArgument {
		return false
	}
	for _, name := range names {
		if strings.Contains(err.Error(), name) {
			return true
		}
	}
	return false
}

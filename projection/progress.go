package projection

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/statedriven/statedriven/contract"
)

// Field names of the progress hash: exactly the JSON names of
// contract.Progress, so a caller that runs HGETALL rebuilds the same JSON
// as the progress query.
const (
	fieldWorkflowID         = "workflow_id"
	fieldRunID              = "run_id"
	fieldDefinition         = "definition"
	fieldStatus             = "status"
	fieldCurrentSteps       = "current_steps"
	fieldProgressPercentage = "progress_percentage"
	fieldIsComplete         = "is_complete"
	fieldCompletedSteps     = "completed_steps"
	fieldTotalSteps         = "total_steps"
	fieldPaused             = "paused"
	fieldError              = "error"
	fieldUpdatedAt          = "updated_at"
	fieldSeq                = "seq"
)

// progressFields returns the hash's field-value pairs, in the order of
// contract.Progress: strings as they are, numbers in decimal, booleans
// "true"/"false", current_steps as a JSON array ("[]" when empty) and
// updated_at as encoding/json writes a time.Time (RFC 3339 with
// nanoseconds).
func progressFields(p contract.Progress) ([]string, error) {
	steps := p.CurrentSteps
	if steps == nil {
		steps = []string{}
	}
	stepsJSON, err := json.Marshal(steps)
	if err != nil {
		return nil, fmt.Errorf("current_steps: %w", err)
	}
	// MarshalJSON, not Format, so that a time encoding/json refuses (a
	// year outside 0-9999) is refused here too.
	at, err := p.UpdatedAt.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("updated_at: %w", err)
	}
	return []string{
		fieldWorkflowID, p.WorkflowID,
		fieldRunID, p.RunID,
		fieldDefinition, p.Definition,
		fieldStatus, p.Status,
		fieldCurrentSteps, string(stepsJSON),
		fieldProgressPercentage, strconv.Itoa(p.ProgressPercentage),
		fieldIsComplete, strconv.FormatBool(p.IsComplete),
		fieldCompletedSteps, strconv.Itoa(p.CompletedSteps),
		fieldTotalSteps, strconv.Itoa(p.TotalSteps),
		fieldPaused, strconv.FormatBool(p.Paused),
		fieldError, p.Error,
		fieldUpdatedAt, string(at[1 : len(at)-1]), // without the JSON quotes
		fieldSeq, strconv.FormatUint(p.Seq, 10),
	}, nil
}

// parseProgress is the inverse of progressFields. Every field must be
// there and well formed: a hash that is not is reported, not guessed at.
// An empty current_steps comes back as an empty, non-nil slice, so that it
// marshals as [] like the hash holds it.
func parseProgress(fields map[string]string) (contract.Progress, error) {
	var (
		p    contract.Progress
		errs []error
	)
	get := func(name string) string {
		v, ok := fields[name]
		if !ok {
			errs = append(errs, fmt.Errorf("field %s is missing", name))
		}
		return v
	}
	atoi := func(name string) int {
		v := get(name)
		n, err := strconv.Atoi(v)
		if err != nil && v != "" {
			errs = append(errs, fmt.Errorf("field %s: %q is not an integer", name, v))
		}
		return n
	}
	parseBool := func(name string) bool {
		v := get(name)
		b, err := strconv.ParseBool(v)
		if err != nil && v != "" {
			errs = append(errs, fmt.Errorf("field %s: %q is not true or false", name, v))
		}
		return b
	}

	p.WorkflowID = get(fieldWorkflowID)
	p.RunID = get(fieldRunID)
	p.Definition = get(fieldDefinition)
	p.Status = get(fieldStatus)
	if v := get(fieldCurrentSteps); v != "" {
		if err := json.Unmarshal([]byte(v), &p.CurrentSteps); err != nil {
			errs = append(errs, fmt.Errorf("field %s: %q is not a JSON array of strings", fieldCurrentSteps, v))
		}
	}
	if p.CurrentSteps == nil {
		p.CurrentSteps = []string{}
	}
	p.ProgressPercentage = atoi(fieldProgressPercentage)
	p.IsComplete = parseBool(fieldIsComplete)
	p.CompletedSteps = atoi(fieldCompletedSteps)
	p.TotalSteps = atoi(fieldTotalSteps)
	p.Paused = parseBool(fieldPaused)
	p.Error = get(fieldError)
	if v := get(fieldUpdatedAt); v != "" {
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			errs = append(errs, fmt.Errorf("field %s: %q is not an RFC 3339 time", fieldUpdatedAt, v))
		}
		p.UpdatedAt = at
	}
	if v := get(fieldSeq); v != "" {
		seq, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("field %s: %q is not a sequence number", fieldSeq, v))
		}
		p.Seq = seq
	}
	return p, errors.Join(errs...)
}

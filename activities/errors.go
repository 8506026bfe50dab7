package activities

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
)

// Error types of the failures that RunStep and the built-in actions return.
// They are stable: definitions route on them (`conditions: {ValidationError:
// fix}`) and retry policies name them in `non_retryable_errors`.
const (
	// ErrorTypeBadParams: a step's params are missing, of the wrong type or
	// out of range. Never retried: the definition must change.
	ErrorTypeBadParams = "BadParams"
	// ErrorTypeUnknownAction: no action of the step's name is registered on
	// the worker that took the step. Never retried.
	ErrorTypeUnknownAction = "UnknownAction"
	// ErrorTypeValidation: the validate action refused the step's input.
	// Never retried: the same input fails the same way.
	ErrorTypeValidation = "ValidationError"
	// ErrorTypeTransform: a transform mapping does not compile or cannot be
	// evaluated on the data. Never retried.
	ErrorTypeTransform = "TransformError"
	// ErrorTypeHTTP: the http action got no usable response. Retried for
	// transport errors, timeouts, 5xx, 408 and 429; not for other 4xx.
	ErrorTypeHTTP = "HTTPError"
	// ErrorTypeAction: an action returned a plain Go error that it did not
	// classify. Retried, as Temporal retries any unclassified failure;
	// RunStep gives it this type so that definitions can still route on it.
	ErrorTypeAction = "ActionError"
)

// NewError returns a retryable Temporal application error of type errType
// whose message is format and args as fmt.Errorf formats them (so %w may
// be used to include an error's text). An action returns it for a failure
// that may go away on another attempt: a timeout, a busy service. The
// step's retry policy decides how often it is retried; once retries are
// spent, the run routes on errType.
func NewError(errType, format string, args ...any) error {
	return temporal.NewApplicationErrorWithOptions(
		fmt.Errorf(format, args...).Error(), errType, temporal.ApplicationErrorOptions{})
}

// NewNonRetryableError is NewError for a failure that another attempt
// cannot fix (bad input, a refused request): the step fails at once,
// whatever its retry policy says, and the run routes on errType.
func NewNonRetryableError(errType, format string, args ...any) error {
	return temporal.NewApplicationErrorWithOptions(
		fmt.Errorf(format, args...).Error(), errType, temporal.ApplicationErrorOptions{NonRetryable: true})
}

// badParams is the error for a param that is missing or wrong: it names the
// param, then says what is wrong and what to write instead.
func badParams(param, format string, args ...any) error {
	return NewNonRetryableError(ErrorTypeBadParams, "param %q: %s", param, fmt.Sprintf(format, args...))
}

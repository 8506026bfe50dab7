package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// What went wrong, for errors.Is. Every error the Client returns about
// Temporal is an *Error that matches one of these.
var (
	// ErrConfig: the connection settings could not be read.
	ErrConfig = errors.New("bad connection settings")
	// ErrUnreachable: nothing answers at the address.
	ErrUnreachable = errors.New("temporal unreachable")
	// ErrDenied: the server refused the credentials or the caller's rights.
	ErrDenied = errors.New("permission denied")
	// ErrNamespace: the namespace does not exist.
	ErrNamespace = errors.New("namespace not found")
	// ErrNotFound: no workflow has that ID.
	ErrNotFound = errors.New("workflow not found")
	// ErrFinished: the workflow has closed and takes no more signals or
	// updates.
	ErrFinished = errors.New("workflow finished")
	// ErrAlreadyRunning: a run with that workflow ID is already open.
	ErrAlreadyRunning = errors.New("workflow already running")
	// ErrRefused: the workflow refused a query or an update (its validator
	// said no); the message is the workflow's.
	ErrRefused = errors.New("refused by the workflow")
	// ErrNoAnswer: a query or update got no answer in time, usually
	// because no worker polls the workflow's task queue.
	ErrNoAnswer = errors.New("no answer")
	// ErrBadRequest: the server found the request itself invalid (a list
	// query it cannot parse, for instance).
	ErrBadRequest = errors.New("bad request")
)

// Error is a failure put in words the user can act on: Message says what
// happened and what to do, Kind is one of the Err* values above, and Err
// is Temporal's own error.
type Error struct {
	Kind    error
	Message string
	Err     error
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Unwrap lets errors.Is match the kind and errors.As reach Temporal's error.
func (e *Error) Unwrap() []error { return []error{e.Kind, e.Err} }

// Target is what a request was about, so that Explain can name it.
type Target struct {
	Address    string
	Namespace  string
	WorkflowID string
}

// Explain turns an error from the Temporal SDK into an *Error whose
// message says what to do. Errors it does not recognise, and the caller's
// own context being cancelled or timing out, come back unchanged.
func Explain(err error, t Target) error {
	if err == nil {
		return nil
	}
	var known *Error
	if errors.As(err, &known) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	fail := func(kind error, format string, args ...any) error {
		return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: err}
	}
	var (
		nsNotFound *serviceerror.NamespaceNotFound
		started    *serviceerror.WorkflowExecutionAlreadyStarted
		queryErr   *serviceerror.QueryFailed
	)
	switch {
	case errors.As(err, &nsNotFound):
		return fail(ErrNamespace, "namespace %s does not exist at %s: create it with temporal operator namespace create --namespace %s, or set TEMPORAL_NAMESPACE",
			t.Namespace, t.Address, t.Namespace)
	case errors.As(err, &started):
		return fail(ErrAlreadyRunning, "a workflow with ID %s is already running in namespace %s: pick another --id, or follow it with starter watch %s",
			t.WorkflowID, t.Namespace, t.WorkflowID)
	case errors.As(err, &queryErr):
		return fail(ErrRefused, "workflow %s refused the query: %s", t.WorkflowID, queryErr.Message)
	}
	msg := grpcMessage(err)
	switch Code(err) {
	case codes.Unavailable:
		return fail(ErrUnreachable, "cannot reach Temporal at %s: start a dev server with make run, or set TEMPORAL_ADDRESS", t.Address)
	case codes.NotFound:
		if strings.Contains(msg, "already completed") {
			return fail(ErrFinished, "workflow %s has already finished and takes no more signals or updates: starter status %s shows how it ended",
				t.WorkflowID, t.WorkflowID)
		}
		if t.WorkflowID != "" {
			return fail(ErrNotFound, "no workflow with ID %s in namespace %s: starter list shows the runs there", t.WorkflowID, t.Namespace)
		}
		return fail(ErrNotFound, "not found in namespace %s: %s", t.Namespace, msg)
	case codes.PermissionDenied, codes.Unauthenticated:
		return fail(ErrDenied, "Temporal at %s refused the request (%s): check TEMPORAL_API_KEY, the TEMPORAL_TLS_* settings and your rights in namespace %s",
			t.Address, msg, t.Namespace)
	case codes.FailedPrecondition:
		if strings.Contains(msg, "no poller") {
			return fail(ErrNoAnswer, "no worker is polling the task queue of workflow %s: start one with make run", t.WorkflowID)
		}
	case codes.InvalidArgument:
		return fail(ErrBadRequest, "Temporal refused the request: %s", msg)
	case codes.DeadlineExceeded:
		return fail(ErrNoAnswer, "Temporal at %s did not answer in time: check that the server is healthy, or try again", t.Address)
	}
	return err
}

// Code is the gRPC status code carried by err (a serviceerror or a raw
// gRPC status, possibly wrapped), or codes.Unknown.
func Code(err error) codes.Code {
	if s, ok := grpcStatus(err); ok {
		return s.Code()
	}
	return codes.Unknown
}

// grpcMessage is the server's own message, without the SDK's wrapping.
func grpcMessage(err error) string {
	if s, ok := grpcStatus(err); ok {
		return s.Message()
	}
	return err.Error()
}

func grpcStatus(err error) (*status.Status, bool) {
	var se serviceerror.ServiceError
	if errors.As(err, &se) {
		if s := se.Status(); s != nil {
			return s, true
		}
	}
	var ge interface{ GRPCStatus() *status.Status }
	if errors.As(err, &ge) {
		if s := ge.GRPCStatus(); s != nil {
			return s, true
		}
	}
	return nil, false
}

// timedOut reports whether err means a deadline passed, however it came
// back (the context's own error, or the server's status).
func timedOut(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || Code(err) == codes.DeadlineExceeded
}

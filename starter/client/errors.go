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
	// ErrUnreachable: nothing answers at the address (connection
	// refused, a host that does not resolve, a network that drops us).
	ErrUnreachable = errors.New("temporal unreachable")
	// ErrTLS: the TLS handshake failed: one side speaks TLS and the other
	// does not, or the server's certificate is not trusted.
	ErrTLS = errors.New("TLS handshake failed")
	// ErrDenied: the server refused the credentials (Unauthenticated) or
	// the caller's rights (PermissionDenied).
	ErrDenied = errors.New("permission denied")
	// ErrTimeout: a deadline passed before Temporal answered (the
	// server's, or the caller's own).
	ErrTimeout = errors.New("deadline exceeded")
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
	// ErrUnknownUpdate: the run's worker has no handler for the update:
	// it is older than the caller (Temporal's own answer, not a
	// validator's).
	ErrUnknownUpdate = errors.New("update unknown to the worker")
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

// Target is what a request was about, and how the client was set up to
// reach it, so that Explain can name both.
type Target struct {
	Address    string
	Namespace  string
	WorkflowID string
	// TLS says the client speaks TLS (TEMPORAL_TLS, a TLS setting or an
	// API key turned it on).
	TLS bool
	// APIKey says the client sends an API key.
	APIKey bool
}

// Explain turns an error from the Temporal SDK into an *Error whose
// message names the cause and says what to do. Errors it does not
// recognise, and the caller's own context being cancelled, come back
// unchanged; a deadline, the caller's or the server's, is ErrTimeout.
func Explain(err error, t Target) error {
	if err == nil {
		return nil
	}
	var known *Error
	if errors.As(err, &known) || errors.Is(err, context.Canceled) {
		return err
	}
	fail := func(kind error, format string, args ...any) error {
		return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fail(ErrTimeout, timeoutMessage, t.Address)
	}
	var (
		nsNotFound *serviceerror.NamespaceNotFound
		started    *serviceerror.WorkflowExecutionAlreadyStarted
		queryErr   *serviceerror.QueryFailed
	)
	switch {
	case errors.As(err, &nsNotFound):
		return fail(ErrNamespace, "namespace %s does not exist at %s: give the right one with --namespace or TEMPORAL_NAMESPACE "+
			"(temporal operator namespace list shows them), or create it with temporal operator namespace create --namespace %s",
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
		return explainUnavailable(err, msg, t)
	case codes.NotFound:
		if strings.Contains(msg, "already completed") {
			return fail(ErrFinished, "workflow %s has already finished and takes no more signals or updates: starter status %s shows how it ended",
				t.WorkflowID, t.WorkflowID)
		}
		if t.WorkflowID != "" {
			return fail(ErrNotFound, "no workflow with ID %s in namespace %s: starter list shows the runs there", t.WorkflowID, t.Namespace)
		}
		return fail(ErrNotFound, "not found in namespace %s: %s", t.Namespace, msg)
	case codes.Unauthenticated:
		if t.APIKey {
			return fail(ErrDenied, "Temporal at %s did not accept the API key (%s): check that TEMPORAL_API_KEY holds a valid, unexpired key for this server and namespace %s",
				t.Address, msg, t.Namespace)
		}
		return fail(ErrDenied, "Temporal at %s wants credentials (%s): set TEMPORAL_API_KEY, or a client certificate with TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH",
			t.Address, msg)
	case codes.PermissionDenied:
		// A self-hosted server answers a key it cannot read and a key
		// without rights alike ("Request unauthorized."): say both.
		if t.APIKey {
			return fail(ErrDenied, "Temporal at %s refused the request (%s): the API key in TEMPORAL_API_KEY is not valid there, "+
				"or grants no access to namespace %s; check the key and its rights", t.Address, msg, t.Namespace)
		}
		return fail(ErrDenied, "Temporal at %s refused the request (%s): it wants credentials with rights in namespace %s; "+
			"set TEMPORAL_API_KEY, or a client certificate with TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH",
			t.Address, msg, t.Namespace)
	case codes.FailedPrecondition:
		if strings.Contains(msg, "no poller") {
			return fail(ErrNoAnswer, "no worker is polling the task queue of workflow %s: start one with make run", t.WorkflowID)
		}
	case codes.InvalidArgument:
		return fail(ErrBadRequest, "Temporal refused the request: %s", msg)
	case codes.DeadlineExceeded:
		return fail(ErrTimeout, timeoutMessage, t.Address)
	}
	return err
}

const timeoutMessage = "Temporal at %s did not answer in time: something may listen there that is not Temporal (check TEMPORAL_ADDRESS), " +
	"or the server is overloaded (temporal operator cluster health); try again"

// explainUnavailable tells the causes of a connection that did not work
// apart. gRPC keeps only the text of the dial's error, so the text is
// what there is to go on.
func explainUnavailable(err error, msg string, t Target) error {
	fail := func(kind error, format string, args ...any) error {
		return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: err}
	}
	detail := dialDetail(msg)
	switch {
	case strings.Contains(msg, "connection refused"):
		return fail(ErrUnreachable, "cannot reach Temporal at %s: nothing listens there (connection refused); start a dev server with make run, "+
			"or set TEMPORAL_ADDRESS (or --address) to your server's host:port", t.Address)
	case strings.Contains(msg, "no such host"):
		return fail(ErrUnreachable, "cannot reach Temporal at %s: the host name does not resolve (%s); check TEMPORAL_ADDRESS (or --address)", t.Address, detail)
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return fail(ErrTLS, "TLS handshake with %s failed: the server there does not speak TLS, but this client does "+
			"(TEMPORAL_TLS, a TEMPORAL_TLS_* setting or TEMPORAL_API_KEY turned it on); for a dev server set TEMPORAL_TLS=false, "+
			"otherwise check TEMPORAL_ADDRESS", t.Address)
	case strings.Contains(msg, "x509:") || strings.Contains(msg, "certificate"):
		return fail(ErrTLS, "TLS handshake with %s failed: the server's certificate is not trusted (%s); set TEMPORAL_TLS_SERVER_CA_CERT_PATH "+
			"to the CA that signed it, or TEMPORAL_TLS_SERVER_NAME when it names another host", t.Address, detail)
	case strings.Contains(msg, "handshake") || strings.Contains(msg, "tls:"):
		return fail(ErrTLS, "TLS handshake with %s failed (%s): check the TEMPORAL_TLS_* settings (client certificate and key, server CA, server name)",
			t.Address, detail)
	case !t.TLS && closedBeforeHTTP2(msg):
		return fail(ErrTLS, "%s closed the connection without answering: it probably expects TLS, and this client does not speak it; "+
			"set TEMPORAL_TLS=true (with TEMPORAL_API_KEY or TEMPORAL_TLS_CLIENT_CERT_PATH and _KEY_PATH, as your server wants)", t.Address)
	}
	return fail(ErrUnreachable, "cannot reach Temporal at %s (%s): start a dev server with make run, or set TEMPORAL_ADDRESS (or --address)", t.Address, detail)
}

// closedBeforeHTTP2 reports whether the server hung up, or spoke
// something else, before the HTTP/2 exchange began: what a TLS server
// does with a client that sends no TLS handshake.
func closedBeforeHTTP2(msg string) bool {
	for _, s := range []string{"server preface", "EOF", "frame too large", "connection reset by peer"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// dialDetail is the part of gRPC's message that says what the dial saw,
// without the layers of "connection error: desc = transport: ...".
func dialDetail(msg string) string {
	if i := strings.LastIndex(msg, "desc = "); i >= 0 {
		msg = msg[i+len("desc = "):]
	}
	for _, p := range []string{"transport: authentication handshake failed: ", "transport: Error while dialing: ", "transport: "} {
		msg = strings.TrimPrefix(strings.Trim(msg, `"`), p)
	}
	return strings.Trim(msg, `"`)
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

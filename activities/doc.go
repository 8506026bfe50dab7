// Package activities runs the steps of a plan: the RunStep activity that
// every action step becomes, the built-in actions (log, wait, validate,
// transform, aggregate, http) and the Registry through which a program
// adds its own.
//
// # Running steps
//
// Every action step is one call of the RunStep activity (contract.RunStepName) with
// a contract.StepInput. A Runner looks the step's action up in its Registry and runs
// it; a worker serves steps with
//
//	reg := activities.NewRegistry()
//	reg.MustRegister("custom_processing", process)
//	activities.NewRunner(reg, activities.RunnerOptions{}).Register(w)
//
// While an action runs, RunStep heartbeats every third of the step's
// heartbeat timeout (`timeouts.heartbeat`), when it has one. Temporal
// delivers a cancellation to an activity through its heartbeats, so give
// long steps a heartbeat timeout: then cancelling the run stops a wait or
// an http call at once instead of at the end of the attempt.
//
// # Errors
//
// A failed step fails with a Temporal application error whose type a
// definition routes on (`conditions: {ValidationError: fix}`) and a retry
// policy may name in `non_retryable_errors`. Actions build them with
// NewError (retryable) and NewNonRetryableError. The types that RunStep
// and the built-ins use:
//
//	| type | retried | when |
//	| --- | --- | --- |
//	| `UnknownAction` | no | the step's action is not registered on the worker that took it |
//	| `BadParams` | no | a param is missing or wrong; the message names it and says what to write |
//	| `ValidationError` | no | `validate` refused the input |
//	| `TransformError` | no | a `transform` expression fails on the data |
//	| `HTTPError` | transport errors, timeouts, 5xx, 408, 429: yes; other 4xx: no | `http` got no usable response |
//	| `ActionError` | yes | an action returned a Go error without a type |
//
// # Built-in actions
//
// Params are the step's literal `params:`; the step's input is its
// `input:` mapping, or the run's input without one. The params' rules
// live in package builtin, which `validate` applies too, so a definition
// that validates does not fail with BadParams for a rule known before the
// run (wait's duration longer than the attempt is the one known only then).
//
//	| action | params | result | fails with |
//	| --- | --- | --- | --- |
//	| `log` | `message` (string, optional: without one, the step's name is logged with its input as `input`); `level`: `debug`, `info` (default), `warn` or `error` | `{"message": "…"}` (`"step NAME"` without a message) | `BadParams` |
//	| `wait` | `duration` (Go duration such as `1.5s`, required, above zero and shorter than the attempt's timeout) | `{"waited": "1.5s"}` | `BadParams`; stops at once when the step is cancelled |
//	| `validate` | `schema` (a JSON Schema, draft 2020-12 by default, optional; self-contained: `$ref` only into itself) | `{"valid": true}` | `ValidationError` listing every violation with its JSON pointer (`at '/amount': got string, want number`); without a schema, only when the input is missing; `BadParams` when the schema is not one |
//	| `transform` | `mapping` (object: output key → CEL expression over `input`, `steps`, `item`; optional) | the object of the expressions' values; without a mapping, the input unchanged | `TransformError` naming each key that fails on the data; `BadParams` for a mapping that is not an object of strings that compile |
//	| `aggregate` | `steps` (list of step names; default: every step run so far) | `{"<step>": <its output>, …}`, plus `"input": {…}` when the input is an object | `BadParams` when a named step has no output (or a step named `input` would hide the input) |
//	| `http` | `url` (`http://` or `https://`, required); `method` (default `GET`); `headers` (object of strings); `body` (a string is sent as is, anything else as JSON with `Content-Type: application/json`); `timeout` (Go duration, default `30s`, also bounded by the attempt's timeout) | `{"status": 200, "headers": {"Content-Type": "…"}, "body": …}`: the body parsed when the response is JSON, else text; repeated headers joined with `, ` | `HTTPError`: retryable for transport errors, timeouts, 5xx, 408 and 429 (a `Retry-After` sets the next delay); not for other 4xx, a body over 1 MiB (a result over 1.25 MiB as JSON), more than 5 redirects, or an address refused (below); `BadParams` |
//
// # Addresses the http action refuses
//
// A definition may come from anyone who can start a run, so the http
// action's client (a Runner's own, and the one used outside a Runner)
// does not connect to loopback, link-local, private (RFC 1918, 100.64/10,
// fc00::/7), unspecified, multicast or cloud metadata addresses unless
// RunnerOptions.HTTPAllow names them (STATEDRIVEN_HTTP_ALLOW, read by
// ParseHTTPAllow). The check is made by the dialer on the address it is
// about to connect to, so DNS rebinding and redirects cannot get around
// it; the proxy variables are ignored for the same reason. A refused
// address fails the step with a non-retryable HTTPError naming it.
//
// # Adding actions
//
// An Action is a function of a context and a contract.StepInput returning plain
// data. Register it under the name definitions use; Register refuses a
// name already taken, so replacing a built-in takes an explicit Replace.
// The Registry is safe for concurrent use, but is meant to be filled
// before the worker starts.
package activities

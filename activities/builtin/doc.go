// Package builtin holds the params rules of the built-in actions (log,
// wait, validate, transform, aggregate, http): which params each takes, of
// which type, which are required, and what values are valid.
//
// Both sides of a run use these rules: package definition checks a
// definition's literal params with Check when it is validated, and the
// actions in package activities decode their params with the Parse
// functions at run time. One set of rules in one place means that a
// definition that validates cannot fail at run time with BadParams, and
// that validate cannot refuse what the actions would accept.
//
// It is a package of its own, and not part of activities or definition,
// because definition must not import activities (net/http, the worker
// machinery) and activities must not import the workflows tree beyond
// expressions. It imports only the CEL expressions (package expression),
// the JSON Schema compiler, and the standard library without net/http.
//
// Compiled schemas and expressions are cached by their source in bounded
// process-wide caches: they are pure functions of their source, so
// sharing them between validating and running is safe.
package builtin

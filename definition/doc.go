// Package definition is the definition language of statedriven: what a
// user writes to say what a workflow does, and the checks that turn it
// into a Plan the interpreter workflow can run without surprises.
//
// A definition (a YAML or JSON file; the Go shape is Definition) names a
// workflow (workflow_id), the step a run starts with (initial_step) and a
// list of steps. Each step is of one kind (action, parallel, wait, review,
// map, workflow, succeed, fail), told by `type:` or by the one kind field
// it sets, and routes to other steps by name: next:, conditions: on the
// outcome or error type, when: choices on data, end:. Expressions in
// routes and mappings are CEL, compiled by package expression. The README's
// "Definitions" section is the user's reference; definition.schema.json
// is the same language for editors.
//
// # Phases
//
// A file goes through these phases; each collects every problem it can
// find and hands on what it could read, so one pass reports all of them
// (Problems, sorted by place, each with file:line:col, a JSON pointer and
// a hint):
//
//  1. load (load.go): read the file in bounded memory (MaxFileSize).
//  2. decode (decode.go, Parse): strict YAML/JSON decoding into a Document
//     that keeps the position of every value: syntax, one document, a
//     mapping, unknown fields, keys written twice, values of the wrong
//     type, bad durations, depth and alias limits.
//  3. validate and compile (compile.go, Compile): every check of meaning,
//     in dependency order (see below), while building the Plan.
//  4. plan (plan.go): the compiled Plan, every default resolved and every
//     route explicit, with a content hash that Verify checks, so a run
//     carries a snapshot that editing the file cannot change.
//
// # Where each check lives
//
//   - names.go: step names well formed and unique, parallel groups,
//     references to steps, the initial step.
//   - kinds.go: the kind of each step, from type: and its fields.
//   - step.go: fields that belong to another kind, action and parallel
//     steps, input expressions; wait.go, mapstep.go and subworkflow.go
//     the other kinds (a sub-workflow is compiled recursively and
//     embedded in the plan).
//   - routes.go: success, failure, error-type and when: routes.
//   - retry.go: retry policies and activity timeouts, resolved over the
//     definition's defaults.
//   - hooks.go: hooks on states.
//   - graph.go and loops.go: the routes as a whole (steps never reached,
//     no path to an end, loops with no way out) and the progress
//     estimates.
//   - legacy.go: the old system's task lists (sequential, parallel,
//     conditional), converted into a Document that Compile checks like
//     any other, its problems pointed back into the task list.
//
// A reference that names no step is reported, and a misspelt one is then
// followed to the step it most likely means (guess), so a mistake neither
// hides the problems behind it nor invents new ones. suggest.go makes
// every "did you mean" hint.
package definition

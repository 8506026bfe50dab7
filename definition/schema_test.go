package definition_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/statemachine"
)

const schemaFile = "definition.schema.json"

// compileSchema compiles definition.schema.json (checking it against the
// draft 2020-12 meta-schema on the way).
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw := readSchema(t)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource(schemaFile, raw))
	sch, err := c.Compile(schemaFile)
	require.NoError(t, err)
	return sch
}

// readSchema returns the schema document as jsonschema.UnmarshalJSON reads it.
func readSchema(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(schemaFile)
	require.NoError(t, err)
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	require.NoError(t, err)
	doc, ok := v.(map[string]any)
	require.True(t, ok, "the schema is not a JSON object")
	return doc
}

// yamlValue turns a YAML document into the value an editor validates: YAML →
// plain Go values → JSON → the form jsonschema validates.
func yamlValue(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	require.NoError(t, yaml.Unmarshal(src, &v))
	data, err := json.Marshal(v)
	require.NoError(t, err)
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	require.NoError(t, err)
	return out
}

// goRefuses reports whether the Go decoder and compiler refuse src.
func goRefuses(src string) bool {
	doc, err := definition.Parse("test.yaml", []byte(src))
	if err != nil || doc == nil {
		return true
	}
	_, err = definition.Compile(doc, definition.Options{})
	return err != nil
}

func TestSchemaCompiles(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t)
	require.NotNil(t, sch)
	doc := readSchema(t)
	require.Equal(t, "https://json-schema.org/draft/2020-12/schema", doc["$schema"])
	require.NotEmpty(t, doc["$id"])
}

func TestSchemaAcceptsExamples(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t)
	files, err := filepath.Glob("../examples/*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 5, "expected the examples folder to hold at least 5 definitions")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			require.NoError(t, sch.Validate(yamlValue(t, data)), "the schema refuses %s", file)
			_, err = definition.Load(file)
			require.NoError(t, err, "the Go decoder refuses %s", file)
		})
	}
}

const validDoc = `
workflow_id: t
initial_step: a
steps:
  - name: a
    action: log
    retry: {maximum_attempts: 2}
    next: b
  - name: b
    type: succeed
`

func TestSchemaRefusesInvalidDocuments(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t)
	require.NoError(t, sch.Validate(yamlValue(t, []byte(validDoc))), "the schema refuses the valid base document")
	require.False(t, goRefuses(validDoc), "the Go decoder refuses the valid base document")

	cases := []struct{ name, doc string }{
		{"unknown top-level field", `
workflow_id: t
initial_step: a
owner: me
steps:
  - {name: a, type: succeed}
`},
		{"misspelt step field", `
workflow_id: t
initial_step: a
steps:
  - name: a
    action: log
    conditons: {success: b}
  - {name: b, type: succeed}
`},
		{"negative maximum_attempts", `
workflow_id: t
initial_step: a
steps:
  - name: a
    action: log
    retry: {maximum_attempts: -1}
`},
		{"misspelt step type", `
workflow_id: t
initial_step: a
steps:
  - {name: a, type: sucess}
`},
		{"unknown on_branch_failure", `
workflow_id: t
initial_step: a
steps:
  - name: a
    action: log
    parallel_with: [b]
    on_branch_failure: sometimes
  - {name: b, action: log}
`},
		{"hook on an unknown state", `
workflow_id: t
initial_step: a
hooks:
  on_enter:
    REVEIW: [{action: log}]
steps:
  - {name: a, type: succeed}
`},
		{"duration in words", `
workflow_id: t
initial_step: a
steps:
  - name: a
    action: log
    timeouts: {start_to_close: 2 days}
`},
		{"duration without a unit", `
workflow_id: t
initial_step: a
steps:
  - name: a
    wait: {duration: 30}
`},
		{"missing steps", `
workflow_id: t
initial_step: a
`},
		{"empty steps", `
workflow_id: t
initial_step: a
steps: []
`},
		{"step without a name", `
workflow_id: t
initial_step: a
steps:
  - {action: log}
`},
		{"backoff_coefficient below 1", `
workflow_id: t
initial_step: a
steps:
  - name: a
    action: log
    retry: {backoff_coefficient: 0.5}
`},
		{"condition key that is no error type", `
workflow_id: t
initial_step: a
steps:
  - name: a
    action: log
    conditions: {not-a-type: b}
  - {name: b, type: succeed}
`},
		{"params that are not a mapping", `
workflow_id: t
initial_step: a
steps:
  - name: a
    action: log
    params: [1, 2]
`},
		{"unknown field in wait", `
workflow_id: t
initial_step: a
steps:
  - name: a
    wait: {duration: 1m, sginal: go}
`},
		{"bad workflow_id", `
workflow_id: "my workflow"
initial_step: a
steps:
  - {name: a, type: succeed}
`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := sch.Validate(yamlValue(t, []byte(tc.doc)))
			require.Error(t, err, "the schema accepts it")
			t.Logf("schema: %v", err)
			require.True(t, goRefuses(tc.doc), "the Go decoder accepts it, so the schema should too")
		})
	}
}

// TestSchemaDurations checks that the duration pattern accepts what the Go
// decoder accepts, and refuses what it refuses.
func TestSchemaDurations(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t)
	for _, tc := range []struct {
		d  string
		ok bool
	}{
		{"30s", true}, {"1h30m", true}, {"500ms", true}, {"1.5h", true}, {"0s", true}, {"0", true},
		{"2us", true}, {"3µs", true}, {"10ns", true}, {".5s", true}, {"+1m", true}, {"1h2m3s4ms", true},
		{"2 days", false}, {"1d", false}, {"30", false}, {"1.5", false}, {"-1s", false}, {"s", false},
		{"", false}, {"1h 30m", false}, {"30S", false}, {"1w", false},
	} {
		t.Run(tc.d, func(t *testing.T) {
			t.Parallel()
			doc := "workflow_id: t\ninitial_step: a\nsteps:\n  - name: a\n    action: log\n    timeouts: {heartbeat: " + strconv.Quote(tc.d) + "}\n"
			_, goErr := definition.Parse("test.yaml", []byte(doc))
			require.Equal(t, tc.ok, goErr == nil, "Go decoder: %v", goErr)
			schErr := sch.Validate(yamlValue(t, []byte(doc)))
			require.Equal(t, tc.ok, schErr == nil, "schema: %v", schErr)
		})
	}
}

// TestSchemaMatchesGoTypes checks that every object of the schema lists
// exactly the fields of the Go type it describes, refuses others, and
// that the enumerations are the Go ones.
func TestSchemaMatchesGoTypes(t *testing.T) {
	t.Parallel()
	doc := readSchema(t)
	defs := doc["$defs"].(map[string]any)
	props := doc["properties"].(map[string]any)
	objects := []struct {
		name   string
		schema any
		typ    reflect.Type
	}{
		{"definition", doc, reflect.TypeFor[definition.Definition]()},
		{"defaults", props["defaults"], reflect.TypeFor[definition.Defaults]()},
		{"hooks", props["hooks"], reflect.TypeFor[definition.Hooks]()},
		{"action", defs["action"], reflect.TypeFor[definition.Action]()},
		{"step", defs["step"], reflect.TypeFor[definition.Step]()},
		{"choice", defs["choice"], reflect.TypeFor[definition.Choice]()},
		{"wait", defs["wait"], reflect.TypeFor[definition.Wait]()},
		{"review", defs["review"], reflect.TypeFor[definition.Review]()},
		{"map", defs["map"], reflect.TypeFor[definition.Map]()},
		{"workflow", defs["workflow"], reflect.TypeFor[definition.SubWorkflow]()},
		{"retry", defs["retry"], reflect.TypeFor[definition.Retry]()},
		{"timeouts", defs["timeouts"], reflect.TypeFor[definition.Timeouts]()},
	}
	for _, o := range objects {
		obj, ok := o.schema.(map[string]any)
		require.True(t, ok, "%s: no schema object", o.name)
		require.Equal(t, false, obj["additionalProperties"], "%s: additionalProperties must be false", o.name)
		var want []string
		for i := range o.typ.NumField() {
			if tag := o.typ.Field(i).Tag.Get("yaml"); tag != "" {
				want = append(want, tag)
			}
		}
		require.ElementsMatch(t, want, keys(obj["properties"]), "%s: schema properties differ from %s's fields", o.name, o.typ)
	}

	var states []string
	for _, s := range statemachine.States() {
		states = append(states, s.String())
	}
	stateHooks := defs["stateHooks"].(map[string]any)
	require.ElementsMatch(t, states, keys(stateHooks["properties"]), "hook keys differ from the state names")
	require.Equal(t, false, stateHooks["additionalProperties"])

	step := defs["step"].(map[string]any)["properties"].(map[string]any)
	require.ElementsMatch(t,
		[]any{string(definition.KindAction), string(definition.KindParallel), string(definition.KindWait), string(definition.KindReview),
			string(definition.KindMap), string(definition.KindWorkflow), string(definition.KindSucceed), string(definition.KindFail)},
		step["type"].(map[string]any)["enum"])
	require.ElementsMatch(t, []any{definition.FailFast, definition.WaitAll, definition.Ignore},
		step["on_branch_failure"].(map[string]any)["enum"])
}

// TestSchemaDocumentsEveryProperty checks that every property has a title
// and a description, which editors show as tooltips.
func TestSchemaDocumentsEveryProperty(t *testing.T) {
	t.Parallel()
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, k := range keys(v) {
				if k == "properties" || k == "patternProperties" {
					for _, name := range keys(v[k]) {
						p := v[k].(map[string]any)[name].(map[string]any)
						require.NotEmpty(t, p["title"], "%s/%s/%s has no title", path, k, name)
						require.NotEmpty(t, p["description"], "%s/%s/%s has no description", path, k, name)
					}
				}
				walk(path+"/"+k, v[k])
			}
		case []any:
			for i, e := range v {
				walk(path+"/"+strconv.Itoa(i), e)
			}
		}
	}
	walk("#", readSchema(t))
}

func keys(v any) []string {
	m, _ := v.(map[string]any)
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

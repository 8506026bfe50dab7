package builtin

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		action string
		params map[string]any
		// want is each problem as "path: message", in order; empty for valid params.
		want []string
	}{
		{"log without message", Log, nil, nil},
		{"log message a number", Log, map[string]any{"message": 3}, []string{"/message: want a string, got a number"}},
		{"log bad level", Log, map[string]any{"message": "m", "level": "loud"}, []string{`/level: "loud" is not a level`}},
		{"wait ok", Wait, map[string]any{"duration": "1.5s"}, nil},
		{"wait missing", Wait, nil, []string{"/duration: it is required"}},
		{"wait zero", Wait, map[string]any{"duration": "0s"}, []string{`/duration: "0s" is not positive`}},
		{"wait no unit", Wait, map[string]any{"duration": "30"}, []string{`/duration: "30" is not a duration`}},
		{"validate no schema", Validate, nil, nil},
		{"validate schema ok", Validate, map[string]any{"schema": map[string]any{"type": "object"}}, nil},
		{"validate schema a string", Validate, map[string]any{"schema": "object"}, []string{"/schema: want a JSON Schema object, got a string"}},
		{"validate schema does not compile", Validate, map[string]any{"schema": map[string]any{"type": 5}}, []string{"/schema: not a valid JSON Schema: at '/type'"}},
		{"validate external ref", Validate, map[string]any{"schema": map[string]any{"$ref": "other.json"}}, []string{"/schema: not a valid JSON Schema"}},
		{"transform ok", Transform, map[string]any{"mapping": map[string]any{"total": "input.amount * 2.0"}}, nil},
		{"transform no mapping", Transform, nil, nil},
		{"transform mapping not an object", Transform, map[string]any{"mapping": "input"}, []string{"/mapping: want an object, got a string"}},
		{"transform every bad key", Transform, map[string]any{"mapping": map[string]any{"a": 1, "b": "input.amount *", "c/d": "nope.x", "ok": "1"}}, []string{
			`/mapping/a: key "a": want a CEL expression as a string, got a number`,
			`/mapping/b: key "b": expression does not compile`,
			`/mapping/c~1d: key "c/d": expression does not compile: 1:1: undeclared reference to 'nope'`,
		}},
		{"aggregate ok", Aggregate, map[string]any{"steps": []any{"a", "b"}}, nil},
		{"aggregate not a list", Aggregate, map[string]any{"steps": "a"}, []string{"/steps: want a list of strings, got a string"}},
		{"aggregate element", Aggregate, map[string]any{"steps": []any{"a", 1}}, []string{"/steps/1: element 1: want a string, got a number"}},
		{"http ok", HTTP, map[string]any{"url": "https://example.com/x", "method": "post", "headers": map[string]any{"X-A": "1"}, "body": map[string]any{"a": 1}, "timeout": "5s"}, nil},
		{"http no url", HTTP, nil, []string{"/url: it is required"}},
		{"http url a number", HTTP, map[string]any{"url": 5}, []string{"/url: want a string, got a number"}},
		{"http ftp url", HTTP, map[string]any{"url": "ftp://example.com"}, []string{`/url: "ftp://example.com" is not an absolute http:// or https:// URL`}},
		{"http everything wrong", HTTP, map[string]any{"url": "/x", "method": "GET ME", "headers": map[string]any{"X-N": 1, "Bad Name": "v"}, "timeout": "0s"}, []string{
			`/headers/Bad Name: header "Bad Name": not a valid header name or value`,
			`/headers/X-N: header "X-N": want a string value, got a number`,
			`/method: "GET ME" is not an HTTP method`,
			`/timeout: "0s" is not positive`,
			`/url: "/x" is not an absolute http:// or https:// URL`,
		}},
		{"custom action", "custom_processing", map[string]any{"anything": 1}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Check(tc.action, tc.params)
			require.Len(t, got, len(tc.want), "%v", got)
			for i, p := range got {
				line := p.Path + ": " + p.Message
				require.True(t, strings.HasPrefix(line, tc.want[i]), "got %q, want prefix %q", line, tc.want[i])
				require.NotEmpty(t, p.Param)
			}
		})
	}
}

func TestProblemErrorNamesParamAndHint(t *testing.T) {
	t.Parallel()
	ps := Check(Wait, nil)
	require.EqualError(t, ps, `param "duration": it is required; say how long to wait, e.g. "30s"`)
	require.NoError(t, Check(Wait, map[string]any{"duration": "1s"}).Err())
}

func TestNames(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"aggregate", "http", "log", "transform", "validate", "wait"}, Names())
	require.True(t, Is("http"))
	require.False(t, Is("custom_processing"))
}

func TestIsToken(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"GET", "X-Request-Id", "PROPFIND"} {
		require.True(t, isToken(s), s)
	}
	for _, s := range []string{"", "GET ME", "X:Y", "é", "a\nb"} {
		require.False(t, isToken(s), s)
	}
}

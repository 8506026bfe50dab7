package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "order.json")
	require.NoError(t, os.WriteFile(good, []byte("{\n  \"order_id\": 42,\n  \"items\": [\"a\"]\n}\n"), 0o600))
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte("{\n  \"order_id\": 42\n  \"items\": []\n}\n"), 0o600))

	got, err := parseInput(`{"order_id": 42, "rush": true}`, nil)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"order_id": 42.0, "rush": true}, got)

	got, err = parseInput("@"+good, nil)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"order_id": 42.0, "items": []any{"a"}}, got)

	got, err = parseInput("@-", strings.NewReader(`{"from": "stdin"}`))
	require.NoError(t, err)
	require.Equal(t, map[string]any{"from": "stdin"}, got)

	got, err = parseInput("{}", nil)
	require.NoError(t, err)
	require.Empty(t, got)

	cases := []struct {
		name  string
		value string
		want  string
	}{
		{"syntax", `{"a":}`, `--input: invalid JSON at line 1, column 6: invalid character '}' looking for beginning of value`},
		{"trailing comma", `{"a": 1,}`, "--input: invalid JSON at line 1, column 9:"},
		{"bad literal", `{"a": tru}`, "line 1, column 10"},
		{"unclosed", `{"a": 1`, "--input: invalid JSON at line 1, column 8: it ends before the object is closed"},
		{"trailing data", `{"a": 1} {"b": 2}`, `--input: line 1, column 10: unexpected '{' after the JSON object`},
		{"array", `[1, 2]`, `--input must be a JSON object such as {"order_id": 42}, not an array`},
		{"string", `"hello"`, "not a string"},
		{"null", `null`, "not null"},
		{"empty", ``, "--input is empty"},
		{"blank", "  \n", "--input is empty"},
		{"bare word", `order=42`, "--input: invalid JSON at line 1, column 1: invalid character 'o'"},
		{"file error position", "@" + bad, "--input @" + bad + ": invalid JSON at line 3, column 3: invalid character '\"' after object key:value pair"},
		{"missing file", "@" + filepath.Join(dir, "nope.json"), "no such file or directory"},
		{"no file name", "@", "--input @ needs a file name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseInput(tc.value, strings.NewReader(""))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestPosition(t *testing.T) {
	t.Parallel()
	data := []byte("{\n  \"é\": x\n}")
	line, col := position(data, strings.Index(string(data), "x"))
	require.Equal(t, 2, line)
	require.Equal(t, 8, col, "columns count characters, not bytes")
	line, col = position(data, -5)
	require.Equal(t, []int{1, 1}, []int{line, col})
	line, col = position(data, 999)
	require.Equal(t, []int{3, 2}, []int{line, col})
}

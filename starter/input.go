package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// inputExample is shown whenever --input is wrong.
const inputExample = `{"order_id": 42}`

// parseInput reads the value of --input: a JSON object written inline, or
// @FILE to read it from a file (@- reads standard input). The error says
// where the JSON goes wrong, as line and column.
func parseInput(value string, stdin io.Reader) (map[string]any, error) {
	source, data := "--input", []byte(value)
	if name, ok := strings.CutPrefix(value, "@"); ok {
		if name == "" {
			return nil, fmt.Errorf("--input @ needs a file name: --input @order.json, or --input @- for standard input")
		}
		source = "--input " + value
		var err error
		if name == "-" {
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
	}
	return decodeObject(source, data)
}

// decodeObject decodes exactly one JSON object.
func decodeObject(source string, data []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s is empty: give a JSON object such as %s", source, inputExample)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonError(source, data, err)
	}
	if rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		line, col := position(data, len(data)-len(rest))
		return nil, fmt.Errorf("%s: line %d, column %d: unexpected %s after the JSON object: give exactly one object such as %s",
			source, line, col, quoteStart(rest), inputExample)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s must be a JSON object such as %s, not %s", source, inputExample, jsonKind(v))
	}
	return obj, nil
}

// jsonError places a decoding error at its line and column.
func jsonError(source string, data []byte, err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		// Offset counts the bytes read, the offending one included.
		line, col := position(data, int(syn.Offset)-1)
		return fmt.Errorf("%s: invalid JSON at line %d, column %d: %s", source, line, col, syn)
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := position(data, len(data))
		return fmt.Errorf("%s: invalid JSON at line %d, column %d: it ends before the object is closed (a missing } or \"?)", source, line, col)
	}
	return fmt.Errorf("%s: invalid JSON: %w", source, err)
}

// position returns the 1-based line and column (in characters) of byte
// offset off in data.
func position(data []byte, off int) (line, col int) {
	off = max(0, min(off, len(data)))
	before := data[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[start:]) + 1
}

func quoteStart(b []byte) string {
	r, _ := utf8.DecodeRune(b)
	return fmt.Sprintf("%q", r)
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

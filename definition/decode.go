package definition

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// Limits on what a definition file may be. They keep parsing bounded in
// time and memory whatever the input: a definition is a few kilobytes, and
// anything near these limits is a mistake or an attack.
const (
	// MaxFileSize is the largest definition file accepted.
	MaxFileSize = 1 << 20
	// MaxDepth is the deepest nesting of mappings and lists accepted.
	MaxDepth = 32
	// MaxValues bounds the number of values after aliases are expanded.
	MaxValues = 100_000
)

// pos is a place in the source: 1-based line and column.
type pos struct{ line, col int }

// Document is a decoded definition with the source positions of its values,
// ready to be compiled.
type Document struct {
	// problems found while decoding; Compile reports them with its own.
	problems Problems

	// File is the name used in problems (the path as given).
	File string
	// Definition is the decoded document.
	Definition Definition

	positions map[string]pos // JSON pointer → position of the value
}

// Parse decodes a definition from data, YAML or JSON (JSON is read as the
// YAML it is, so both give line and column). Decoding is strict: unknown
// fields, duplicate keys and values of the wrong type are problems. Every
// problem found is returned at once, as Problems. When the file could be
// read as a document at all, the Document is returned too, with the wrong
// values left unset, so that Compile can find the problems behind them.
func Parse(file string, data []byte) (*Document, error) {
	d := &decoder{file: file, positions: map[string]pos{}}
	root, ok := d.root(data)
	if !ok {
		return nil, d.problems.sorted()
	}
	doc := &Document{File: file, positions: d.positions}
	d.decode(root, reflect.ValueOf(&doc.Definition).Elem(), "", 0)
	if len(d.problems) > 0 {
		doc.problems = d.problems
		return doc, d.problems.sorted()
	}
	return doc, nil
}

// position returns where the value at path is, or the nearest enclosing
// value that was written (a missing field is reported at its parent).
func (doc *Document) position(path string) pos {
	for {
		if p, ok := doc.positions[path]; ok {
			return p
		}
		if path == "" {
			return pos{1, 1}
		}
		i := strings.LastIndexByte(path, '/')
		path = path[:i]
	}
}

type decoder struct {
	file      string
	positions map[string]pos
	problems  Problems
	values    int
}

func (d *decoder) problem(p pos, path, msg, hint string) {
	d.problems = append(d.problems, Problem{File: d.file, Line: p.line, Column: p.col, Path: path, Message: msg, Hint: hint})
}

// root checks the raw bytes and returns the document's top node.
func (d *decoder) root(data []byte) (*yaml.Node, bool) {
	start := pos{1, 1}
	switch {
	case len(data) > MaxFileSize:
		d.problem(start, "", fmt.Sprintf("the file is %s; a definition may be at most %s", size(len(data)), size(MaxFileSize)),
			"split it into smaller definitions and call them as sub-workflows")
		return nil, false
	case len(strings.TrimSpace(string(data))) == 0:
		d.problem(start, "", "the file is empty", "a definition needs at least workflow_id, initial_step and steps; see examples/")
		return nil, false
	case slices.Contains(data, 0) || !utf8.Valid(data):
		d.problem(start, "", "the file is not text (it holds NUL bytes or is not UTF-8)", "give a YAML or JSON definition")
		return nil, false
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var node yaml.Node
	if err := dec.Decode(&node); err != nil {
		if errors.Is(err, io.EOF) {
			d.problem(start, "", "the file holds nothing but comments", "a definition needs at least workflow_id, initial_step and steps; see examples/")
		} else {
			d.syntax(err)
		}
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		p := pos{extra.Line, extra.Column}
		if err != nil {
			p = start
		}
		d.problem(p, "", "the file holds more than one YAML document", "keep one definition per file")
		return nil, false
	}
	if node.Kind != yaml.DocumentNode || len(node.Content) == 0 {
		d.problem(start, "", "the file is empty", "a definition needs at least workflow_id, initial_step and steps; see examples/")
		return nil, false
	}
	root := node.Content[0]
	if root.Kind == yaml.AliasNode {
		root = root.Alias
	}
	if root.Kind != yaml.MappingNode {
		d.problem(pos{root.Line, root.Column}, "", "a definition is a mapping (key: value), but this file holds "+describe(root),
			"start with workflow_id:, initial_step: and steps:; see examples/")
		return nil, false
	}
	return root, true
}

// syntax turns the YAML parser's error ("yaml: line 3: did not find …")
// into a located problem.
func (d *decoder) syntax(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := pos{1, 1}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				p.line = n
				msg = strings.TrimSpace(rest[i+1:])
			}
		}
	}
	d.problem(p, "", "syntax error: "+msg, "check the indentation and quoting around this line")
}

func size(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

var durationType = reflect.TypeFor[Duration]()

// decode fills v from n, recording positions and problems; it never stops
// at the first problem.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.values++
	if d.values == MaxValues {
		d.problem(pos{n.Line, n.Column}, path, fmt.Sprintf("the document expands to more than %d values", MaxValues), "use fewer aliases")
	}
	if d.values >= MaxValues {
		return
	}
	if depth > MaxDepth {
		d.problem(pos{n.Line, n.Column}, path, fmt.Sprintf("nested deeper than %d levels", MaxDepth), "flatten it")
		return
	}
	p := pos{n.Line, n.Column}
	d.positions[path] = p
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // left unset
	}
	if v.Type() == durationType {
		d.duration(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		d.decode(n, v.Elem(), path, depth)
	case reflect.Struct:
		d.object(n, v, path, depth)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.problem(p, path, "expected a list, got "+describe(n), "write it as [a, b] or as lines starting with -")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), path+"/"+strconv.Itoa(i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.problem(p, path, "expected a mapping (key: value), got "+describe(n), "")
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := k.Value
			kp := path + "/" + pointerEscape(key)
			if seen[key] {
				d.problem(pos{k.Line, k.Column}, kp, fmt.Sprintf("key %q is written twice", key), "keep one")
				continue
			}
			seen[key] = true
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, e, kp, depth+1)
			m.SetMapIndex(reflect.ValueOf(key), e)
		}
		v.Set(m)
	case reflect.Interface:
		val := d.anyValue(n, path, depth)
		if val != nil {
			v.Set(reflect.ValueOf(val))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			d.problem(p, path, "expected a string, got "+describe(n), quoteHint(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.problem(p, path, "expected true or false, got "+describe(n), "")
			return
		}
		v.SetBool(b)
	case reflect.Int:
		var i int
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
			d.problem(p, path, "expected a whole number, got "+describe(n), "")
			return
		}
		v.SetInt(int64(i))
	case reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil {
			d.problem(p, path, "expected a number, got "+describe(n), "")
			return
		}
		v.SetFloat(f)
	default:
		panic(fmt.Sprintf("definition: no decoder for %s", v.Type()))
	}
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	p := pos{n.Line, n.Column}
	if n.Kind != yaml.ScalarNode {
		d.problem(p, path, "expected a duration, got "+describe(n), "write it like 30s, 5m or 1h30m")
		return
	}
	if n.Tag == "!!int" || n.Tag == "!!float" {
		d.problem(p, path, fmt.Sprintf("duration %s has no unit", n.Value), "write it like "+n.Value+"s or "+n.Value+"m")
		return
	}
	dur, err := parseDuration(n.Value)
	if err != nil {
		d.problem(p, path, "bad duration: "+err.Error(), "")
		return
	}
	v.Set(reflect.ValueOf(Duration{D: dur, Set: true}))
}

// object decodes a mapping into a struct by the fields' yaml tags.
func (d *decoder) object(n *yaml.Node, v reflect.Value, path string, depth int) {
	p := pos{n.Line, n.Column}
	if n.Kind != yaml.MappingNode {
		d.problem(p, path, "expected a mapping (key: value), got "+describe(n), "")
		return
	}
	fields := fieldsOf(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		kp := path + "/" + pointerEscape(key)
		kpos := pos{k.Line, k.Column}
		idx, known := fields[key]
		switch {
		case !known:
			d.problem(kpos, kp, fmt.Sprintf("unknown field %q", key), fieldHint(key, fields))
		case seen[key]:
			d.problem(kpos, kp, fmt.Sprintf("field %q is written twice", key), "keep one")
		default:
			seen[key] = true
			d.decode(val, v.Field(idx), kp, depth+1)
		}
	}
}

// anyValue converts free-form data (params) to plain Go values.
func (d *decoder) anyValue(n *yaml.Node, path string, depth int) any {
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		d.decode(n, reflect.ValueOf(&m).Elem(), path, depth)
		return m
	case yaml.SequenceNode:
		var s []any
		d.decode(n, reflect.ValueOf(&s).Elem(), path, depth)
		return s
	case yaml.AliasNode:
		return d.anyValue(n.Alias, path, depth)
	}
	var v any
	if err := n.Decode(&v); err != nil {
		d.problem(pos{n.Line, n.Column}, path, "bad value: "+err.Error(), "")
		return nil
	}
	return v
}

func fieldsOf(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("yaml"); tag != "" {
			m[tag] = i
		}
	}
	return m
}

func fieldHint(key string, fields map[string]int) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	hint, _ := suggest(key, names, "known fields here: ")
	return hint
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!bool":
		return n.Value
	case "!!str":
		return strconv.Quote(n.Value)
	}
	return strconv.Quote(n.Value)
}

func quoteHint(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return fmt.Sprintf("put it in quotes: %q", n.Value)
	}
	return ""
}

// pointerEscape escapes a key for a JSON pointer (RFC 6901).
func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

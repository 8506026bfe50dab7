package builtin

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with an action's params.
type Problem struct {
	// Param is the top-level param the problem is about ("url").
	Param string
	// Path is a JSON pointer under params to the offending value
	// ("/mapping/total"); for a missing param, the param's own pointer.
	Path string
	// Message says what is wrong.
	Message string
	// Hint says what to write instead; it may be empty.
	Hint string
}

// Error formats the problem the way a BadParams failure says it:
// `param "url": message; hint`.
func (p Problem) Error() string {
	s := fmt.Sprintf("param %q: %s", p.Param, p.Message)
	if p.Hint != "" {
		s += "; " + p.Hint
	}
	return s
}

// Problems is every problem found with one action's params.
type Problems []Problem

// Error lists the problems, separated by "; ".
func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "; ")
}

// Err returns ps as an error, or nil when there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// add records a problem with param at its own pointer.
func (ps *Problems) add(param, hint, format string, args ...any) {
	ps.addAt(param, "/"+pointerEscape(param), hint, format, args...)
}

// addAt records a problem with param at path.
func (ps *Problems) addAt(param, path, hint, format string, args ...any) {
	*ps = append(*ps, Problem{Param: param, Path: path, Message: fmt.Sprintf(format, args...), Hint: hint})
}

// pointerEscape escapes a key for a JSON pointer (RFC 6901).
func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

package builtin

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"time"
)

// HTTPParams are the http action's params.
type HTTPParams struct {
	// Method is the request method, upper case; GET by default.
	Method string
	// URL is an absolute http:// or https:// URL.
	URL *url.URL
	// Header holds the request headers, each name once.
	Header map[string]string
	// Body is the request body; nil without one. JSONBody says it was
	// encoded from a value that was not a string.
	Body     []byte
	JSONBody bool
	// Timeout bounds the request; zero when the step sets none.
	Timeout time.Duration
}

// ParseHTTP decodes the http action's params: url required (absolute,
// http or https), method a token, headers an object of valid names and
// string values, body a string or anything JSON can encode, timeout a
// positive duration.
func ParseHTTP(params map[string]any) (HTTPParams, Problems) {
	var ps Problems
	h := HTTPParams{Method: "GET"}
	if method, ok := ps.stringParam(params, "method"); ok {
		h.Method = strings.ToUpper(method)
		if !isToken(h.Method) {
			ps.add("method", "use GET, POST, PUT, PATCH, DELETE, …", "%q is not an HTTP method", h.Method)
		}
	}
	raw, ok := ps.stringParam(params, "url")
	switch {
	case !ok && !ps.has("url"), ok && raw == "":
		ps.add("url", "give an http:// or https:// URL", "it is required")
	case ok:
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			ps.add("url", "write it like https://example.com/path", "%q is not an absolute http:// or https:// URL", raw)
		} else {
			h.URL = u
		}
	}
	h.Header = ps.headers(params)
	h.Body, h.JSONBody = ps.body(params)
	h.Timeout, _ = ps.durationParam(params, "timeout")
	return h, ps
}

// headers decodes params.headers, in name order.
func (ps *Problems) headers(params map[string]any) map[string]string {
	headers, ok := ps.objectParam(params, "headers")
	if !ok {
		return nil
	}
	out := make(map[string]string, len(headers))
	names := make([]string, 0, len(headers))
	for name := range headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := headers[name]
		path := "/headers/" + pointerEscape(name)
		s, isString := v.(string)
		switch {
		case !isString:
			ps.addAt("headers", path, quoteHint(v), "header %q: want a string value, got %s", name, jsonKind(v))
		case !isToken(name) || strings.ContainsAny(s, "\r\n\x00"):
			ps.addAt("headers", path, "a name is letters, digits and -; a value is one line", "header %q: not a valid header name or value", name)
		default:
			out[name] = s
		}
	}
	return out
}

// body encodes params.body: a string as is, anything else as JSON.
func (ps *Problems) body(params map[string]any) (data []byte, isJSON bool) {
	switch b := params["body"].(type) {
	case nil:
		return nil, false
	case string:
		return []byte(b), false
	default:
		data, err := json.Marshal(b)
		if err != nil {
			ps.add("body", "give a string, or data JSON can encode", "cannot encode it as JSON: %v", err)
			return nil, false
		}
		return data, true
	}
}

// has reports whether a problem with param was recorded.
func (ps Problems) has(param string) bool {
	for _, p := range ps {
		if p.Param == param {
			return true
		}
	}
	return false
}

// isToken reports whether s is an RFC 9110 token, as methods and header
// names must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r >= 0x80 || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}\x7f", r) {
			return false
		}
	}
	return true
}

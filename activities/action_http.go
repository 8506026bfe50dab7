package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
)

const (
	// maxResponseBody bounds what the http action reads of a response: a
	// step's result travels in the workflow's history, which is no place
	// for large documents.
	maxResponseBody = 10 << 20
	// errorBodySnippet is how much of a refused response's body the error
	// message quotes.
	errorBodySnippet = 512
	// defaultHTTPTimeout bounds a request when the step sets no timeout.
	defaultHTTPTimeout = 30 * time.Second
)

// httpAction sends one HTTP request and returns the response's status,
// headers and body.
func httpAction(ctx context.Context, in StepInput) (any, error) {
	req, timeout, err := buildRequest(in.Params)
	if err != nil {
		return nil, err
	}
	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req = req.WithContext(reqCtx)
	where := req.Method + " " + req.URL.Redacted()

	resp, err := httpClient(ctx).Do(req)
	if err != nil {
		return nil, transportError(ctx, reqCtx, where, timeout, err)
	}
	defer func() { _ = resp.Body.Close() }()

	if resp.StatusCode >= 400 {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodySnippet))
		return nil, statusError(where, resp, snippet)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return nil, transportError(ctx, reqCtx, where, timeout, fmt.Errorf("read the response body: %w", err))
	}
	if len(data) > maxResponseBody {
		return nil, NewNonRetryableError(ErrorTypeHTTP, "%s: the response body is larger than %d MiB; fetch less (a page, a summary) per step", where, maxResponseBody>>20)
	}
	return map[string]any{
		"status":  resp.StatusCode,
		"headers": flatHeaders(resp.Header),
		"body":    decodeBody(resp.Header.Get("Content-Type"), data),
	}, nil
}

func buildRequest(params map[string]any) (*http.Request, time.Duration, error) {
	method, ok, err := stringParam(params, "method")
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		method = http.MethodGet
	}
	method = strings.ToUpper(method)
	if !isToken(method) {
		return nil, 0, badParams("method", "%q is not an HTTP method; use GET, POST, PUT, PATCH, DELETE, …", method)
	}

	raw, ok, err := stringParam(params, "url")
	if err != nil {
		return nil, 0, err
	}
	if !ok || raw == "" {
		return nil, 0, badParams("url", "it is required; give an http:// or https:// URL")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, 0, badParams("url", "%q is not an absolute http:// or https:// URL", raw)
	}

	header := http.Header{}
	headers, _, err := objectParam(params, "headers")
	if err != nil {
		return nil, 0, err
	}
	for name, v := range headers {
		s, isString := v.(string)
		if !isString {
			return nil, 0, badParams("headers", "header %q: want a string value, got %s", name, jsonKind(v))
		}
		if !isToken(name) || strings.ContainsAny(s, "\r\n\x00") {
			return nil, 0, badParams("headers", "header %q: not a valid header name or value", name)
		}
		header.Set(name, s)
	}

	var body io.Reader
	switch b := params["body"].(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, 0, badParams("body", "cannot encode it as JSON: %v", err)
		}
		body = bytes.NewReader(data)
		if header.Get("Content-Type") == "" {
			header.Set("Content-Type", "application/json")
		}
	}

	timeout, ok, err := durationParam(params, "timeout")
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		timeout = defaultHTTPTimeout
	}

	// The context is set by the caller, with the timeout.
	req, err := http.NewRequestWithContext(context.Background(), method, u.String(), body)
	if err != nil {
		return nil, 0, badParams("url", "cannot make a request of it: %v", err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	return req, timeout, nil
}

// transportError classifies a request that got no response: the activity's
// own cancellation stays a cancellation; anything else may work next time.
func transportError(ctx, reqCtx context.Context, where string, timeout time.Duration, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", where, ctx.Err())
	case errors.Is(reqCtx.Err(), context.DeadlineExceeded):
		return NewError(ErrorTypeHTTP, "%s: no response within %s (the step's `timeout` param)", where, timeout)
	default:
		return NewError(ErrorTypeHTTP, "%s: %v", where, err)
	}
}

// statusError classifies a 4xx or 5xx response. Server errors, 408 Request
// Timeout and 429 Too Many Requests may pass on a later attempt; other
// client errors will not. A Retry-After header sets the next attempt's
// delay.
func statusError(where string, resp *http.Response, snippet []byte) error {
	msg := fmt.Sprintf("%s: %s", where, resp.Status)
	if s := strings.TrimSpace(string(snippet)); s != "" {
		msg += ": " + oneLine(s)
	}
	retryable := resp.StatusCode >= 500 ||
		resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests
	return temporal.NewApplicationErrorWithOptions(msg, ErrorTypeHTTP, temporal.ApplicationErrorOptions{
		NonRetryable:   !retryable,
		NextRetryDelay: retryAfter(resp.Header.Get("Retry-After")),
	})
}

// retryAfter reads a Retry-After header (seconds or an HTTP date); zero
// leaves the delay to the step's retry policy.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// flatHeaders turns response headers into an object of strings, values of
// a repeated header joined with ", ", so expressions can read
// result.headers["Content-Type"].
func flatHeaders(h http.Header) map[string]any {
	out := make(map[string]any, len(h))
	for name, values := range h {
		out[name] = strings.Join(values, ", ")
	}
	return out
}

// decodeBody parses a JSON response (application/json or any +json type)
// and returns any other, or JSON that does not parse, as text.
func decodeBody(contentType string, data []byte) any {
	if len(data) == 0 {
		return ""
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err == nil && (mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")) {
		var v any
		if json.Unmarshal(data, &v) == nil {
			return v
		}
	}
	return string(data)
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

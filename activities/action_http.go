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
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/statedriven/statedriven/activities/builtin"
	"github.com/statedriven/statedriven/contract"
)

const (
	// maxResponseBody bounds what the http action reads of a response: a
	// step's result travels in the workflow's history, and the workflow
	// refuses a payload over 1.5 MiB (workflows.PayloadLimit) with a
	// PayloadTooLarge error that a definition could not tell from any
	// other; 1 MiB fails here instead, as an HTTPError.
	maxResponseBody = 1 << 20
	// maxResultJSON bounds the result as JSON (status, headers, the body
	// escaped): 1.25 MiB, under the workflow's 1.5 MiB with room for the
	// step input and output around it. A body of control characters can
	// grow sixfold when escaped, so the raw limit alone is not enough.
	maxResultJSON = 1280 << 10
	// errorBodySnippet is how much of a refused response's body the error
	// message quotes.
	errorBodySnippet = 512
	// defaultHTTPTimeout bounds a request when the step sets no timeout.
	defaultHTTPTimeout = 30 * time.Second
)

// httpAction sends one HTTP request and returns the response's status,
// headers and body.
func httpAction(ctx context.Context, in contract.StepInput) (any, error) {
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
		return nil, NewNonRetryableError(ErrorTypeHTTP, "%s: the response body is larger than the limit of %d MiB; fetch less (a page, a summary) per step", where, maxResponseBody>>20)
	}
	result := map[string]any{
		"status":  resp.StatusCode,
		"headers": flatHeaders(resp.Header),
		"body":    decodeBody(resp.Header.Get("Content-Type"), data),
	}
	if encoded, err := json.Marshal(result); err == nil && len(encoded) > maxResultJSON {
		return nil, NewNonRetryableError(ErrorTypeHTTP, "%s: the response is %d bytes as JSON, over the limit of %d (1.25 MiB); fetch less (a page, a summary) per step", where, len(encoded), maxResultJSON)
	}
	return result, nil
}

// buildRequest makes the request that params describe; their rules are
// builtin's, checked by validate too.
func buildRequest(params map[string]any) (*http.Request, time.Duration, error) {
	p, problems := builtin.ParseHTTP(params)
	if err := paramsError(problems); err != nil {
		return nil, 0, err
	}
	var body io.Reader
	if p.Body != nil {
		body = bytes.NewReader(p.Body)
	}
	timeout := p.Timeout
	if timeout == 0 {
		timeout = defaultHTTPTimeout
	}
	// The context is set by the caller, with the timeout.
	req, err := http.NewRequestWithContext(context.Background(), p.Method, p.URL.String(), body)
	if err != nil {
		return nil, 0, badParams("url", "cannot make a request of it: %v", err)
	}
	for name, v := range p.Header {
		req.Header.Set(name, v)
	}
	if p.JSONBody && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, timeout, nil
}

// transportError classifies a request that got no response: the activity's
// own cancellation stays a cancellation; a refused address or too many
// redirects fails the same way next time; anything else may work then.
func transportError(ctx, reqCtx context.Context, where string, timeout time.Duration, err error) error {
	refused, isRefused := refusedError(err)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", where, ctx.Err())
	case isRefused:
		return NewNonRetryableError(ErrorTypeHTTP, "%s: %v", where, refused)
	case errors.Is(err, errTooManyRedirects):
		return NewNonRetryableError(ErrorTypeHTTP, "%s: %v", where, errTooManyRedirects)
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

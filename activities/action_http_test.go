package activities

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/contract"
)

// newHTTPServer serves the cases of the http action's table on loopback.
func newHTTPServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("X-Reply", "yes")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method":       r.Method,
			"x_test":       r.Header.Get("X-Test"),
			"content_type": r.Header.Get("Content-Type"),
			"body":         string(body),
		})
	})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ready")
	})
	mux.HandleFunc("/bad-json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		_, _ = io.WriteString(w, "{not json")
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such report", http.StatusNotFound)
	})
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database down", http.StatusInternalServerError)
	})
	mux.HandleFunc("/busy", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // answers only when the client gives up
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(make([]byte, maxResponseBody+1))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPAction(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	cases := []struct {
		name   string
		params map[string]any
		want   map[string]any // the result without the Date and Content-Length headers
		err    *wantErr
		delay  time.Duration // the error's next retry delay
	}{
		{
			name:   "GET JSON",
			params: map[string]any{"url": srv.URL + "/echo", "headers": map[string]any{"X-Test": "t1"}},
			want: map[string]any{
				"status": 200.0,
				"headers": map[string]any{
					"Content-Type": "application/json; charset=utf-8", "X-Reply": "yes", "X-Multi": "a, b",
				},
				"body": map[string]any{"method": "GET", "x_test": "t1", "content_type": "", "body": ""},
			},
		},
		{
			name:   "POST a JSON body",
			params: map[string]any{"method": "post", "url": srv.URL + "/echo", "body": map[string]any{"n": 1}},
			want: map[string]any{
				"status": 200.0,
				"headers": map[string]any{
					"Content-Type": "application/json; charset=utf-8", "X-Reply": "yes", "X-Multi": "a, b",
				},
				"body": map[string]any{"method": "POST", "x_test": "", "content_type": "application/json", "body": `{"n":1}`},
			},
		},
		{
			name: "PUT a string body with its own content type",
			params: map[string]any{"method": "PUT", "url": srv.URL + "/echo", "body": "a,b",
				"headers": map[string]any{"Content-Type": "text/csv"}},
			want: map[string]any{
				"status": 200.0,
				"headers": map[string]any{
					"Content-Type": "application/json; charset=utf-8", "X-Reply": "yes", "X-Multi": "a, b",
				},
				"body": map[string]any{"method": "PUT", "x_test": "", "content_type": "text/csv", "body": "a,b"},
			},
		},
		{
			name:   "text",
			params: map[string]any{"url": srv.URL + "/text"},
			want:   map[string]any{"status": 200.0, "headers": map[string]any{"Content-Type": "text/plain"}, "body": "ready"},
		},
		{
			name:   "JSON that does not parse is text",
			params: map[string]any{"url": srv.URL + "/bad-json"},
			want:   map[string]any{"status": 200.0, "headers": map[string]any{"Content-Type": "application/problem+json"}, "body": "{not json"},
		},
		{
			name:   "no content",
			params: map[string]any{"url": srv.URL + "/empty"},
			want:   map[string]any{"status": 204.0, "headers": map[string]any{}, "body": ""},
		},
		{
			name:   "404 is not retried",
			params: map[string]any{"url": srv.URL + "/missing"},
			err: &wantErr{errType: ErrorTypeHTTP, nonRetryable: true,
				contains: []string{"GET " + srv.URL + "/missing: 404 Not Found: no such report"}},
		},
		{
			name:   "500 is retried",
			params: map[string]any{"url": srv.URL + "/broken"},
			err: &wantErr{errType: ErrorTypeHTTP, nonRetryable: false,
				contains: []string{"GET " + srv.URL + "/broken: 500 Internal Server Error: database down"}},
		},
		{
			name:   "429 is retried after Retry-After",
			params: map[string]any{"url": srv.URL + "/busy"},
			err:    &wantErr{errType: ErrorTypeHTTP, nonRetryable: false, contains: []string{"429 Too Many Requests"}},
			delay:  7 * time.Second,
		},
		{
			name:   "timeout is retried",
			params: map[string]any{"url": srv.URL + "/slow", "timeout": "20ms"},
			err: &wantErr{errType: ErrorTypeHTTP, nonRetryable: false,
				contains: []string{"GET " + srv.URL + "/slow: no response within 20ms"}},
		},
		{
			name:   "connection refused is retried",
			params: map[string]any{"url": closed.URL},
			err:    &wantErr{errType: ErrorTypeHTTP, nonRetryable: false, contains: []string{"GET " + closed.URL + ": "}},
		},
		{
			name:   "body over the limit",
			params: map[string]any{"url": srv.URL + "/huge"},
			err:    &wantErr{errType: ErrorTypeHTTP, nonRetryable: true, contains: []string{"larger than 10 MiB"}},
		},
		{name: "no url", params: map[string]any{}, err: badParamsErr(`param "url": it is required`)},
		{name: "not http", params: map[string]any{"url": "ftp://example.com/x"}, err: badParamsErr(`param "url": "ftp://example.com/x" is not an absolute http:// or https:// URL`)},
		{name: "relative url", params: map[string]any{"url": "/report"}, err: badParamsErr(`is not an absolute http:// or https:// URL`)},
		{name: "bad method", params: map[string]any{"url": srv.URL, "method": "GET ME"}, err: badParamsErr(`param "method": "GET ME" is not an HTTP method`)},
		{name: "header not a string", params: map[string]any{"url": srv.URL, "headers": map[string]any{"X-N": 1}}, err: badParamsErr(`param "headers": header "X-N": want a string value, got a number`)},
		{name: "header with a newline", params: map[string]any{"url": srv.URL, "headers": map[string]any{"X-N": "a\r\nB: c"}}, err: badParamsErr(`header "X-N": not a valid header name or value`)},
		{name: "headers not an object", params: map[string]any{"url": srv.URL, "headers": []any{"X-N"}}, err: badParamsErr(`param "headers": want an object, got a list`)},
		{name: "bad timeout", params: map[string]any{"url": srv.URL, "timeout": "30"}, err: badParamsErr(`param "timeout": "30" is not a duration`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, RunnerOptions{HTTPClient: srv.Client()})
			got, err := b.run(t, contract.StepInput{Action: "http", Params: tc.params})
			if tc.err != nil {
				tc.err.check(t, err)
				appErr := requireAppError(t, err, tc.err.errType, tc.err.nonRetryable)
				require.Equal(t, tc.delay, appErr.NextRetryDelay())
				return
			}
			require.NoError(t, err)
			result, ok := got.(map[string]any)
			require.True(t, ok, "result is %T", got)
			headers := result["headers"].(map[string]any)
			require.NotEmpty(t, headers["Date"])
			delete(headers, "Date")
			delete(headers, "Content-Length")
			require.Equal(t, tc.want, result)
		})
	}
}

func TestHTTPDefaultClient(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t)
	b := setup(t, RunnerOptions{}) // the runner's own client
	got, err := b.run(t, contract.StepInput{Action: "http", Params: map[string]any{"url": srv.URL + "/text"}})
	require.NoError(t, err)
	require.Equal(t, "ready", got.(map[string]any)["body"])
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	require.Equal(t, 120*time.Second, retryAfter("120"))
	require.Zero(t, retryAfter(""))
	require.Zero(t, retryAfter("-3"))
	require.Zero(t, retryAfter("soon"))
	require.Zero(t, retryAfter("Wed, 21 Oct 2015 07:28:00 GMT")) // in the past
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	d := retryAfter(future)
	require.Positive(t, d)
	require.LessOrEqual(t, d, time.Hour)
}

package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

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
	mux.HandleFunc("/escaped", func(w http.ResponseWriter, r *http.Request) {
		// Under the body limit, but each byte is six as JSON (\u0001).
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(bytes.Repeat([]byte{1}, maxResponseBody))
	})
	mux.HandleFunc("/to-private", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://10.0.0.1/secrets", http.StatusFound)
	})
	mux.HandleFunc("/to-metadata", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
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
			err:    &wantErr{errType: ErrorTypeHTTP, nonRetryable: true, contains: []string{"larger than the limit of 1 MiB"}},
		},
		{
			name:   "body over the limit once escaped as JSON",
			params: map[string]any{"url": srv.URL + "/escaped"},
			err:    &wantErr{errType: ErrorTypeHTTP, nonRetryable: true, contains: []string{"as JSON, over the limit of 1310720 (1.25 MiB)"}},
		},
		{
			name:   "a redirect to a private address is refused",
			params: map[string]any{"url": srv.URL + "/to-private"},
			err: &wantErr{errType: ErrorTypeHTTP, nonRetryable: true,
				contains: []string{"refused to connect to 10.0.0.1 (private)", "STATEDRIVEN_HTTP_ALLOW"}},
		},
		{
			name:   "a redirect to the metadata service is refused",
			params: map[string]any{"url": srv.URL + "/to-metadata"},
			err: &wantErr{errType: ErrorTypeHTTP, nonRetryable: true,
				contains: []string{"refused to connect to 169.254.169.254 (cloud metadata)"}},
		},
		{
			name:   "redirects are followed 5 times",
			params: map[string]any{"url": srv.URL + "/loop"},
			err:    &wantErr{errType: ErrorTypeHTTP, nonRetryable: true, contains: []string{"stopped after 5 redirects"}},
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
			b := setup(t, RunnerOptions{HTTPAllow: allowLoopback})
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

// allowLoopback lets the runner's client reach the test servers, which
// listen on 127.0.0.1.
var allowLoopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

func TestHTTPGivenClient(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t)
	b := setup(t, RunnerOptions{HTTPClient: srv.Client()}) // used as it is, unguarded
	got, err := b.run(t, contract.StepInput{Action: "http", Params: map[string]any{"url": srv.URL + "/text"}})
	require.NoError(t, err)
	require.Equal(t, "ready", got.(map[string]any)["body"])
}

// TestHTTPRefused covers the addresses a definition may not reach. None
// of them needs to answer: the dialer's hook refuses before connecting.
func TestHTTPRefused(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t)
	cases := []struct {
		name     string
		url      string
		contains string
	}{
		{"loopback", srv.URL + "/text", "refused to connect to 127.0.0.1 (loopback)"},
		{"a name that resolves to loopback", "http://localhost:" + strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port) + "/text", "(loopback)"},
		{"cloud metadata", "http://169.254.169.254/latest/meta-data/", "refused to connect to 169.254.169.254 (cloud metadata)"},
		{"private", "http://10.0.0.1/", "refused to connect to 10.0.0.1 (private)"},
		{"unspecified", "http://0.0.0.0/", "refused to connect to 0.0.0.0 (unspecified)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, RunnerOptions{}) // the runner's own client
			_, err := b.run(t, contract.StepInput{Action: "http", Params: map[string]any{"url": tc.url}})
			wantErr{errType: ErrorTypeHTTP, nonRetryable: true,
				contains: []string{tc.contains, "to STATEDRIVEN_HTTP_ALLOW on the worker to allow it"}}.check(t, err)
		})
	}
}

func TestHTTPAllowed(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t)
	b := setup(t, RunnerOptions{HTTPAllow: allowLoopback})
	got, err := b.run(t, contract.StepInput{Action: "http", Params: map[string]any{"url": srv.URL + "/text"}})
	require.NoError(t, err)
	require.Equal(t, "ready", got.(map[string]any)["body"])
}

// TestHTTPOutsideRunner: the client of an action called without a Runner
// is guarded too.
func TestHTTPOutsideRunner(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t)
	_, err := httpAction(context.Background(), contract.StepInput{Action: "http", Params: map[string]any{"url": srv.URL + "/text"}})
	wantErr{errType: ErrorTypeHTTP, nonRetryable: true, contains: []string{"(loopback)"}}.check(t, err)
}

func TestAddressGuard(t *testing.T) {
	t.Parallel()
	g := addressGuard{allow: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("::1/128")}}
	cases := []struct {
		addr   string
		reason string // "" when allowed
	}{
		{"93.184.215.14", ""},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", ""},
		{"127.0.0.1", "loopback"},
		{"127.8.9.10", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::1", ""}, // allowed
		{"169.254.1.1", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"169.254.169.254", "cloud metadata"},
		{"fd00:ec2::254", "cloud metadata"},
		{"10.0.0.1", "private"},
		{"10.1.2.3", ""}, // allowed
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"172.32.0.1", ""},
		{"192.168.1.1", "private"},
		{"100.64.0.1", "private (carrier-grade NAT)"},
		{"fd12::1", "private"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
	}
	for _, tc := range cases {
		err := g.check(netip.MustParseAddr(tc.addr))
		if tc.reason == "" {
			require.NoError(t, err, tc.addr)
			continue
		}
		var refused *RefusedAddressError
		require.ErrorAs(t, err, &refused, tc.addr)
		require.Equal(t, tc.reason, refused.Reason, tc.addr)
	}
}

func TestParseHTTPAllow(t *testing.T) {
	t.Parallel()
	got, err := ParseHTTPAllow(" 127.0.0.1, 10.1.2.3/16,fd00::/8,::ffff:192.168.0.1,, ")
	require.NoError(t, err)
	require.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("fd00::/8"),
		netip.MustParsePrefix("192.168.0.1/32"),
	}, got)

	got, err = ParseHTTPAllow("")
	require.NoError(t, err)
	require.Empty(t, got)

	_, err = ParseHTTPAllow("127.0.0.1, internal.example.com, 10.0.0.0/33")
	require.EqualError(t, err, `STATEDRIVEN_HTTP_ALLOW: "internal.example.com", "10.0.0.0/33" are not an IP address or a CIDR (like 127.0.0.1, 10.1.0.0/16 or fd00::/8); host names are not accepted, give their addresses`)
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

// AllowHTTP gives a runner built before the worker read its configuration
// the allow-list (host.Run calls it through Registration.Configure); a
// client given in the options is left as it is.
func TestRunnerAllowHTTP(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(t)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	reg := NewRegistry()
	runner := NewRunner(reg, RunnerOptions{})
	runner.AllowHTTP(allowLoopback)
	runner.Register(env)
	b := &bundle{reg: reg, env: env, logs: &recordingLogger{}}
	got, err := b.run(t, contract.StepInput{Action: "http", Params: map[string]any{"url": srv.URL + "/text"}})
	require.NoError(t, err)
	require.Equal(t, "ready", got.(map[string]any)["body"])

	given := NewRunner(reg, RunnerOptions{HTTPClient: srv.Client()})
	given.AllowHTTP(nil)
	require.Same(t, srv.Client(), given.opts.HTTPClient, "a given client is not replaced")
}

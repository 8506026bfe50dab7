// Package client is what the starter command says to Temporal about
// statedriven runs: start a plan (or a redrive of a run that ended),
// describe, query, signal, update, list and wait for a run. It speaks the
// contract in package workflows, reads connection settings exactly as the
// Temporal CLI does (environment variables and the profile file, through
// envconfig), and turns Temporal's errors into ones that say what to do
// (see Error).
package client

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	sdkclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/log"
)

// Defaults used when neither a flag, the environment nor the profile file
// says otherwise; they match the Temporal CLI and the dev server.
const (
	DefaultAddress   = "127.0.0.1:7233"
	DefaultNamespace = "default"
)

// Config says where Temporal is. Empty fields come from the environment
// (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*,
// TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE) and the profile file, read the
// way the Temporal CLI reads them, so one shell serves both tools.
type Config struct {
	// Address is host:port of the Temporal frontend; it overrides
	// TEMPORAL_ADDRESS and the profile.
	Address string
	// Namespace overrides TEMPORAL_NAMESPACE and the profile.
	Namespace string
	// Identity is who the client says it is: Temporal records it on every
	// request (signals, updates, starts), and the starter sends it as the
	// "who" of its requests. Empty means the profile's, or else the SDK's
	// default (pid@host@).
	Identity string
	// Env replaces the process environment; nil reads the real one.
	Env envconfig.EnvLookup
}

// Options resolves the configuration into SDK client options: the profile
// file, then the environment, then the fields of c, then the defaults.
func (c Config) Options() (sdkclient.Options, error) {
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{EnvLookup: c.Env})
	if err != nil {
		return sdkclient.Options{}, &Error{
			Kind:    ErrConfig,
			Message: "read Temporal connection settings (TEMPORAL_* variables, profile file): " + err.Error(),
			Err:     err,
		}
	}
	if c.Address != "" {
		opts.HostPort = c.Address
	}
	if opts.HostPort == "" {
		opts.HostPort = DefaultAddress
	}
	if c.Namespace != "" {
		opts.Namespace = c.Namespace
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if c.Identity != "" {
		opts.Identity = c.Identity
	}
	if opts.Identity == "" {
		// The SDK's own default, spelt here so that the caller can send
		// the same value as the who of its requests.
		opts.Identity = fmt.Sprintf("%d@%s@", os.Getpid(), hostname())
	}
	// The SDK logs to stderr by default; a command-line tool reports
	// through its errors instead.
	opts.Logger = log.NewStructuredLogger(slog.New(slog.DiscardHandler))
	return opts, nil
}

// Client talks to one namespace of one Temporal service.
type Client struct {
	sdk       sdkclient.Client
	address   string
	namespace string
	identity  string
	tls       bool
	apiKey    bool
}

// Dial connects to Temporal and checks that it answers.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	opts, err := cfg.Options()
	if err != nil {
		return nil, err
	}
	c := &Client{
		address:   opts.HostPort,
		namespace: opts.Namespace,
		identity:  opts.Identity,
		tls:       opts.ConnectionOptions.TLS != nil,
		apiKey:    opts.Credentials != nil,
	}
	sdk, err := sdkclient.DialContext(ctx, opts)
	if err != nil {
		return nil, c.explain(err, "")
	}
	c.sdk = sdk
	return c, nil
}

// Close releases the connection.
func (c *Client) Close() { c.sdk.Close() }

// Address is the host:port the client is connected to.
func (c *Client) Address() string { return c.address }

// Namespace is the namespace the client works in.
func (c *Client) Namespace() string { return c.namespace }

// Identity is who the client says it is to Temporal (see Config.Identity).
func (c *Client) Identity() string { return c.identity }

// UserIdentity is "$USER@hostname", the identity a person at this
// machine gets by default; "" when USER is not set (getenv reads it).
func UserIdentity(getenv func(string) string) string {
	user := getenv("USER")
	if user == "" {
		return ""
	}
	return user + "@" + hostname()
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
}

func (c *Client) explain(err error, workflowID string) error {
	return Explain(err, Target{Address: c.address, Namespace: c.namespace, WorkflowID: workflowID, TLS: c.tls, APIKey: c.apiKey})
}

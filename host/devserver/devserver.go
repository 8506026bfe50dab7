// Package devserver runs a real Temporal server, with its Web UI, inside
// the process: SQLite for both the main and the visibility store (a file
// in DataDir, so runs survive a restart, or memory), one namespace with
// statedriven's search attributes, and the dynamic config that statedriven
// relies on (eager workflow start, eager activities, workflow updates)
// turned on. It is what `statedriven-worker --dev` runs, the way
// `temporal server start-dev` runs one, without a binary to download.
//
// Building it takes minutes the first time (it is the whole Temporal
// server), which is why package host reaches it only through
// host.DevServerFunc: ForHost is that function.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	"go.temporal.io/server/temporal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/statedriven/statedriven/host"
)

// Well-known ports, those of `temporal server start-dev`.
const (
	DefaultPort   = 7233
	DefaultUIPort = 8233
	// NoUI as Options.UIPort runs the server without its Web UI.
	NoUI = -1
)

// Options configure Start. The zero value is an in-memory server on free
// ports of 127.0.0.1 with its UI, namespace "default", logging nowhere;
// DefaultOptions gives the well-known ports 7233 and 8233 instead.
type Options struct {
	// DataDir holds the SQLite databases (temporal.db for the runs,
	// visibility.db for the list of them), created if need be, so that
	// runs survive a restart of the process. "" keeps everything in
	// memory.
	DataDir string
	// IP the frontend and the UI listen on. Default 127.0.0.1.
	IP string
	// Port is the frontend's gRPC port; 0 picks a free one.
	Port int
	// UIPort is the Web UI's port; 0 picks a free one, NoUI (-1) runs
	// without a UI.
	UIPort int
	// Namespace is created (if missing) with statedriven's search
	// attributes. Default "default".
	Namespace string
	// Logger receives the server's own logs. Nil discards them.
	Logger *zap.Logger
	// LogLevel drops the server's logs below it: debug, info, warn or
	// error. Default warn: the server is very chatty.
	LogLevel string
	// DynamicConfig overrides or adds dynamic config values, by key
	// ("history.maximumBufferedEventsBatch": 100). They win over the
	// ones Start sets.
	DynamicConfig map[string]any
}

// DefaultOptions are the options of `temporal server start-dev`: ports
// 7233 and 8233 on 127.0.0.1, namespace "default", in memory.
func DefaultOptions() Options {
	return Options{IP: "127.0.0.1", Port: DefaultPort, UIPort: DefaultUIPort, Namespace: "default"}
}

func (o Options) withDefaults() Options {
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.LogLevel == "" {
		o.LogLevel = "warn"
	}
	return o
}

func (o Options) validate() error {
	var problems []error
	if net.ParseIP(o.IP) == nil {
		problems = append(problems, fmt.Errorf("IP %q is not an IP address", o.IP))
	}
	if o.Port < 0 || o.Port > 65535 {
		problems = append(problems, fmt.Errorf("port %d is not a TCP port (0 picks a free one)", o.Port))
	}
	if o.UIPort < NoUI || o.UIPort > 65535 {
		problems = append(problems, fmt.Errorf("UI port %d is not a TCP port (0 picks a free one, -1 means no UI)", o.UIPort))
	}
	if o.Port != 0 && o.UIPort == o.Port {
		problems = append(problems, fmt.Errorf("port and UI port are both %d", o.Port))
	}
	if _, err := zapcore.ParseLevel(o.LogLevel); err != nil {
		problems = append(problems, fmt.Errorf("log level %q is not debug, info, warn or error", o.LogLevel))
	}
	return errors.Join(problems...)
}

// Server is a running Temporal server and its Web UI.
type Server struct {
	namespace string
	frontend  string
	uiURL     string
	server    temporal.Server
	// checkpointer is nil in memory.
	checkpointer *checkpointer
	ui           *uiserver.Server
	uiDone       chan struct{}
	logs         *logGate

	stopOnce sync.Once
	stopErr  error
}

// Start starts a server and returns once it serves: the database is
// created or upgraded, the namespace and its search attributes are
// registered, the frontend answers and the UI listens. ctx bounds the
// wait; it does not stop the server later: Stop does.
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("dev server options: %w", err)
	}
	level, _ := zapcore.ParseLevel(opts.LogLevel)
	gate := newLogGate(level)
	zl := opts.Logger.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return serverCore{c, gate} }))

	ports, err := reservePorts(opts)
	if err != nil {
		return nil, err
	}
	defer ports.releaseAll()

	// Our own messages go to the caller's logger as they are.
	dbs, err := prepareDatabases(opts.DataDir, opts.Namespace, opts.Logger)
	if err != nil {
		return nil, err
	}
	var ckpt *checkpointer
	if opts.DataDir != "" {
		if ckpt, err = startCheckpointer([]string{dbs.main.DatabaseName, dbs.visibility.DatabaseName}, opts.Logger); err != nil {
			return nil, err
		}
	}
	// The server binds them itself, some as it is built.
	ports.releaseServer()
	srv, err := newServer(opts, ports, dbs, zl)
	if err == nil {
		if err = srv.Start(); err != nil {
			gate.open(true)
			err = fmt.Errorf("start the Temporal server: %w", err)
		}
	}
	if err != nil {
		if ckpt != nil {
			ckpt.stop()
		}
		return nil, err
	}
	s := &Server{
		namespace:    opts.Namespace,
		frontend:     net.JoinHostPort(dialHost(opts.IP), strconv.Itoa(ports.frontend)),
		server:       srv,
		checkpointer: ckpt,
		logs:         gate,
	}
	// From here on, a failure stops what runs.
	fail := func(err error) (*Server, error) {
		gate.open(true) // what the server said while it failed to come up
		return nil, errors.Join(err, s.Stop())
	}
	if err := awaitReady(ctx, s.frontend, s.namespace); err != nil {
		return fail(err)
	}
	if opts.UIPort != NoUI {
		if err := s.startUI(ctx, opts, ports); err != nil {
			return fail(err)
		}
	}
	gate.open(false) // it came up: its complaints while coming up are moot
	return s, nil
}

// FrontendAddress is the host:port that clients and workers dial.
func (s *Server) FrontendAddress() string { return s.frontend }

// UIAddress is the Web UI's URL ("http://127.0.0.1:8233"), or "" when the
// server runs without one.
func (s *Server) UIAddress() string { return s.uiURL }

// Namespace is the namespace Start registered.
func (s *Server) Namespace() string { return s.namespace }

// Stop stops the UI and then the server, waiting for both. It is safe to
// call more than once; later calls return the first one's result. The
// server's logs while it stops (a stream of errors from services whose
// peers are gone) are dropped: they say nothing about a stop one asked
// for.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.logs.mute()
		if s.ui != nil {
			s.ui.Stop()
			<-s.uiDone
		}
		if err := s.server.Stop(); err != nil {
			s.stopErr = fmt.Errorf("stop the Temporal server: %w", err)
		}
		if s.checkpointer != nil {
			s.checkpointer.stop()
		}
	})
	return s.stopErr
}

// ForHost is the host.DevServerFunc that runs this server: hand it to
// host.Main (or set host.Config.DevServer) to give a worker --dev. It
// leaves the process's garbage collector alone; ForHostWithGCTuning also
// tunes it.
func ForHost(ctx context.Context, o host.DevServerOptions) (host.DevServer, error) {
	opts := DefaultOptions()
	opts.DataDir = o.DataDir
	opts.Port = o.Port
	opts.UIPort = o.UIPort
	if o.Namespace != "" {
		opts.Namespace = o.Namespace
	}
	opts.Logger = o.Logger
	s, err := Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// startUI runs the Web UI in the background and waits until it accepts
// connections.
func (s *Server) startUI(ctx context.Context, opts Options, p *ports) error {
	port := p.ui
	addr := net.JoinHostPort(opts.IP, strconv.Itoa(port))
	s.ui = newUI(opts, port, s.frontend)
	s.uiDone = make(chan struct{})
	// The UI binds the port itself, and ends the process if it cannot
	// (its Start calls Fatal): hold the port until the very last moment.
	p.releaseAll()
	go func() {
		defer close(s.uiDone)
		// Start blocks until Stop; it returns nil then.
		if err := s.ui.Start(); err != nil {
			opts.Logger.Error("the Web UI stopped", zap.Error(err))
		}
	}()
	url := "http://" + net.JoinHostPort(dialHost(opts.IP), strconv.Itoa(port))
	if err := waitHTTP(ctx, url); err != nil {
		return fmt.Errorf("the Web UI on %s did not come up: %w", addr, err)
	}
	s.uiURL = url
	return nil
}

// waitHTTP polls url until it answers, or ctx ends.
func waitHTTP(ctx context.Context, url string) error {
	hc := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/healthz", nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err == nil {
			_ = resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// dialHost is the address to dial a server bound on ip: loopback for a
// wildcard bind.
func dialHost(ip string) string {
	if parsed := net.ParseIP(ip); parsed != nil && parsed.IsUnspecified() {
		if parsed.To4() == nil {
			return "::1"
		}
		return "127.0.0.1"
	}
	return ip
}

// ForHostWithGCTuning is ForHost for a program that gives dev mode the
// garbage collector settings it was measured with (TuneGC): the worker's
// and the examples' main choose it. The settings are the whole process's,
// the worker's activities included, so a program that embeds the dev
// server beside other work may prefer ForHost.
func ForHostWithGCTuning(ctx context.Context, o host.DevServerOptions) (host.DevServer, error) {
	TuneGC(o.Logger)
	return ForHost(ctx, o)
}

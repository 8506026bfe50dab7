package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
)

// readyTimeout bounds each of /readyz's checks.
const readyTimeout = 2 * time.Second

// endpoints is the worker's HTTP server: /metrics, /healthz and /readyz.
type endpoints struct {
	srv      *http.Server
	listener net.Listener
	deps     atomic.Pointer[dependencies]
}

// dependencies are what /readyz checks; nil until the worker has started.
type dependencies struct {
	temporal client.Client
	redis    redis.UniversalClient // nil: none configured
}

// Readiness is /readyz's answer (200 when Ready, else 503).
type Readiness struct {
	Ready    bool   `json:"ready"`
	Temporal string `json:"temporal"`
	Redis    string `json:"redis"`
}

// serveEndpoints listens on cfg.HTTPAddress and serves until stop is
// called. /healthz answers 200 while the process serves; /readyz 200
// once the workers have started and while Temporal and, when configured,
// Redis answer.
func serveEndpoints(cfg Config, t *telemetry, log *zap.Logger) (*endpoints, error) {
	ln, err := net.Listen("tcp", cfg.HTTPAddress)
	if err != nil && cfg.Dev && cfg.HTTPAddress == DefaultDevHTTPAddress {
		// Dev mode's default port is taken (another dev worker, say):
		// any free port will do, and the worker says which.
		log.Warn("the dev mode's metrics port is taken: serving on another", zap.String("wanted", cfg.HTTPAddress), zap.Error(err))
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, fmt.Errorf("serve /metrics and health on %s (--http-address, %s): %w", cfg.HTTPAddress, EnvHTTPAddress, err)
	}
	e := &endpoints{listener: ln}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{ErrorLog: zap.NewStdLog(log)}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", e.ready)
	e.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := e.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("the HTTP endpoints stopped", zap.Error(err))
		}
	}()
	return e, nil
}

// Addr is where the endpoints listen (the port chosen, for :0).
func (e *endpoints) Addr() string { return e.listener.Addr().String() }

func (e *endpoints) ready(w http.ResponseWriter, r *http.Request) {
	rd := e.check(r.Context())
	w.Header().Set("Content-Type", "application/json")
	if !rd.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(rd)
}

func (e *endpoints) check(ctx context.Context) Readiness {
	d := e.deps.Load()
	if d == nil {
		return Readiness{Temporal: "starting", Redis: "starting"}
	}
	rd := Readiness{Ready: true, Temporal: "ok", Redis: "not configured"}
	tctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if _, err := d.temporal.CheckHealth(tctx, &client.CheckHealthRequest{}); err != nil {
		rd.Ready, rd.Temporal = false, err.Error()
	}
	if d.redis != nil {
		rctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		if err := d.redis.Ping(rctx).Err(); err != nil {
			rd.Ready, rd.Redis = false, err.Error()
		} else {
			rd.Redis = "ok"
		}
	}
	return rd
}

func (e *endpoints) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.srv.Shutdown(ctx)
}

// probe asks the worker at addr whether it is ready: ExitOK if /readyz
// answers 200, ExitFailed otherwise, with the answer on out.
func probe(addr string, out io.Writer) int {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		fmt.Fprintf(out, "not ready: %v\n", err)
		return ExitFailed
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	c := http.Client{Timeout: 2*readyTimeout + time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(host, port) + "/readyz")
	if err != nil {
		fmt.Fprintf(out, "not ready: %v\n", err)
		return ExitFailed
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Fprintf(out, "%s", body)
	if resp.StatusCode != http.StatusOK {
		return ExitFailed
	}
	return ExitOK
}

package host

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestRunRefusesBadConfig(t *testing.T) {
	t.Parallel()

	err := Run(context.Background(), Config{Dev: true, LogFormat: "xml"}, Registration{}, nil)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	require.Len(t, ce.Problems, 2, "the missing dev server and the log format")

	require.EqualError(t, Run(context.Background(), Config{}, nil, nil),
		"host.Run: the Registrar is nil; pass one that registers the workflows and activities")
}

func TestRunCancelledWhileConnectingIsAStop(t *testing.T) {
	t.Parallel()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	core, logs := observer.New(zap.InfoLevel)
	// Nothing listens on port 1: only the cancelled context ends the dial.
	err := Run(ctx, Config{Client: clientAt("127.0.0.1:1")}, Registration{}, zap.New(core))
	require.NoError(t, err)
	require.Equal(t, 1, logs.FilterMessage("stopped while starting").Len())
}

func TestRunDevModeFailsWhenTheDevServerDoes(t *testing.T) {
	t.Parallel()

	var stdout bytes.Buffer
	err := Run(context.Background(), Config{Dev: true, DevServer: noDev, Stdout: &stdout}, Registration{}, nil)
	require.EqualError(t, err, "start the dev server: no dev server in this test")
	require.Empty(t, stdout.String())
}

func TestMainExitCodes(t *testing.T) {
	// Main reads the process's environment: no t.Parallel with t.Setenv.
	t.Setenv("TEMPORAL_CONFIG_FILE", t.TempDir()+"/none.toml")
	for _, name := range []string{EnvTaskQueue, EnvSpecialists, EnvDev, EnvDevPort, EnvDevUIPort, EnvLogLevel, EnvLogFormat,
		EnvMaxConcurrentActivities, EnvMaxConcurrentWorkflowTasks, EnvDevDataDir} {
		t.Setenv(name, "")
	}

	tests := []struct {
		name       string
		args       []string
		code       int
		wantStdout string
		wantStderr string
	}{
		{"help", []string{"-h"}, ExitOK, "-task-queue", ""},
		{"unknown flag", []string{"--bogus"}, ExitUsage, "", "flag provided but not defined: -bogus\nRun with -h for the flags.\n"},
		{"bad value", []string{"--log-level", "loud"}, ExitUsage, "", `log level "loud" is not one of debug, info, warn, error`},
		{"dev without a dev server", []string{"--dev"}, ExitUsage, "", "pass devserver.ForHost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), tt.args, &stdout, &stderr, Registration{}, nil)
			require.Equal(t, tt.code, code, "stderr: %s", stderr.String())
			require.Contains(t, stdout.String(), tt.wantStdout)
			require.Contains(t, stderr.String(), tt.wantStderr)
		})
	}

	t.Run("failure", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), []string{"--dev", "--log-format=json"}, &stdout, &stderr, Registration{}, noDev)
		require.Equal(t, ExitFailed, code)
		require.Contains(t, stderr.String(), `"msg":"worker failed","error":"start the dev server: no dev server in this test"`)
	})
}

func clientAt(hostPort string) client.Options { return client.Options{HostPort: hostPort} }

func TestHealthProbe(t *testing.T) {
	t.Parallel()
	var ready atomic.Bool
	ready.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || !ready.Load() {
			http.Error(w, `{"ready":false}`, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, `{"ready":true}`)
	}))
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)

	var out bytes.Buffer
	require.Equal(t, ExitOK, probe("0.0.0.0:"+port, &out), "0.0.0.0 is asked on 127.0.0.1")
	require.Contains(t, out.String(), `"ready":true`)
	ready.Store(false)
	require.Equal(t, ExitFailed, probe(":"+port, &out))
	require.Equal(t, ExitFailed, probe("127.0.0.1:1", &out), "nothing listens")
	require.Contains(t, out.String(), "not ready")
}

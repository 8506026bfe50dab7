package host

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"
)

// Exit codes of Main.
const (
	ExitOK     = 0 // stopped by its context, or --help
	ExitFailed = 1 // the worker failed: Temporal unreachable, a worker's fatal error, …
	ExitUsage  = 2 // bad flags, variables or configuration
)

// Main is a worker program's whole body: it reads the flags in args
// (without the program name) and the environment into a Config, builds
// the logger (on stderr), runs the worker until ctx is cancelled and
// returns the exit code. Dev mode uses dev, which may be nil for a program
// that has no use for it; pass devserver.ForHost to have it. The caller
// owns the signals: it cancels ctx on SIGINT or SIGTERM
// (signal.NotifyContext).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, reg Registrar, dev DevServerFunc) int {
	cfg, err := LoadConfig(args, os.Environ(), stdout)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case err != nil:
		fmt.Fprintf(stderr, "%v\nRun with -h for the flags.\n", err)
		return ExitUsage
	}
	if cfg.HealthProbe {
		if cfg = cfg.WithDefaults(); cfg.HTTPAddress == "" {
			fmt.Fprintf(stderr, "--health-probe asks the worker's /readyz: set --http-address or %s as the worker has it\n", EnvHTTPAddress)
			return ExitUsage
		}
		return probe(cfg.HTTPAddress, stdout)
	}
	cfg.DevServer = dev
	cfg.Stdout = stdout

	defaults := cfg.WithDefaults()
	log, err := NewLogger(defaults.LogLevel, defaults.LogFormat, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bad configuration: %v\n", err)
		return ExitUsage
	}
	defer func() { _ = log.Sync() }()

	if err := Run(ctx, cfg, reg, log); err != nil {
		if _, ok := errors.AsType[*ConfigError](err); ok {
			fmt.Fprintf(stderr, "%v\nRun with -h for the flags.\n", err)
			return ExitUsage
		}
		log.Error("worker failed", zap.Error(err))
		return ExitFailed
	}
	return ExitOK
}

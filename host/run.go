package host

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/projection"
)

// Run serves cfg's task queues until ctx is cancelled, then stops
// gracefully (workers, client, dev server, in that order) and returns nil.
//
// It applies cfg.WithDefaults and validates (a *ConfigError if that
// fails). In dev mode it starts cfg.DevServer and prints the Web UI's and
// the frontend's addresses; otherwise it dials cfg.Client. It registers
// statedriven's search attributes where the server allows, and warns, with
// the commands to add them by hand, where it does not. Then it starts one
// worker on cfg.TaskQueue with reg's workflows and activities, and one per
// specialist with its activities only. Eager workflow start and eager
// activity execution stay on: the SDK uses them whenever the server allows.
//
// A worker that fails for good (the namespace deleted, say) ends Run with
// its error. log receives Run's own logs, the SDK's (unless cfg.Client
// has a Logger) and the dev server's; nil discards them.
func Run(ctx context.Context, cfg Config, reg Registrar, log *zap.Logger) (err error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return err
	}
	if reg == nil {
		return errors.New("host.Run: the Registrar is nil; pass one that registers the workflows and activities")
	}
	if log == nil {
		log = zap.NewNop()
	}
	// A cancelled ctx during start-up is a stop, not a failure.
	stopped := func(err error) error {
		if ctx.Err() != nil {
			log.Info("stopped while starting", zap.Error(err))
			return nil
		}
		return err
	}

	tel, err := newTelemetry(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if serr := tel.shutdown(sctx); serr != nil {
			log.Warn("telemetry did not stop cleanly", zap.Error(serr))
		}
	}()
	opts := cfg.Client
	if cfg.Dev {
		dev, err := startDev(ctx, cfg, log)
		if err != nil {
			return stopped(err)
		}
		defer func() {
			if stopErr := dev.Stop(); stopErr != nil {
				err = errors.Join(err, fmt.Errorf("stop the dev server: %w", stopErr))
			}
		}()
		// The dev server speaks plain gRPC without credentials: whatever
		// a profile or TEMPORAL_* variables said about Temporal is for
		// another server.
		if opts.HostPort != client.DefaultHostPort {
			log.Info("dev mode: using the dev server, not the configured Temporal", zap.String("ignored_address", opts.HostPort))
		}
		opts.HostPort = dev.FrontendAddress()
		opts.Credentials = nil
		opts.ConnectionOptions.TLS = nil
	}
	var web *endpoints
	if cfg.HTTPAddress != "" {
		if web, err = serveEndpoints(cfg, tel, log); err != nil {
			return stopped(err)
		}
		defer web.stop()
		log.Info("serving metrics and health", zap.String("metrics", "http://"+web.Addr()+"/metrics"),
			zap.String("healthz", "http://"+web.Addr()+"/healthz"), zap.String("readyz", "http://"+web.Addr()+"/readyz"))
		if cfg.Stdout != nil {
			fmt.Fprintf(cfg.Stdout, "Metrics: http://%s/metrics (health: /healthz, /readyz)\n", web.Addr())
		}
	}

	if opts.Logger == nil {
		opts.Logger = NewSDKLogger(log.Named("sdk"))
	}
	if err := tel.clientOptions(&opts, log); err != nil {
		return err
	}

	// What the connection uses, never its secrets' values.
	log.Debug("connecting to Temporal", zap.String("address", opts.HostPort), zap.String("namespace", opts.Namespace),
		zap.Bool("tls", opts.ConnectionOptions.TLS != nil), zap.Bool("credentials", opts.Credentials != nil))
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return stopped(fmt.Errorf("connect to Temporal at %s (namespace %q): %w", opts.HostPort, opts.Namespace, err))
	}
	defer c.Close()

	if err := RegisterSearchAttributes(ctx, c.OperatorService(), opts.Namespace); err != nil {
		if !errors.Is(err, ErrSearchAttributesRefused) {
			return stopped(fmt.Errorf("register search attributes: %w", err))
		}
		log.Warn(searchAttributesHelp(opts.Namespace), zap.String("namespace", opts.Namespace), zap.Error(err))
	}

	project, rdb, closeRedis, err := startProjection(ctx, cfg, tel, log)
	if err != nil {
		return stopped(err)
	}
	defer closeRedis()
	tel.watchRuns(c, opts.Namespace, log)

	// A worker's fatal error ends Run; one is enough.
	fatal := make(chan error, 1)
	workers, err := startWorkers(c, cfg, reg, project, fatal)
	if err != nil {
		return stopped(err)
	}
	defer func() {
		for _, w := range slices.Backward(workers) {
			w.Stop()
		}
	}()

	specialistQueues := make([]string, len(cfg.Specialists))
	for i, s := range cfg.Specialists {
		specialistQueues[i] = contract.SpecialistQueue(cfg.TaskQueue, s)
	}
	if web != nil {
		web.deps.Store(&dependencies{temporal: c, redis: rdb})
	}
	log.Info("worker started",
		zap.String("address", opts.HostPort),
		zap.String("namespace", opts.Namespace),
		zap.String("task_queue", cfg.TaskQueue),
		zap.Strings("specialist_queues", specialistQueues))

	select {
	case <-ctx.Done():
		log.Info("stopping: finishing the tasks in hand")
		return nil
	case err := <-fatal:
		return err
	}
}

// startDev starts the dev server and tells a person where it is.
func startDev(ctx context.Context, cfg Config, log *zap.Logger) (DevServer, error) {
	dir, err := filepath.Abs(cfg.DevDataDir)
	if err != nil {
		return nil, fmt.Errorf("dev data dir %q: %w", cfg.DevDataDir, err)
	}
	log.Info("starting the dev server", zap.String("data_dir", dir))
	dev, err := cfg.DevServer(ctx, DevServerOptions{
		DataDir:   dir,
		Port:      cfg.DevPort,
		UIPort:    cfg.DevUIPort,
		Namespace: cfg.Client.Namespace,
		Logger:    log.Named("temporal"),
	})
	if err != nil {
		return nil, fmt.Errorf("start the dev server: %w", err)
	}
	log.Info("dev server started",
		zap.String("frontend", dev.FrontendAddress()),
		zap.String("web_ui", dev.UIAddress()),
		zap.String("namespace", cfg.Client.Namespace),
		zap.String("data_dir", dir))
	if cfg.Stdout != nil {
		if ui := dev.UIAddress(); ui != "" {
			fmt.Fprintf(cfg.Stdout, "Temporal Web UI: %s\n", ui)
		}
		fmt.Fprintf(cfg.Stdout, "Temporal frontend: %s (namespace %s)\n", dev.FrontendAddress(), cfg.Client.Namespace)
	}
	return dev, nil
}

// startWorkers starts the main queue's worker and the specialists'. On
// error it stops those already started.
func startWorkers(c client.Client, cfg Config, reg Registrar, project projection.ProjectFunc, fatal chan<- error) (_ []worker.Worker, err error) {
	var started []worker.Worker
	defer func() {
		if err != nil {
			for _, w := range slices.Backward(started) {
				w.Stop()
			}
		}
	}()
	options := func(queue string) worker.Options {
		return worker.Options{
			MaxConcurrentActivityExecutionSize:     cfg.MaxConcurrentActivities,
			MaxConcurrentWorkflowTaskExecutionSize: cfg.MaxConcurrentWorkflowTasks,
			OnFatalError: func(err error) {
				select {
				case fatal <- fmt.Errorf("worker on task queue %q: %w", queue, err):
				default:
				}
			},
		}
	}
	start := func(queue string, o worker.Options, register func(worker.Registry)) error {
		w := worker.New(c, queue, o)
		if err := registerSafely(queue, register, w); err != nil {
			return err
		}
		if err := w.Start(); err != nil {
			return fmt.Errorf("start the worker on task queue %q: %w", queue, err)
		}
		started = append(started, w)
		return nil
	}

	if c, ok := reg.(interface{ ConfigureWith(Config) }); ok {
		c.ConfigureWith(cfg)
	}
	if err := start(cfg.TaskQueue, options(cfg.TaskQueue), func(w worker.Registry) {
		reg.RegisterWorkflows(w)
		reg.RegisterActivities(w)
		projection.Register(w, project)
	}); err != nil {
		return nil, err
	}
	for _, s := range cfg.Specialists {
		queue := contract.SpecialistQueue(cfg.TaskQueue, s)
		o := options(queue)
		// Only steps are sent to a specialist's queue: no workflow
		// poller there.
		o.DisableWorkflowWorker = true
		if err := start(queue, o, func(w worker.Registry) { reg.RegisterActivities(w) }); err != nil {
			return nil, err
		}
	}
	return started, nil
}

// registerSafely turns the SDK's panics on bad registrations (the same
// name twice, a function that is not one) into an error naming the queue.
func registerSafely(queue string, register func(worker.Registry), w worker.Registry) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("register workflows and activities on task queue %q: %v", queue, r)
		}
	}()
	register(w)
	return nil
}

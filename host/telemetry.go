package host

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	"go.uber.org/zap"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/projection"
	"github.com/statedriven/statedriven/statemachine"
)

// serviceName names the worker's traces unless OTEL_SERVICE_NAME does.
const serviceName = "statedriven-worker"

// durationBuckets are the bounds, in seconds, of every duration
// histogram: the SDK's latencies and a step's duration, from a
// millisecond to ten minutes. OpenTelemetry's default bounds (0 to
// 10,000) are meant for milliseconds.
var durationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// telemetry is what a worker process reports: the metrics /metrics
// serves (the SDK's and statedriven's, through the SDK's OpenTelemetry
// handler and OpenTelemetry's Prometheus exporter, plus the process's and
// the host's own collectors) and, when an OTLP endpoint is configured, its
// traces.
type telemetry struct {
	registry *prometheus.Registry
	meters   *sdkmetric.MeterProvider
	tracer   *sdktrace.TracerProvider // nil: no tracing
	backlog  *backlog
	lag      prometheus.Histogram
	failures prometheus.Counter
}

// newTelemetry builds the metrics when cfg serves them (HTTPAddress) and
// the tracing when cfg names an OTLP endpoint; either may be off.
func newTelemetry(ctx context.Context, cfg Config) (*telemetry, error) {
	t := &telemetry{}
	if cfg.HTTPAddress != "" {
		t.registry = prometheus.NewRegistry()
		exporter, err := otelprom.New(otelprom.WithRegisterer(t.registry), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
		if err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
		t.meters = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter),
			sdkmetric.WithView(sdkmetric.NewView(sdkmetric.Instrument{Unit: "s"},
				sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: durationBuckets}})))
		t.backlog = &backlog{runs: map[string]pending{}}
		t.lag = prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    contract.MetricProjectionLag,
			Help:    "Time from a record to its write into Redis, per batch (its oldest record).",
			Buckets: durationBuckets,
		})
		t.failures = prometheus.NewCounter(prometheus.CounterOpts{
			Name: contract.MetricProjectionFailures,
			Help: "Writes into Redis that failed (the run tries again with everything that piled up).",
		})
		t.registry.MustRegister(
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
			t.lag, t.failures,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: contract.MetricProjectionBacklog,
				Help: "Records this worker's runs have made and not yet written into Redis.",
			}, t.backlog.total),
		)
	}
	if cfg.OTLPEndpoint != "" {
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(cfg.OTLPEndpoint)}
		if strings.Contains(cfg.OTLPEndpoint, "://") {
			opts = []otlptracegrpc.Option{otlptracegrpc.WithEndpointURL(cfg.OTLPEndpoint)}
		}
		exporter, err := otlptracegrpc.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("tracing: OTLP exporter for %s: %w", cfg.OTLPEndpoint, err)
		}
		res, err := resource.Merge(resource.NewSchemaless(semconv.ServiceName(serviceName)), resource.Environment())
		if err != nil {
			return nil, fmt.Errorf("tracing: resource: %w", err)
		}
		t.tracer = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	}
	return t, nil
}

// clientOptions adds the SDK's metrics handler and tracing interceptor
// to opts, as configured.
func (t *telemetry) clientOptions(opts *client.Options, log *zap.Logger) error {
	if t.meters != nil && opts.MetricsHandler == nil {
		opts.MetricsHandler = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
			Meter:                t.meters.Meter("statedriven"),
			UseMonotonicCounters: true,
			// A metric the meter refuses is logged, never a panic in a
			// workflow task.
			OnError: func(err error) { log.Warn("metric refused", zap.Error(err)) },
		})
	}
	if t.tracer != nil {
		tracing, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{Tracer: t.tracer.Tracer("statedriven")})
		if err != nil {
			return fmt.Errorf("tracing: %w", err)
		}
		opts.Interceptors = append([]interceptor.ClientInterceptor{tracing}, opts.Interceptors...)
	}
	return nil
}

// instrumentRedis traces rdb's commands, without their arguments (a
// command may carry a password).
func (t *telemetry) instrumentRedis(rdb redis.UniversalClient) error {
	if t.tracer == nil {
		return nil
	}
	return redisotel.InstrumentTracing(rdb, redisotel.WithTracerProvider(t.tracer), redisotel.WithDBStatement(false))
}

// instrumentProjection measures the projection's writes: the lag of each
// batch, the failures, and the records each run still has to write.
func (t *telemetry) instrumentProjection(project projection.ProjectFunc) projection.ProjectFunc {
	if t.registry == nil {
		return project
	}
	return func(ctx context.Context, b contract.ProjectionBatch) (contract.ProjectionResult, error) {
		res, err := project(ctx, b)
		id := b.Progress.WorkflowID
		if err != nil {
			t.failures.Inc()
			t.backlog.set(id, len(b.Records))
			return res, err
		}
		t.backlog.set(id, 0)
		if len(b.Records) > 0 {
			t.lag.Observe(time.Since(b.Records[0].At).Seconds())
		}
		return res, nil
	}
}

// watchRuns adds the gauge of runs by state, counted by the visibility
// store when /metrics is scraped (at most every runsEvery).
func (t *telemetry) watchRuns(c client.Client, namespace string, log *zap.Logger) {
	if t.registry == nil {
		return
	}
	t.registry.MustRegister(&runsByState{client: c, namespace: namespace, log: log})
}

// shutdown flushes the traces and stops the exporters.
func (t *telemetry) shutdown(ctx context.Context) error {
	var errs []error
	if t.tracer != nil {
		errs = append(errs, t.tracer.Shutdown(ctx))
	}
	if t.meters != nil {
		errs = append(errs, t.meters.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// backlog is what each run on this worker has yet to write into Redis,
// as its last write left it. A run that moved to another worker, or
// ended, leaves its entry behind: an entry older than backlogExpiry (well
// over the projector's longest wait between tries) no longer counts.
type backlog struct {
	mu   sync.Mutex
	runs map[string]pending
}

type pending struct {
	records int
	at      time.Time
}

const backlogExpiry = 2 * time.Minute

func (b *backlog) set(id string, records int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if records == 0 {
		delete(b.runs, id)
		return
	}
	b.runs[id] = pending{records: records, at: time.Now()}
}

func (b *backlog) total() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for id, p := range b.runs {
		if time.Since(p.at) > backlogExpiry {
			delete(b.runs, id)
			continue
		}
		n += p.records
	}
	return float64(n)
}

// runsEvery is how long a count of runs by state is reused: each count
// is a query per state to the visibility store.
const runsEvery = 10 * time.Second

// runsByState is contract.MetricRuns, from the visibility store's counts
// of the WorkflowState search attribute.
type runsByState struct {
	client    client.Client
	namespace string
	log       *zap.Logger

	mu     sync.Mutex
	at     time.Time
	counts map[statemachine.State]int64
}

var runsDesc = prometheus.NewDesc(contract.MetricRuns,
	"Runs by state, as the visibility store counts them: open runs for the open states, every run the namespace keeps for COMPLETE, FAILED and CANCELLED. Every worker of a namespace reports the same counts.",
	[]string{"state"}, nil)

func (r *runsByState) Describe(ch chan<- *prometheus.Desc) { ch <- runsDesc }

func (r *runsByState) Collect(ch chan<- prometheus.Metric) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.at) > runsEvery {
		r.count()
	}
	for _, s := range statemachine.States() {
		if n, ok := r.counts[s]; ok {
			ch <- prometheus.MustNewConstMetric(runsDesc, prometheus.GaugeValue, float64(n), s.String())
		}
	}
}

// count asks the visibility store; a state it cannot count (the search
// attribute missing, the server away) is left out until the next try.
func (r *runsByState) count() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.counts = map[statemachine.State]int64{}
	r.at = time.Now()
	for _, s := range statemachine.States() {
		q := fmt.Sprintf("%s = %q", contract.StateAttribute, s.String())
		if !s.Terminal() {
			q += ` AND ExecutionStatus = "Running"`
		}
		resp, err := r.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: r.namespace, Query: q})
		if err != nil {
			r.log.Debug("cannot count runs by state", zap.String("state", s.String()), zap.Error(err))
			continue
		}
		r.counts[s] = resp.GetCount()
	}
}

package projection

import (
	"cmp"
	"context"
	"fmt"
	"net/url"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/statedriven/statedriven/contract"
)

// Discard is the projection of a worker without Redis: it writes nothing
// and answers every batch as written, so runs go on as they would with a
// mirror and keep the same history.
func Discard(_ context.Context, b contract.ProjectionBatch) (contract.ProjectionResult, error) {
	return contract.ProjectionResult{Seq: b.Progress.Seq}, nil
}

// Register registers project (Writer.Project, or Discard) on w as the
// local activity through which runs mirror themselves,
// contract.ProjectActivityName. Every worker that runs
// StateDrivenWorkflow needs it.
func Register(w worker.ActivityRegistry, project func(context.Context, contract.ProjectionBatch) (contract.ProjectionResult, error)) {
	w.RegisterActivityWithOptions(project, activity.RegisterOptions{Name: contract.ProjectActivityName})
}

// Redacted is c's URL with its passwords replaced, for logs.
func (c Config) Redacted() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return "(a REDIS_URL that does not parse)"
	}
	return redactedURL(u)
}

// WriterClient is Client for a worker's writes: unless the URL says
// otherwise, a failed command is not retried and a failed dial is not
// tried again, since the run itself tries again later with everything
// that piled up. So a Redis that is down costs a run's workflow task one
// refused dial, not go-redis's retries.
func (c Config) WriterClient() (redis.UniversalClient, error) {
	conn, err := parseURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvURL, err)
	}
	switch {
	case conn.single != nil:
		conn.single.MaxRetries = cmp.Or(conn.single.MaxRetries, -1)
		conn.single.DialerRetries = cmp.Or(conn.single.DialerRetries, 1)
	case conn.failover != nil:
		conn.failover.MaxRetries = cmp.Or(conn.failover.MaxRetries, -1)
		conn.failover.DialerRetries = cmp.Or(conn.failover.DialerRetries, 1)
	case conn.cluster != nil:
		conn.cluster.MaxRetries = cmp.Or(conn.cluster.MaxRetries, -1)
	}
	return conn.client(), nil
}

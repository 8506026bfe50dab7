package host

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/statedriven/statedriven/projection"
)

// startProjection connects to the Redis of cfg.Redis and returns the
// writer that runs mirror themselves through, and a function that closes
// the connection. Without cfg.Redis it says once that runs are not
// mirrored and returns projection.Discard. A Redis that does not answer
// at start is not an error: runs go on and their mirrors catch up once it
// answers.
//
// The client it returns (nil without Redis) is for /readyz; t traces it
// and measures the writes.
func startProjection(ctx context.Context, cfg Config, t *telemetry, log *zap.Logger) (projection.ProjectFunc, redis.UniversalClient, func(), error) {
	if cfg.Redis == nil {
		log.Info("no Redis configured (" + projection.EnvURL + "): runs are not mirrored into Redis, and the starter reads from Temporal")
		return projection.Discard, nil, func() {}, nil
	}
	rdb, err := cfg.Redis.WriterClient()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", projection.EnvURL, err)
	}
	if err := t.instrumentRedis(rdb); err != nil {
		_ = rdb.Close()
		return nil, nil, nil, fmt.Errorf("trace Redis: %w", err)
	}
	opts := cfg.Redis.Options.WithDefaults()
	fields := []zap.Field{
		zap.String("redis", cfg.Redis.Redacted()),
		zap.String("prefix", opts.Prefix),
		zap.Duration("ttl", opts.TTL),
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		log.Warn("Redis does not answer: runs go on, and their mirrors catch up once it does", append(fields, zap.Error(err))...)
	} else {
		log.Info("mirroring runs into Redis", fields...)
	}
	w := projection.NewWriter(rdb, opts)
	return t.instrumentProjection(w.Project), rdb, func() { _ = rdb.Close() }, nil
}

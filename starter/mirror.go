package main

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/statedriven/statedriven/projection"
)

// Sources of a read: the workflow itself (its queries, through Temporal)
// or the Redis projection, which answers the same JSON without Temporal.
const (
	sourceTemporal = "temporal"
	sourceRedis    = "redis"
)

// redisTimeout bounds one read of the mirror, so that a Redis that does
// not answer turns into a fallback to Temporal rather than a hang.
const redisTimeout = 3 * time.Second

// mirror is the Redis projection a command reads.
type mirror struct {
	cfg    projection.Config
	rdb    redis.UniversalClient
	reader *projection.Reader
}

func (m *mirror) close() { _ = m.rdb.Close() }

// addSourceFlag adds --source to a read command.
func addSourceFlag(cmd *cobra.Command, source *string) {
	cmd.Flags().StringVar(source, "source", "",
		"where to read: redis (the projection; the default when REDIS_URL is set) or temporal (the workflow, through Temporal)")
}

// redisConfig reads the Redis variables; ok is false when REDIS_URL is
// unset. A bad value is bad usage (exit 2); the message never shows a
// password.
func (g *globals) redisConfig() (projection.Config, bool, error) {
	cfg, ok, err := projection.ConfigFromEnv(g.getenv)
	if err != nil {
		return projection.Config{}, false, badInput("%v", err)
	}
	return cfg, ok, nil
}

// openMirror decides where a read command reads from its --source flag
// ("" for the default) and the environment: a mirror for redis, nil for
// temporal. The caller closes the mirror.
func (g *globals) openMirror(source string) (*mirror, error) {
	cfg, ok, err := g.redisConfig()
	if err != nil {
		return nil, err
	}
	switch source {
	case "":
		if !ok {
			return nil, nil
		}
	case sourceTemporal:
		return nil, nil
	case sourceRedis:
		if !ok {
			return nil, badInput("--source redis needs the mirror's address: set %s (redis://host:port/0)", projection.EnvURL)
		}
	default:
		return nil, badInput("unknown --source %q: use redis or temporal", source)
	}
	return g.newMirror(cfg)
}

func (g *globals) newMirror(cfg projection.Config) (*mirror, error) {
	rdb, err := cfg.Client()
	if err != nil {
		return nil, badInput("%v", err)
	}
	return &mirror{cfg: cfg, rdb: rdb, reader: projection.NewReader(rdb, cfg.Options)}, nil
}

// fallBack says on stderr why a read of id goes to Temporal after all:
// Redis does not have the run, or does not answer.
func (g *globals) fallBack(m *mirror, id string, err error) {
	if errors.Is(err, projection.ErrNotFound) {
		g.warn("run %s is not in Redis (expired, or never mirrored): reading from Temporal", id)
		return
	}
	g.warn("Redis at %s does not answer (%v): reading from Temporal", m.cfg.Redacted(), err)
}

// interrupted reports whether err is the command's own context ending,
// which is no reason to fall back.
func interrupted(ctx context.Context, err error) bool {
	return ctx.Err() != nil && errors.Is(err, ctx.Err())
}

// readCtx bounds one read of the mirror.
func readCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, redisTimeout)
}

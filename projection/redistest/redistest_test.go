package redistest_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/statedriven/statedriven/projection/redistest"
)

func TestServerRestart(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	opt, err := redis.ParseURL(s.URL())
	require.NoError(t, err)
	require.Equal(t, s.Addr(), opt.Addr)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	require.NoError(t, rdb.Set(t.Context(), "k", "v", 0).Err())

	s.Stop()
	require.Error(t, rdb.Ping(t.Context()).Err())
	s.Stop() // stopping twice is fine

	s.Start()
	require.NoError(t, rdb.Ping(t.Context()).Err(), "same address after a restart")
	_, err = rdb.Get(t.Context(), "k").Result()
	require.ErrorIs(t, err, redis.Nil, "nothing survives a restart")
}

func TestCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t)
	require.Len(t, c.Addrs(), 3)
	opt, err := redis.ParseClusterURL(c.URL())
	require.NoError(t, err)
	require.Equal(t, c.Addrs(), opt.Addrs)
	rdb := redis.NewClusterClient(opt)
	defer rdb.Close()
	shards, err := rdb.ClusterShards(t.Context()).Result()
	require.NoError(t, err)
	require.Len(t, shards, 3)
}

package projection

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	env := func(vars map[string]string) func(string) string {
		return func(name string) string { return vars[name] }
	}

	t.Run("unset REDIS_URL means no mirror", func(t *testing.T) {
		t.Parallel()
		c, ok, err := ConfigFromEnv(env(nil))
		require.NoError(t, err)
		require.False(t, ok)
		require.Equal(t, Config{}, c)
	})

	t.Run("options", func(t *testing.T) {
		t.Parallel()
		c, ok, err := ConfigFromEnv(env(map[string]string{
			EnvURL:        "redis://localhost:6379/0",
			EnvPrefix:     "sd",
			EnvTTL:        "90m",
			EnvHistoryMax: "-1",
		}))
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, Config{URL: "redis://localhost:6379/0", Options: Options{Prefix: "sd", TTL: 90 * time.Minute, MaxHistory: -1}}, c)
	})

	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		c, ok, err := ConfigFromEnv(env(map[string]string{EnvURL: "redis://localhost:6379"}))
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, Options{Prefix: "wf", TTL: 24 * time.Hour, MaxHistory: 10000}, c.WithDefaults())
	})

	t.Run("every bad variable is named, the password never", func(t *testing.T) {
		t.Parallel()
		_, ok, err := ConfigFromEnv(env(map[string]string{
			EnvURL:        "redis://user:s3cret@localhost:6379/0?dial_timeout=soon&password=s3cret",
			EnvPrefix:     "a{b}",
			EnvTTL:        "a day",
			EnvHistoryMax: "many",
		}))
		require.False(t, ok)
		for _, name := range []string{EnvURL, EnvPrefix, EnvTTL, EnvHistoryMax} {
			require.ErrorContains(t, err, name)
		}
		require.NotContains(t, err.Error(), "s3cret")
	})

	t.Run("TTL must be positive", func(t *testing.T) {
		t.Parallel()
		_, _, err := ConfigFromEnv(env(map[string]string{EnvURL: "redis://localhost", EnvTTL: "0s"}))
		require.ErrorContains(t, err, EnvTTL)
	})
}

func TestParseURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		url   string
		check func(t *testing.T, conn connection)
	}{
		{"redis://localhost:6379/2", func(t *testing.T, conn connection) {
			require.NotNil(t, conn.single)
			require.Equal(t, "localhost:6379", conn.single.Addr)
			require.Equal(t, 2, conn.single.DB)
			require.Nil(t, conn.single.TLSConfig)
		}},
		{"rediss://user:pa%40ss@cache.example:6380", func(t *testing.T, conn connection) {
			require.NotNil(t, conn.single)
			require.Equal(t, "user", conn.single.Username)
			require.Equal(t, "pa@ss", conn.single.Password)
			require.NotNil(t, conn.single.TLSConfig)
			require.Equal(t, "cache.example", conn.single.TLSConfig.ServerName)
		}},
		{"redis://:pw@localhost?dial_timeout=3s", func(t *testing.T, conn connection) {
			require.NotNil(t, conn.single)
			require.Equal(t, "pw", conn.single.Password)
			require.Equal(t, 3*time.Second, conn.single.DialTimeout)
		}},
		{"redis://u:p@n1:7000?addr=n2:7001&addr=n3:7002", func(t *testing.T, conn connection) {
			require.NotNil(t, conn.cluster)
			require.Equal(t, []string{"n1:7000", "n2:7001", "n3:7002"}, conn.cluster.Addrs)
			require.Equal(t, "u", conn.cluster.Username)
			require.Equal(t, "p", conn.cluster.Password)
		}},
		{"rediss://config.example:6379?cluster=true", func(t *testing.T, conn connection) {
			require.NotNil(t, conn.cluster)
			require.Equal(t, []string{"config.example:6379"}, conn.cluster.Addrs)
			require.NotNil(t, conn.cluster.TLSConfig)
		}},
		{"redis://localhost:6379?cluster=false", func(t *testing.T, conn connection) {
			require.NotNil(t, conn.single)
		}},
		{"redis://su:sp@s1:26379/1?master_name=mymaster&addr=s2:26379&password=mp", func(t *testing.T, conn connection) {
			require.NotNil(t, conn.failover)
			require.Equal(t, "mymaster", conn.failover.MasterName)
			require.Equal(t, []string{"s1:26379", "s2:26379"}, conn.failover.SentinelAddrs)
			require.Equal(t, "su", conn.failover.SentinelUsername)
			require.Equal(t, "sp", conn.failover.SentinelPassword)
			require.Equal(t, "mp", conn.failover.Password)
			require.Equal(t, 1, conn.failover.DB)
		}},
	} {
		t.Run(c.url, func(t *testing.T) {
			t.Parallel()
			conn, err := parseURL(c.url)
			require.NoError(t, err)
			set := 0
			for _, isSet := range []bool{conn.single != nil, conn.cluster != nil, conn.failover != nil} {
				if isSet {
					set++
				}
			}
			require.Equal(t, 1, set, "exactly one form")
			c.check(t, conn)
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ url, want string }{
		{"http://user:hunter2@localhost", "scheme"},
		{"redis://user:hunter2@localhost?bogus=1", "bogus"},
		{"redis://user:hunter2@n1:7000?addr=n2", "addr"},
		{"redis://user:hunter2@localhost?cluster=maybe", "cluster"},
		{"redis://user:hunter2@localhost?cluster=true&master_name=m", "master_name"},
		{"redis://user:hunter2@localhost/notadb", "notadb"},
		{"redis://user:hunter2@local host:bad", "URL"},
		{"redis://localhost?master_name=m&password=hunter2&dial_timeout=x", "dial_timeout"},
	} {
		t.Run(c.want, func(t *testing.T) {
			t.Parallel()
			_, err := parseURL(c.url)
			require.ErrorContains(t, err, c.want)
			require.NotContains(t, err.Error(), "hunter2")
		})
	}
}

func TestConfigClient(t *testing.T) {
	t.Parallel()
	for url, want := range map[string]string{
		"redis://localhost:6379":                    "*redis.Client",
		"redis://n1:7000?addr=n2:7001":              "*redis.ClusterClient",
		"redis://s1:26379?master_name=mymaster":     "*redis.Client",
		"redis://localhost:6379?cluster=true&db=1x": "",
	} {
		rdb, err := Config{URL: url}.Client()
		if want == "" {
			require.ErrorContains(t, err, EnvURL)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, want, typeName(rdb))
		require.NoError(t, rdb.Close())
	}
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }

func TestConfigFromEnvSecretFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		f := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(f, []byte(content), 0o600))
		return f
	}
	password := write("password", "s3cret\n")
	notPEM := write("ca.pem", "not a certificate")
	env := func(vars map[string]string) func(string) string {
		return func(name string) string { return vars[name] }
	}

	c, ok, err := ConfigFromEnv(env(map[string]string{EnvURL: "rediss://app@localhost:6380/0", EnvPasswordFile: password}))
	require.NoError(t, err)
	require.True(t, ok)
	conn, err := c.connection()
	require.NoError(t, err)
	require.Equal(t, "app", conn.single.Username)
	require.Equal(t, "s3cret", conn.single.Password, "read from the file, without its newline")
	require.NotNil(t, conn.single.TLSConfig)

	cluster, _, err := ConfigFromEnv(env(map[string]string{EnvURL: "rediss://app@a:1?addr=b:2", EnvPasswordFile: password}))
	require.NoError(t, err)
	conn, err = cluster.connection()
	require.NoError(t, err)
	require.Equal(t, "s3cret", conn.cluster.Password)

	for _, tt := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{EnvURL: "redis://localhost:6379", EnvTLSCAFile: notPEM}, "need TLS: write the URL as rediss://"},
		{map[string]string{EnvURL: "rediss://localhost:6379", EnvTLSCAFile: notPEM}, "holds no PEM certificate"},
		{map[string]string{EnvURL: "rediss://localhost:6379", EnvTLSCertFile: notPEM}, "go together"},
		{map[string]string{EnvURL: "rediss://localhost:6379", EnvTLSCertFile: notPEM, EnvTLSKeyFile: password}, "cannot load the client certificate and key"},
		{map[string]string{EnvURL: "redis://localhost:6379", EnvPasswordFile: filepath.Join(dir, "none")}, EnvPasswordFile + ": open"},
		{map[string]string{EnvURL: "redis://localhost:6379", EnvPasswordFile: write("empty", "\n")}, "is empty"},
	} {
		_, _, err := ConfigFromEnv(env(tt.vars))
		require.ErrorContains(t, err, tt.want, "%v", tt.vars)
		require.NotContains(t, err.Error(), "s3cret")
	}
}

package client

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// env is a fake environment for envconfig.
type env map[string]string

func (e env) Environ() []string {
	out := make([]string, 0, len(e))
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}

func (e env) LookupEnv(k string) (string, bool) {
	v, ok := e[k]
	return v, ok
}

// noFile points the profile file somewhere empty, so a developer's own
// ~/.config/temporalio/temporal.toml does not leak into the test.
func noFile(t *testing.T, e env) env {
	e["TEMPORAL_CONFIG_FILE"] = filepath.Join(t.TempDir(), "none.toml")
	return e
}

func TestOptionsDefaults(t *testing.T) {
	t.Parallel()
	opts, err := Config{Env: noFile(t, env{})}.Options()
	require.NoError(t, err)
	require.Equal(t, DefaultAddress, opts.HostPort)
	require.Equal(t, DefaultNamespace, opts.Namespace)
	require.NotNil(t, opts.Logger, "the SDK's default logger would write to stderr")
}

func TestOptionsFollowTheTemporalCLIEnvironment(t *testing.T) {
	t.Parallel()
	e := noFile(t, env{
		"TEMPORAL_ADDRESS":   "temporal.example:7233",
		"TEMPORAL_NAMESPACE": "orders",
		"TEMPORAL_API_KEY":   "secret",
	})
	opts, err := Config{Env: e}.Options()
	require.NoError(t, err)
	require.Equal(t, "temporal.example:7233", opts.HostPort)
	require.Equal(t, "orders", opts.Namespace)
	require.NotNil(t, opts.Credentials)
	require.NotNil(t, opts.ConnectionOptions.TLS, "an API key turns TLS on, as in the Temporal CLI")

	opts, err = Config{Env: e, Address: "localhost:1234", Namespace: "other"}.Options()
	require.NoError(t, err)
	require.Equal(t, "localhost:1234", opts.HostPort, "--address beats TEMPORAL_ADDRESS")
	require.Equal(t, "other", opts.Namespace, "--namespace beats TEMPORAL_NAMESPACE")
}

func TestOptionsProfileFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "temporal.toml")
	writeFile(t, file, "[profile.default]\naddress = \"file.example:7233\"\nnamespace = \"from-file\"\n")
	opts, err := Config{Env: env{"TEMPORAL_CONFIG_FILE": file}}.Options()
	require.NoError(t, err)
	require.Equal(t, "file.example:7233", opts.HostPort)
	require.Equal(t, "from-file", opts.Namespace)

	_, err = Config{Env: env{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_PROFILE": "missing"}}.Options()
	require.ErrorIs(t, err, ErrConfig)
	require.True(t, strings.HasPrefix(err.Error(), "read Temporal connection settings"), err.Error())
}

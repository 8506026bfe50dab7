package devserver

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/server/common/dynamicconfig"
	yaml "go.yaml.in/yaml/v3"
)

// docker-compose.yml's Temporal server gets the dynamic config the dev
// server sets, from deploy/dynamicconfig.
func TestComposeServerHasTheDevServersDynamicConfig(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "dynamicconfig", "statedriven.yaml"))
	require.NoError(t, err)
	var file map[string][]struct {
		Value any `yaml:"value"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &file))
	got := dynamicconfig.StaticClient{}
	for k, vs := range file {
		require.Len(t, vs, 1, "%s: one value, no constraints", k)
		got[dynamicconfig.MakeKey(k)] = vs[0].Value
	}
	require.Equal(t, dynamicConfig(nil), got)
}

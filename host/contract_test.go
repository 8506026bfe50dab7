package host_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/host"
	"github.com/statedriven/statedriven/workflows"
)

// host keeps its own copy of the search attributes so as not to import
// the workflow package; this holds it to the contract.
func TestSearchAttributesAreTheContract(t *testing.T) {
	t.Parallel()

	want := map[string]enumspb.IndexedValueType{}
	for _, key := range []interface {
		GetName() string
		GetValueType() enumspb.IndexedValueType
	}{workflows.StateAttribute, workflows.ProgressAttribute, workflows.DefinitionAttribute,
		temporal.NewSearchAttributeKeyKeyword(contract.RedrivenFromAttribute)} {
		want[key.GetName()] = key.GetValueType()
	}
	require.Equal(t, want, host.SearchAttributes())
	require.Equal(t, contract.DefaultTaskQueue, host.DefaultTaskQueue)
}

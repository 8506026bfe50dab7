package host

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeOperator keeps a namespace's custom search attributes; addErr, when
// set, is what AddSearchAttributes answers (after applying added, if set).
type fakeOperator struct {
	operatorservice.OperatorServiceClient // nil: other calls panic

	mu     sync.Mutex
	attrs  map[string]enumspb.IndexedValueType
	adds   []map[string]enumspb.IndexedValueType
	addErr error
	added  map[string]enumspb.IndexedValueType // what a concurrent worker adds
}

func (f *fakeOperator) ListSearchAttributes(_ context.Context, req *operatorservice.ListSearchAttributesRequest, _ ...grpc.CallOption) (*operatorservice.ListSearchAttributesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	custom := make(map[string]enumspb.IndexedValueType, len(f.attrs))
	for k, v := range f.attrs {
		custom[k] = v
	}
	return &operatorservice.ListSearchAttributesResponse{CustomAttributes: custom}, nil
}

func (f *fakeOperator) AddSearchAttributes(_ context.Context, req *operatorservice.AddSearchAttributesRequest, _ ...grpc.CallOption) (*operatorservice.AddSearchAttributesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.adds = append(f.adds, req.GetSearchAttributes())
	for k, v := range f.added {
		f.attrs[k] = v
	}
	if f.addErr != nil {
		return nil, f.addErr
	}
	for k, v := range req.GetSearchAttributes() {
		f.attrs[k] = v
	}
	return &operatorservice.AddSearchAttributesResponse{}, nil
}

func TestRegisterSearchAttributes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("adds the missing ones", func(t *testing.T) {
		t.Parallel()
		op := &fakeOperator{attrs: map[string]enumspb.IndexedValueType{"WorkflowState": enumspb.INDEXED_VALUE_TYPE_KEYWORD}}
		require.NoError(t, RegisterSearchAttributes(ctx, op, "default"))
		require.Equal(t, []map[string]enumspb.IndexedValueType{{
			"WorkflowProgress": enumspb.INDEXED_VALUE_TYPE_INT,
			"DefinitionName":   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			"RedrivenFrom":     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		}}, op.adds)
		require.Equal(t, SearchAttributes(), op.attrs)
	})

	t.Run("all there: nothing to add", func(t *testing.T) {
		t.Parallel()
		op := &fakeOperator{attrs: SearchAttributes()}
		require.NoError(t, RegisterSearchAttributes(ctx, op, "default"))
		require.Empty(t, op.adds)
	})

	t.Run("another worker added them first", func(t *testing.T) {
		t.Parallel()
		op := &fakeOperator{
			attrs:  map[string]enumspb.IndexedValueType{},
			added:  SearchAttributes(),
			addErr: serviceerror.NewAlreadyExists("search attribute WorkflowState already exists"),
		}
		require.NoError(t, RegisterSearchAttributes(ctx, op, "default"))
	})

	t.Run("refused, as on Temporal Cloud", func(t *testing.T) {
		t.Parallel()
		for _, refusal := range []error{
			serviceerror.NewPermissionDenied("Request unauthorized.", ""),
			status.Error(codes.PermissionDenied, "plain gRPC"),
			serviceerror.NewUnimplemented("no operator service"),
		} {
			op := &fakeOperator{attrs: map[string]enumspb.IndexedValueType{}, addErr: refusal}
			err := RegisterSearchAttributes(ctx, op, "orders.acct")
			require.ErrorIs(t, err, ErrSearchAttributesRefused)
			require.ErrorContains(t, err, `add search attributes [DefinitionName RedrivenFrom WorkflowProgress WorkflowState] to namespace "orders.acct"`)
		}
		require.Contains(t, searchAttributesHelp("orders.acct"), "tcld namespace search-attributes add --namespace orders.acct --search-attribute WorkflowState=Keyword")
		require.Contains(t, searchAttributesHelp("orders.acct"), "temporal operator search-attribute create --namespace orders.acct --name WorkflowState --type Keyword")
	})

	t.Run("another failure is not a refusal", func(t *testing.T) {
		t.Parallel()
		op := &fakeOperator{attrs: map[string]enumspb.IndexedValueType{}, addErr: serviceerror.NewUnavailable("down")}
		err := RegisterSearchAttributes(ctx, op, "default")
		require.Error(t, err)
		require.False(t, errors.Is(err, ErrSearchAttributesRefused))
	})

	t.Run("wrong type", func(t *testing.T) {
		t.Parallel()
		attrs := SearchAttributes()
		attrs["WorkflowProgress"] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
		op := &fakeOperator{attrs: attrs}
		err := RegisterSearchAttributes(ctx, op, "default")
		require.EqualError(t, err, `search attribute WorkflowProgress exists in namespace "default" as Keyword, but statedriven upserts it as Int: remove it or use another namespace`)
		require.Empty(t, op.adds)
	})
}

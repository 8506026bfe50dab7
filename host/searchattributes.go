package host

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"

	"github.com/statedriven/statedriven/contract"
)

// SearchAttributes returns the custom search attributes of statedriven's
// runs, by name, with their types (the contract in ../shared/DESIGN.md):
// those the workflow upserts on every transition, and RedrivenFrom, which
// `starter retry` sets at start.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		contract.StateAttribute:        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		contract.ProgressAttribute:     enumspb.INDEXED_VALUE_TYPE_INT,
		contract.DefinitionAttribute:   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		contract.RedrivenFromAttribute: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
}

// ErrSearchAttributesRefused is returned (wrapped) by
// RegisterSearchAttributes when the server does not let this client add
// search attributes, as on Temporal Cloud, where they are added with tcld.
var ErrSearchAttributesRefused = errors.New("the server refused to add search attributes")

// RegisterSearchAttributes makes sure that namespace has statedriven's
// search attributes, adding the missing ones through the operator service.
// Those already there are fine, and so is a concurrent worker adding them
// first. An attribute that exists with another type is an error, since
// every upsert of it would fail. When the server refuses (permission
// denied, or the operator service unimplemented), the error wraps
// ErrSearchAttributesRefused and names the missing attributes.
func RegisterSearchAttributes(ctx context.Context, op operatorservice.OperatorServiceClient, namespace string) error {
	missing, err := missingSearchAttributes(ctx, op, namespace)
	if err != nil || len(missing) == 0 {
		return err
	}
	_, addErr := op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	})
	if addErr == nil {
		return nil
	}
	if refused(addErr) {
		return fmt.Errorf("add search attributes %v to namespace %q: %w: %w", slices.Sorted(maps.Keys(missing)), namespace, ErrSearchAttributesRefused, addErr)
	}
	// Another worker may have added them in between: look again.
	if missing, err = missingSearchAttributes(ctx, op, namespace); err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("add search attributes %v to namespace %q: %w", slices.Sorted(maps.Keys(missing)), namespace, addErr)
	}
	return nil
}

// missingSearchAttributes lists the namespace's attributes and returns
// those of statedriven's that it lacks.
func missingSearchAttributes(ctx context.Context, op operatorservice.OperatorServiceClient, namespace string) (map[string]enumspb.IndexedValueType, error) {
	resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		if refused(err) {
			return nil, fmt.Errorf("list search attributes of namespace %q: %w: %w", namespace, ErrSearchAttributesRefused, err)
		}
		return nil, fmt.Errorf("list search attributes of namespace %q: %w", namespace, err)
	}
	missing := make(map[string]enumspb.IndexedValueType)
	var wrong []error
	for _, name := range slices.Sorted(maps.Keys(SearchAttributes())) {
		want := SearchAttributes()[name]
		got, ok := resp.GetCustomAttributes()[name]
		if !ok {
			got, ok = resp.GetSystemAttributes()[name]
		}
		switch {
		case !ok:
			missing[name] = want
		case got != want:
			wrong = append(wrong, fmt.Errorf("search attribute %s exists in namespace %q as %s, but statedriven upserts it as %s: remove it or use another namespace", name, namespace, typeName(got), typeName(want)))
		}
	}
	return missing, errors.Join(wrong...)
}

// refused is the server saying no: permission denied, or no operator
// service. It reads the gRPC code, so that it works on the errors of the
// SDK's client and of a plain gRPC one alike.
func refused(err error) bool {
	switch serviceerror.ToStatus(err).Code() {
	case codes.PermissionDenied, codes.Unimplemented:
		return true
	}
	return false
}

// typeName is the type as `temporal operator search-attribute create
// --type` spells it.
func typeName(t enumspb.IndexedValueType) string {
	switch t {
	case enumspb.INDEXED_VALUE_TYPE_KEYWORD:
		return "Keyword"
	case enumspb.INDEXED_VALUE_TYPE_INT:
		return "Int"
	}
	return t.String()
}

// searchAttributesHelp is the warning Run logs when the server refuses:
// it says how to add them by hand.
func searchAttributesHelp(namespace string) string {
	return fmt.Sprintf("statedriven's search attributes could not be registered, so the Web UI and "+
		"`temporal workflow list --query` cannot filter runs by state or progress, and runs must be started "+
		"without them. Add them once: on Temporal Cloud, `tcld namespace search-attributes add --namespace %[1]s "+
		"--search-attribute WorkflowState=Keyword --search-attribute WorkflowProgress=Int --search-attribute DefinitionName=Keyword "+
		"--search-attribute RedrivenFrom=Keyword`; "+
		"elsewhere, `temporal operator search-attribute create --namespace %[1]s --name WorkflowState --type Keyword "+
		"--name WorkflowProgress --type Int --name DefinitionName --type Keyword --name RedrivenFrom --type Keyword`", namespace)
}

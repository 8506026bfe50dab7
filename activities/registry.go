package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/statedriven/statedriven/contract"
)

// Action is what a step runs. It receives the step's params, input and the
// outputs of earlier steps, and returns the step's result: plain data that
// encodes as JSON (maps, slices, strings, numbers, booleans, nil, or a
// struct with JSON tags). An action must return when ctx is cancelled, and
// should classify its failures with NewError or NewNonRetryableError so
// that definitions can route on their type.
type Action func(ctx context.Context, in contract.StepInput) (any, error)

// Errors that Register and Replace return, for errors.Is.
var (
	// ErrActionExists: Register was given a name that is already taken.
	ErrActionExists = errors.New("action already registered")
	// ErrActionNotFound: Replace was given a name that is not registered.
	ErrActionNotFound = errors.New("action not registered")
)

// Registry maps action names to actions. NewRegistry fills it with the
// built-ins; a program adds its own before it starts the worker. It is
// safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	actions map[string]Action
}

// NewRegistry returns a registry holding the built-in actions: aggregate,
// http, log, transform, validate and wait.
func NewRegistry() *Registry {
	r := &Registry{actions: make(map[string]Action)}
	for name, a := range builtins() {
		r.actions[name] = a
	}
	return r
}

// Register adds an action under name. It refuses an empty name (or one
// with surrounding spaces), a nil action, and a name already registered,
// built-ins included: replacing one is done with Replace, on purpose.
func (r *Registry) Register(name string, a Action) error {
	if err := checkAction(name, a); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, taken := r.actions[name]; taken {
		return fmt.Errorf("register action %q: %w; to use your own in its place, call Replace", name, ErrActionExists)
	}
	r.actions[name] = a
	return nil
}

// MustRegister is Register for program setup: it panics on error.
func (r *Registry) MustRegister(name string, a Action) {
	if err := r.Register(name, a); err != nil {
		panic(err)
	}
}

// Replace puts a in place of the action registered under name, a built-in
// or one's own. It refuses a name that is not registered, so that a typo
// does not quietly add a second action; use Register for new names.
func (r *Registry) Replace(name string, a Action) error {
	if err := checkAction(name, a); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, taken := r.actions[name]; !taken {
		return fmt.Errorf("replace action %q: %w; add it with Register", name, ErrActionNotFound)
	}
	r.actions[name] = a
	return nil
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.actions))
	for name := range r.actions {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Lookup returns the action registered under name.
func (r *Registry) Lookup(name string) (Action, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok := r.actions[name]
	return a, ok
}

func checkAction(name string, a Action) error {
	switch {
	case name == "":
		return errors.New("register action: the name is empty; give the name that definitions use in `action:`")
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("register action %q: the name has leading or trailing spaces", name)
	case a == nil:
		return fmt.Errorf("register action %q: the action is nil", name)
	}
	return nil
}

// builtins returns fresh instances of the built-in actions; each registry
// gets its own, so their caches are not shared between registries.
func builtins() map[string]Action {
	return map[string]Action{
		"aggregate": aggregateAction,
		"http":      httpAction,
		"log":       logAction,
		"transform": transformAction,
		"validate":  validateAction,
		"wait":      waitAction,
	}
}

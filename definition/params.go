package definition

import (
	"fmt"
	"slices"

	"github.com/statedriven/statedriven/activities/builtin"
)

// actionParams checks the literal params of a built-in action named where
// at path sits (an action step, a map step, a compensation or a hook),
// with the rules the action itself applies at run time (package builtin),
// so that a definition that validates does not fail with BadParams.
//
// An action on a specialist's queue is left alone: a specialist worker,
// in any language, may implement a name such as http its own way. So is
// an action a program registers under its own name.
func (c *compiler) actionParams(path, action, specialist string, params map[string]any) {
	if specialist != "" {
		return
	}
	if !builtin.Is(action) {
		c.offered(path, action)
		return
	}
	for _, p := range builtin.Check(action, params) {
		c.problem(path+"/params"+p.Path, fmt.Sprintf("%s param %q: %s", action, p.Param, p.Message), p.Hint)
	}
}

// offered reports an action that is neither built in nor among
// Options.Actions, when the caller gave them.
func (c *compiler) offered(path, action string) {
	if c.opts.Actions == nil || action == "" || slices.Contains(c.opts.Actions, action) {
		return
	}
	known := append(builtin.Names(), c.opts.Actions...)
	hint, near := suggest(action, known, "the workers offer: ")
	if !near {
		hint += "; register it in a worker, or run the step on a specialist's queue"
	}
	c.problem(path+"/action", fmt.Sprintf("no worker offers the action %q", action), hint)
}

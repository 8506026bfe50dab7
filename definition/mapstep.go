package definition

import (
	"fmt"

	"github.com/statedriven/statedriven/expression"
)

// mapStep checks a map step (items a list expression, an action, a
// concurrency of 1 or more) and resolves its default concurrency.
func (c *compiler) mapStep(i int, m *Map) *PlanMap {
	path := stepPath(i, "map")
	pm := &PlanMap{Items: m.Items, Action: m.Action, Specialist: m.Specialist, Params: m.Params, Concurrency: m.Concurrency}
	if m.Items == "" {
		c.problem(path, "map needs items:", "add items: an expression giving a list, such as input.orders")
	} else {
		c.expr(path+"/items", m.Items, expression.List)
	}
	if m.Action == "" {
		c.problem(path, "map needs action:", "add action: the action to run for each item")
	}
	c.actionParams(path, m.Action, m.Specialist, m.Params)
	switch {
	case m.Concurrency < 0:
		c.problem(path+"/concurrency", fmt.Sprintf("concurrency %d is negative", m.Concurrency), "give 1 or more, or leave it out for 10")
	case m.Concurrency == 0:
		pm.Concurrency = DefaultConcurrency
	}
	return pm
}

package definition

import (
	"fmt"
	"strings"
)

// graph checks the routes between steps as a whole (every step reachable,
// every reachable step able to reach an end) and, for a sound definition,
// fills in the progress estimates.
//
// The checks run on whatever part of the graph resolves, whatever else is
// wrong, so that a file with many mistakes gets them all in one pass:
// routes that named no step were dropped and misspelt ones followed to
// their likely target (see guess), and steps without a usable name are
// left out. Without an initial step to start from, reachability cannot
// be judged, but loops with no way out still can: from any step.
func (c *compiler) graph(plan *Plan) {
	sound := len(c.problems) == 0
	g := newRouteGraph(plan.Steps, c.index)
	finishes := g.finishing()
	initial := c.guess(plan.Initial)
	if initial == "" || c.group[initial] != "" {
		// Reported already; there is nowhere to start from.
		stuck := make([]bool, len(plan.Steps))
		for i := range plan.Steps {
			stuck[i] = !finishes[i] && plan.Steps[i].Group == ""
		}
		c.stuckLoops(g, stuck)
		return
	}
	start := g.index[initial]
	reached := g.reachable(start)
	c.unreachable(g, reached, initial)
	if !finishes[start] {
		c.problem("/initial_step", fmt.Sprintf("no path from the initial step %q to an end: every route loops", initial),
			"give a step end: true, or route to a succeed or fail step")
	}
	stuck := make([]bool, len(plan.Steps))
	for i := range plan.Steps {
		stuck[i] = reached[i] && !finishes[i]
	}
	c.stuckLoops(g, stuck)
	if !sound || len(c.problems) > 0 {
		return
	}
	g.estimate(plan, start)
}

// routeGraph is a plan's steps as a graph of their routes. Branch steps
// have no routes of their own: they run inside their group.
type routeGraph struct {
	steps []PlanStep
	index map[string]int // step name → its first step; unnamed steps left out
	exits [][]int        // every route out of a step
	ends  []bool         // a route out of the step ends the run
}

// newRouteGraph builds the graph of steps, whose names index maps to the
// first step of each name.
func newRouteGraph(steps []PlanStep, index map[string]int) *routeGraph {
	n := len(steps)
	g := &routeGraph{steps: steps, index: index, exits: make([][]int, n), ends: make([]bool, n)}
	for i := range steps {
		g.addRoutes(i)
	}
	return g
}

// addRoutes records every route out of step i: success, data choices,
// failure, error types and timeouts.
func (g *routeGraph) addRoutes(i int) {
	s := &g.steps[i]
	if s.Group != "" {
		return
	}
	switch s.Kind {
	case KindSucceed, KindFail:
		g.ends[i] = true
		return
	}
	if s.Next == "" {
		g.ends[i] = true
	}
	add := func(name string) {
		if j, ok := g.index[name]; ok {
			g.exits[i] = append(g.exits[i], j)
		}
	}
	add(s.Next)
	for _, ch := range s.When {
		add(ch.Next)
	}
	add(s.OnFailure)
	for _, k := range sortedKeys(s.OnError) {
		add(s.OnError[k])
	}
	if s.Wait != nil {
		add(s.Wait.OnTimeout)
	}
	if s.Review != nil {
		add(s.Review.OnTimeout)
	}
}

// reachable marks the steps some route leads to from start (breadth
// first).
func (g *routeGraph) reachable(start int) []bool {
	reached := make([]bool, len(g.steps))
	queue := []int{start}
	reached[start] = true
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, j := range g.exits[i] {
			if !reached[j] {
				reached[j] = true
				queue = append(queue, j)
			}
		}
	}
	return reached
}

// finishing marks the steps from which some route reaches an end: a fixed
// point over the exits.
func (g *routeGraph) finishing() []bool {
	finishes := make([]bool, len(g.steps))
	for changed := true; changed; {
		changed = false
		for i := range g.steps {
			if finishes[i] || g.steps[i].Group != "" {
				continue
			}
			ok := g.ends[i]
			for _, j := range g.exits[i] {
				ok = ok || finishes[j]
			}
			if ok {
				finishes[i], changed = true, true
			}
		}
	}
	return finishes
}

// unreachable reports each step that no route leads to from the initial
// step, once per name (a step defined twice is reported as such).
func (c *compiler) unreachable(g *routeGraph, reached []bool, initial string) {
	for i, s := range g.steps {
		if first, named := g.index[s.Name]; !reached[i] && s.Group == "" && named && first == i {
			c.problem(stepPath(i, "name"), fmt.Sprintf("step %q is never reached: no route leads to it from the initial step %q", s.Name, initial),
				"route to it with next:, conditions: or when:, or remove it")
		}
	}
}

// stuckLoops reports each loop among the stuck steps, at its first step.
func (c *compiler) stuckLoops(g *routeGraph, stuck []bool) {
	for _, loop := range loops(g.exits, stuck) {
		names := make([]string, len(loop))
		for k, i := range loop {
			names[k] = fmt.Sprintf("%q", g.steps[i].Name)
		}
		c.problem(stepPath(loop[0], "name"), fmt.Sprintf("steps %s loop with no way out", strings.Join(names, ", ")),
			"add a when: or conditions: route that leaves the loop, or end: true")
	}
}

// estimate fills in each step's Remaining (the weight of the longest
// success path after it, each loop counted once) and the plan's
// TotalSteps.
func (g *routeGraph) estimate(plan *Plan, start int) {
	n := len(g.steps)
	memo := make([]int, n)
	state := make([]uint8, n) // 0 new, 1 on the stack, 2 done
	var remaining func(i int) int
	remaining = func(i int) int {
		switch state[i] {
		case 1:
			return 0 // a loop counts once
		case 2:
			return memo[i]
		}
		state[i] = 1
		best := 0
		for _, j := range g.successors(i) {
			best = max(best, g.steps[j].Weight+remaining(j))
		}
		state[i], memo[i] = 2, best
		return best
	}
	for i := range plan.Steps {
		if plan.Steps[i].Group == "" {
			plan.Steps[i].Remaining = remaining(i)
		}
	}
	plan.TotalSteps = plan.Steps[start].Weight + plan.Steps[start].Remaining
}

// successors are the steps a success of step i may lead to: next, then
// each data choice.
func (g *routeGraph) successors(i int) []int {
	s := &g.steps[i]
	var out []int
	for _, name := range append([]string{s.Next}, choiceTargets(s.When)...) {
		if j, ok := g.index[name]; ok {
			out = append(out, j)
		}
	}
	return out
}

func choiceTargets(when []Choice) []string {
	out := make([]string, len(when))
	for k, ch := range when {
		out[k] = ch.Next
	}
	return out
}

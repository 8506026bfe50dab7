package definition

import (
	"fmt"
	"slices"
	"strings"
)

// graph checks the routes between steps as a whole (every step reachable,
// every reachable step able to reach an end) and fills in the progress
// estimates. It runs only on a definition whose steps are otherwise sound.
func (c *compiler) graph(plan *Plan) {
	initial := c.guess(plan.Initial)
	if initial == "" || c.group[initial] != "" {
		return // reported already; there is nowhere to start from
	}
	sound := len(c.problems) == 0
	idx := make(map[string]int, len(plan.Steps))
	for i, s := range plan.Steps {
		if _, dup := idx[s.Name]; !dup {
			idx[s.Name] = i
		}
	}
	first := func(i int) bool { return idx[plan.Steps[i].Name] == i }
	n := len(plan.Steps)
	exits := make([][]int, n) // every route out of a step
	ends := make([]bool, n)   // a route out of the step ends the run
	for i := range plan.Steps {
		s := &plan.Steps[i]
		if s.Group != "" {
			continue
		}
		add := func(name string) {
			if j, ok := idx[name]; ok {
				exits[i] = append(exits[i], j)
			}
		}
		switch s.Kind {
		case KindSucceed, KindFail:
			ends[i] = true
			continue
		}
		if s.Next == "" {
			ends[i] = true
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

	start := idx[initial]
	reached := make([]bool, n)
	queue := []int{start}
	reached[start] = true
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, j := range exits[i] {
			if !reached[j] {
				reached[j] = true
				queue = append(queue, j)
			}
		}
	}
	for i, s := range plan.Steps {
		if !reached[i] && s.Group == "" && first(i) {
			c.problem(stepPath(i, "name"), fmt.Sprintf("step %q is never reached: no route leads to it from the initial step %q", s.Name, initial),
				"route to it with next:, conditions: or when:, or remove it")
		}
	}

	// finishes[i]: some route from i reaches an end.
	finishes := make([]bool, n)
	for changed := true; changed; {
		changed = false
		for i := range plan.Steps {
			if finishes[i] || plan.Steps[i].Group != "" {
				continue
			}
			ok := ends[i]
			for _, j := range exits[i] {
				ok = ok || finishes[j]
			}
			if ok {
				finishes[i], changed = true, true
			}
		}
	}
	if !finishes[start] {
		c.problem("/initial_step", fmt.Sprintf("no path from the initial step %q to an end: every route loops", initial),
			"give a step end: true, or route to a succeed or fail step")
	}
	stuck := make([]bool, n)
	for i := range plan.Steps {
		stuck[i] = reached[i] && !finishes[i]
	}
	for _, loop := range loops(exits, stuck) {
		names := make([]string, len(loop))
		for k, i := range loop {
			names[k] = fmt.Sprintf("%q", plan.Steps[i].Name)
		}
		c.problem(stepPath(loop[0], "name"), fmt.Sprintf("steps %s loop with no way out", strings.Join(names, ", ")),
			"add a when: or conditions: route that leaves the loop, or end: true")
	}
	if !sound || len(c.problems) > 0 {
		return
	}

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
		s := &plan.Steps[i]
		succ := []string{s.Next}
		for _, ch := range s.When {
			succ = append(succ, ch.Next)
		}
		for _, name := range succ {
			j, ok := idx[name]
			if !ok {
				continue
			}
			best = max(best, plan.Steps[j].Weight+remaining(j))
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

// loops returns the strongly connected groups of stuck steps that loop
// (more than one step, or one that routes to itself), each in list order,
// using Tarjan's algorithm.
func loops(exits [][]int, in []bool) [][]int {
	n := len(exits)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var out [][]int
	next := 0
	var visit func(v int)
	visit = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range exits[v] {
			if !in[w] {
				continue
			}
			if index[w] < 0 {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		var comp []int
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[w] = false
			comp = append(comp, w)
			if w == v {
				break
			}
		}
		selfLoop := false
		for _, w := range exits[v] {
			selfLoop = selfLoop || w == v
		}
		if len(comp) > 1 || selfLoop {
			slices.Sort(comp)
			out = append(out, comp)
		}
	}
	for v := range n {
		if in[v] && index[v] < 0 {
			visit(v)
		}
	}
	// Report loops in the order their first step appears.
	slices.SortFunc(out, func(a, b []int) int { return a[0] - b[0] })
	return out
}

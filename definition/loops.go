package definition

import "slices"

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

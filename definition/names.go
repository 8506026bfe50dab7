package definition

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// names checks step names: present, well formed, unique.
func (c *compiler) names() {
	for i, s := range c.def.Steps {
		switch {
		case strings.TrimSpace(s.Name) == "":
			c.blankName(i, s.Name)
			continue
		case !namePattern.MatchString(s.Name):
			c.problem(stepPath(i, "name"), fmt.Sprintf("step name %q has characters that cannot be used", s.Name), "use letters, digits, '_' and '-', starting with a letter")
		}
		if first, dup := c.index[s.Name]; dup {
			p := c.doc.position(stepPath(first, "name"))
			c.problem(stepPath(i, "name"), fmt.Sprintf("step name %q is used twice (first at line %d)", s.Name, p.line), "rename one of them")
			continue
		}
		c.index[s.Name] = i
	}
}

// blankName reports step i's name, missing, empty or only spaces. A step
// without a name cannot be routed to, so it is left out of the index (and
// of the graph checks, which would only add that nothing leads to it).
func (c *compiler) blankName(i int, name string) {
	path := stepPath(i, "name")
	if _, written := c.doc.positions[path]; !written {
		c.problem(stepPath(i), fmt.Sprintf("step %d has no name", i+1), "add name: to it")
		return
	}
	if slices.ContainsFunc(c.doc.problems, func(p Problem) bool { return p.Path == path }) {
		return // written as something else than a string: reported so
	}
	what := "is empty"
	if name != "" {
		what = "is only spaces"
	}
	c.problem(path, fmt.Sprintf("the name of step %d %s", i+1, what), "give it a name of letters, digits, '_' and '-', starting with a letter")
}

// groups finds the branch steps of parallel groups.
func (c *compiler) groups() {
	for i, s := range c.def.Steps {
		field, members := "branches", s.Branches
		if len(s.ParallelWith) > 0 {
			field, members = "parallel_with", s.ParallelWith
		}
		for j, m := range members {
			path := stepPath(i, field, strconv.Itoa(j))
			if !c.ref(path, m, "") {
				continue
			}
			switch other, taken := c.group[m]; {
			case m == s.Name:
				c.problem(path, fmt.Sprintf("step %q lists itself as a parallel branch", m), "list the other steps only")
			case taken:
				c.problem(path, fmt.Sprintf("step %q is already a branch of %q", m, other), "a step can be a branch of one group only")
			default:
				c.group[m] = s.Name
			}
		}
	}
}

// ref checks that target names a step that a route may lead to; from is the
// routing step's name ("" when the target is not a route).
func (c *compiler) ref(path, target, from string) bool {
	if target == "" {
		c.problem(path, "the step name is empty", "name a step of this definition")
		return false
	}
	if _, ok := c.index[target]; !ok {
		hint, _ := suggest(target, c.stepNames(), "the steps are: ")
		c.problem(path, fmt.Sprintf("step %q is not defined", target), hint)
		return false
	}
	if g, ok := c.group[target]; ok && from != "" {
		c.problem(path, fmt.Sprintf("step %q runs only as a branch of parallel step %q; a route cannot lead to it", target, g), fmt.Sprintf("route to %q instead", g))
		return false
	}
	return true
}

// guess is the step a route to target most likely means: target itself,
// or the nearest name for a misspelling. While a
// definition has problems, the route checks run on these guesses, so one
// misspelt name does not hide the problems behind it or add false ones.
func (c *compiler) guess(target string) string {
	if _, ok := c.index[target]; ok {
		if _, branch := c.group[target]; branch {
			return "" // reported as such; guessing the group could invent a loop
		}
		return target
	}
	return closest(target, c.stepNames())
}

// stepNames lists the defined step names in list order, for hints.
func (c *compiler) stepNames() []string {
	names := make([]string, 0, len(c.index))
	for _, s := range c.def.Steps {
		if _, ok := c.index[s.Name]; ok && !slices.Contains(names, s.Name) {
			names = append(names, s.Name)
		}
	}
	return names
}

// initial checks initial_step: present, a step, and not a branch.
func (c *compiler) initial() {
	name := c.def.InitialStep
	if name == "" {
		first := c.def.Steps[0].Name
		c.problem("/initial_step", "initial_step is missing", fmt.Sprintf("add initial_step: %s (or the step a run starts with)", first))
		return
	}
	if c.ref("/initial_step", name, "") {
		if g, ok := c.group[name]; ok {
			c.problem("/initial_step", fmt.Sprintf("initial step %q is a branch of parallel step %q", name, g), fmt.Sprintf("start with %q instead", g))
		}
	}
}

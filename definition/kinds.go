package definition

import (
	"fmt"
	"slices"
	"strings"
)

// kindOf tells what step i does, from `type` or from the fields it sets;
// "" when it cannot be told (the problem is reported).
func (c *compiler) kindOf(i int) Kind {
	s := &c.def.Steps[i]
	present, fields := kindFields(s)
	if len(present) > 1 {
		c.problem(stepPath(i), fmt.Sprintf("step %q sets %s: a step does one thing", s.Name, strings.Join(fields, " and ")), "split it into one step per kind")
		return ""
	}
	if s.Type != "" {
		return c.declaredKind(i, present, fields)
	}
	if len(present) == 1 {
		return present[0]
	}
	if s.Error != "" {
		return KindFail
	}
	c.problem(stepPath(i), fmt.Sprintf("step %q does nothing", s.Name), "give it an action:, or a type: (succeed, fail, wait, review, map, workflow, parallel)")
	return ""
}

// kindFields lists the kinds whose own fields step s sets, and those
// fields, in the order they are named in problems.
func kindFields(s *Step) (present []Kind, fields []string) {
	add := func(set bool, k Kind, field string) {
		if set {
			if !slices.Contains(present, k) {
				present = append(present, k)
			}
			fields = append(fields, field)
		}
	}
	add(s.Action != "" || s.Specialist != "", KindAction, "action")
	add(len(s.Branches) > 0, KindParallel, "branches")
	add(s.Wait != nil, KindWait, "wait")
	add(s.Review != nil, KindReview, "review")
	add(s.Map != nil, KindMap, "map")
	add(s.Workflow != nil, KindWorkflow, "workflow")
	return present, fields
}

// declaredKind checks step i's `type:` against the kind fields it sets
// (at most one kind of them).
func (c *compiler) declaredKind(i int, present []Kind, fields []string) Kind {
	s := &c.def.Steps[i]
	k := Kind(s.Type)
	if !slices.Contains(kinds, k) {
		names := make([]string, len(kinds))
		for j, k := range kinds {
			names[j] = string(k)
		}
		hint, _ := suggest(s.Type, names, "use one of: ")
		c.problem(stepPath(i, "type"), fmt.Sprintf("unknown step type %q", s.Type), hint)
		return ""
	}
	switch {
	case len(present) == 1 && present[0] != k:
		c.problem(stepPath(i, "type"), fmt.Sprintf("step %q is of type %s but sets %s", s.Name, k, fields[0]), fmt.Sprintf("a %s step needs %s; remove type: or the field", k, needs(k)))
		return ""
	case len(present) == 0 && k != KindSucceed && k != KindFail:
		c.problem(stepPath(i, "type"), fmt.Sprintf("step %q is of type %s but does not say what to do", s.Name, k), fmt.Sprintf("a %s step needs %s", k, needs(k)))
		return ""
	}
	return k
}

// needs says which field a step of kind k needs, for hints.
func needs(k Kind) string {
	switch k {
	case KindAction:
		return "action: or specialist:"
	case KindParallel:
		return "branches: (or parallel_with: on an action step)"
	case KindWait, KindReview, KindMap, KindWorkflow:
		return string(k) + ":"
	}
	return "nothing else"
}

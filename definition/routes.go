package definition

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/statedriven/statedriven/expression"
)

// routes resolves where the run goes after step i: on success (when:, then
// next: or conditions.success, then end: or the following step) and on
// failure (conditions by error type, then conditions.failure). A route to
// a misspelt step is reported and then followed to its likely target (see
// guess), so that the graph checks still see it.
func (c *compiler) routes(i int, ps *PlanStep) {
	if ps.Kind == KindSucceed || ps.Kind == KindFail {
		c.terminalRoutes(i, ps.Kind)
		return
	}
	c.successRoute(i, ps)
	c.conditionRoutes(i, ps)
	c.whenRoutes(i, ps)
}

// terminalRoutes reports routes set on step i, a succeed or fail step.
func (c *compiler) terminalRoutes(i int, k Kind) {
	s := &c.def.Steps[i]
	for _, f := range routeFields(s) {
		if f.set {
			c.problem(stepPath(i, f.name), fmt.Sprintf("%s step %q ends the run; it cannot route", k, s.Name), "remove "+f.name+":")
		}
	}
}

// successRoute resolves Next: next: or conditions.success (one of them),
// nothing with end: true, else the following step.
func (c *compiler) successRoute(i int, ps *PlanStep) {
	s := &c.def.Steps[i]
	success := s.Next
	successPath := stepPath(i, "next")
	if v, ok := s.Conditions["success"]; ok {
		if s.Next != "" {
			c.problem(stepPath(i, "conditions", "success"), "both next and conditions.success are set", "keep one of them")
		}
		success, successPath = v, stepPath(i, "conditions", "success")
	}
	switch {
	case s.End && success != "":
		c.problem(stepPath(i, "end"), "end: true and a next step are both set", "keep one of them")
	case s.End:
	case success != "":
		c.ref(successPath, success, s.Name)
		ps.Next = c.guess(success)
	default:
		ps.Next = c.following(i)
	}
}

// conditionRoutes resolves OnFailure and OnError from the conditions other
// than success, in key order.
func (c *compiler) conditionRoutes(i int, ps *PlanStep) {
	s := &c.def.Steps[i]
	for _, key := range sortedKeys(s.Conditions) {
		target := s.Conditions[key]
		path := stepPath(i, "conditions", pointerEscape(key))
		switch key {
		case "success":
			continue
		case "failure":
			c.ref(path, target, s.Name)
			ps.OnFailure = c.guess(target)
			continue
		}
		if !c.errorCondition(path, key, ps.Kind) {
			continue
		}
		c.ref(path, target, s.Name)
		if g := c.guess(target); g != "" {
			if ps.OnError == nil {
				ps.OnError = map[string]string{}
			}
			ps.OnError[key] = g
		}
	}
}

// errorCondition checks that key, a condition other than success and
// failure, can be an error type of a step of kind k.
func (c *compiler) errorCondition(path, key string, k Kind) bool {
	if hint, near := suggest(key, []string{"success", "failure"}, ""); near {
		c.problem(path, fmt.Sprintf("condition %q is neither an outcome nor an error type", key), hint)
		return false
	}
	switch {
	case k == KindWait && key != "Timeout":
		c.problem(path, fmt.Sprintf("condition %q: a wait step fails only with Timeout (a signal that did not come in time)", key), "use Timeout or failure")
		return false
	case k == KindReview && key != "Rejected":
		c.problem(path, fmt.Sprintf("condition %q: a review step fails only with Rejected (a rejection, or a timeout without on_timeout)", key), "use Rejected or failure")
		return false
	case !errorTypePattern.MatchString(key):
		c.problem(path, fmt.Sprintf("condition %q is not an outcome or an error type", key), "use success, failure, or an error type name like ValidationError")
		return false
	}
	return true
}

// whenRoutes resolves the data choices: each needs a boolean if: and a
// next: step.
func (c *compiler) whenRoutes(i int, ps *PlanStep) {
	s := &c.def.Steps[i]
	for j, ch := range s.When {
		path := stepPath(i, "when", strconv.Itoa(j))
		if ch.If == "" {
			c.problem(path, "a when choice needs if:", "add if: a condition such as steps.validate.score > 0.8")
		} else {
			c.expr(path+"/if", ch.If, expression.Bool)
		}
		if ch.Next == "" {
			c.problem(path, "a when choice needs next:", "add next: the step to go to when the condition holds")
			continue
		}
		c.ref(path+"/next", ch.Next, s.Name)
		if g := c.guess(ch.Next); g != "" {
			ps.When = append(ps.When, Choice{If: ch.If, Next: g})
		}
	}
}

// following is the step after i in the list that is neither a branch nor
// a fail step, or "" (the run ends in COMPLETE) when there is none. A run
// never fails by falling into a fail step written below the last one.
func (c *compiler) following(i int) string {
	for j, s := range c.def.Steps[i+1:] {
		_, branch := c.group[s.Name]
		if !branch && strings.TrimSpace(s.Name) != "" && c.kinds[i+1+j] != KindFail {
			return s.Name
		}
	}
	return ""
}

package definition

import (
	"fmt"
	"strings"
)

// positive reports a duration written as zero where zero makes no sense.
func (c *compiler) positive(path string, d Duration, what string) {
	if d.Set && d.D == 0 {
		c.problem(path, what+" is zero", "give a duration above zero, or leave it out")
	}
}

// wait checks a wait step: a duration or a signal (not both), and a
// timeout only for a signal.
func (c *compiler) wait(i int, w *Wait) *Wait {
	path := stepPath(i, "wait")
	switch {
	case w.Duration.Set && w.Signal != "":
		c.problem(path, "wait sets both duration and signal", "wait for one of them; use signal with timeout to bound the wait")
	case !w.Duration.Set && w.Signal == "":
		c.problem(path, "wait needs a duration or a signal", "add duration: 10m, or signal: NAME")
	}
	c.positive(path+"/duration", w.Duration, "the wait's duration")
	c.positive(path+"/timeout", w.Timeout, "the wait's timeout")
	if w.Duration.Set && (w.Timeout.Set || w.OnTimeout != "") {
		c.problem(path+"/timeout", "timeout applies only to a wait for a signal", "remove it")
	}
	switch strings.ToLower(w.Signal) {
	case "pause", "resume", "cancel":
		c.problem(path+"/signal", fmt.Sprintf("signal %q is the run's own control signal", w.Signal), "choose another name")
	}
	c.timeoutTarget(i, path, w.Timeout, w.OnTimeout)
	return w
}

// review checks a review step's timeout and its target.
func (c *compiler) review(i int, r *Review) *Review {
	path := stepPath(i, "review")
	c.positive(path+"/timeout", r.Timeout, "the review's timeout")
	c.timeoutTarget(i, path, r.Timeout, r.OnTimeout)
	return r
}

// timeoutTarget checks on_timeout: it needs a timeout, and names a step.
func (c *compiler) timeoutTarget(i int, path string, timeout Duration, target string) {
	if target == "" {
		return
	}
	if !timeout.Set {
		c.problem(path+"/on_timeout", "on_timeout is set but there is no timeout", "add timeout: 24h (or how long to wait)")
		return
	}
	c.ref(path+"/on_timeout", target, c.def.Steps[i].Name)
}

package definition

import (
	"fmt"
	"strings"
)

// where maps a resolved field to the JSON pointer of the layer (defaults
// or the step) that set it, so a problem is reported where it was written.
type where map[string]string

// retry resolves step i's retry policy: the step's fields, else the
// definition's defaults, else the built-in defaults; then checks it.
func (c *compiler) retry(i int, own *Retry) *RetryPolicy {
	var defaults *Retry
	if c.def.Defaults != nil {
		defaults = c.def.Defaults.Retry
	}
	r, at := resolveRetry(defaults, own, stepPath(i, "retry"))
	c.checkRetry(&r, at)
	return &r
}

// resolveRetry layers the step's retry fields (at path) over the
// defaults over the built-in defaults.
func resolveRetry(defaults, own *Retry, path string) (RetryPolicy, where) {
	r := DefaultRetry
	r.NonRetryableErrors = nil
	layers := []struct {
		path string
		r    *Retry
	}{{"/defaults/retry", defaults}, {path, own}}
	explicitMax := false
	at := where{}
	for _, l := range layers {
		if l.r == nil {
			continue
		}
		if l.r.InitialInterval.Set {
			r.InitialInterval, at["initial_interval"] = l.r.InitialInterval, l.path+"/initial_interval"
		}
		if l.r.BackoffCoefficient != nil {
			r.BackoffCoefficient, at["backoff_coefficient"] = *l.r.BackoffCoefficient, l.path+"/backoff_coefficient"
		}
		if l.r.MaximumInterval.Set {
			r.MaximumInterval, at["maximum_interval"] = l.r.MaximumInterval, l.path+"/maximum_interval"
			explicitMax = true
		}
		if l.r.MaximumAttempts != nil {
			r.MaximumAttempts, at["maximum_attempts"] = *l.r.MaximumAttempts, l.path+"/maximum_attempts"
		}
		if l.r.NonRetryableErrors != nil {
			r.NonRetryableErrors, at["non_retryable_errors"] = l.r.NonRetryableErrors, l.path+"/non_retryable_errors"
		}
	}
	if !explicitMax && r.InitialInterval.D > 0 {
		// Temporal's rule: the maximum interval defaults to 100 × initial.
		r.MaximumInterval = Duration{D: 100 * r.InitialInterval.D, Set: true}
	}
	return r, at
}

// checkRetry reports what Temporal would refuse in a resolved policy.
func (c *compiler) checkRetry(r *RetryPolicy, at where) {
	if r.InitialInterval.D == 0 {
		c.reportAt(at, "initial_interval", "initial_interval is zero", "give a duration above zero, like 1s")
	}
	if r.BackoffCoefficient < 1 {
		c.reportAt(at, "backoff_coefficient", fmt.Sprintf("backoff_coefficient %v is below 1", r.BackoffCoefficient), "use 1 for a constant interval, 2 to double each time")
	}
	if r.MaximumInterval.D < r.InitialInterval.D && r.InitialInterval.D > 0 {
		c.reportAt(at, "maximum_interval", fmt.Sprintf("maximum_interval %s is shorter than initial_interval %s", r.MaximumInterval, r.InitialInterval), "raise it or leave it out")
	}
	if r.MaximumAttempts < 0 {
		c.reportAt(at, "maximum_attempts", fmt.Sprintf("maximum_attempts %d is negative", r.MaximumAttempts), "give 1 for no retries, 0 for no limit")
	}
	for j, e := range r.NonRetryableErrors {
		if e == "" {
			c.reportAt(at, "non_retryable_errors", fmt.Sprintf("non_retryable_errors[%d] is empty", j), "name an error type")
		}
	}
}

// timeouts resolves step i's activity timeouts like retry, then checks
// them.
func (c *compiler) timeouts(i int, own *Timeouts) *ActivityTimeouts {
	var defaults *Timeouts
	if c.def.Defaults != nil {
		defaults = c.def.Defaults.Timeouts
	}
	t, at := resolveTimeouts(defaults, own, stepPath(i, "timeouts"))
	c.checkTimeouts(&t, at)
	if !t.StartToClose.Set && !t.ScheduleToClose.Set {
		t.StartToClose = DefaultTimeouts.StartToClose
	}
	c.checkTimeoutOrder(&t, at)
	return &t
}

// resolveTimeouts layers the step's timeouts (at path) over the defaults.
func resolveTimeouts(defaults, own *Timeouts, path string) (ActivityTimeouts, where) {
	t := ActivityTimeouts{}
	layers := []struct {
		path string
		t    *Timeouts
	}{{"/defaults/timeouts", defaults}, {path, own}}
	at := where{}
	for _, l := range layers {
		if l.t == nil {
			continue
		}
		for _, f := range timeoutFields(l.t, &t) {
			if f.src.Set {
				*f.dst, at[f.name] = f.src, l.path+"/"+f.name
			}
		}
	}
	return t, at
}

// timeoutField pairs a written timeout with the resolved one it sets.
type timeoutField struct {
	name string
	src  Duration
	dst  *Duration
}

func timeoutFields(src *Timeouts, dst *ActivityTimeouts) []timeoutField {
	return []timeoutField{
		{"start_to_close", src.StartToClose, &dst.StartToClose},
		{"schedule_to_close", src.ScheduleToClose, &dst.ScheduleToClose},
		{"heartbeat", src.Heartbeat, &dst.Heartbeat},
	}
}

// checkTimeouts reports timeouts written as zero.
func (c *compiler) checkTimeouts(t *ActivityTimeouts, at where) {
	for _, f := range []struct {
		name string
		d    Duration
	}{{"start_to_close", t.StartToClose}, {"schedule_to_close", t.ScheduleToClose}, {"heartbeat", t.Heartbeat}} {
		if f.d.Set && f.d.D == 0 {
			c.reportAt(at, f.name, f.name+" is zero", "give a duration above zero, or leave it out")
		}
	}
}

// checkTimeoutOrder reports timeouts that cannot hold together: all
// attempts shorter than one, a heartbeat not shorter than its attempt.
func (c *compiler) checkTimeoutOrder(t *ActivityTimeouts, at where) {
	if t.ScheduleToClose.Set && t.StartToClose.Set && t.ScheduleToClose.D < t.StartToClose.D && t.ScheduleToClose.D > 0 {
		c.reportAt(at, "schedule_to_close", fmt.Sprintf("schedule_to_close %s is shorter than start_to_close %s", t.ScheduleToClose, t.StartToClose), "schedule_to_close covers all attempts; make it longer")
	}
	if t.Heartbeat.Set && t.Heartbeat.D > 0 && t.StartToClose.Set && t.Heartbeat.D >= t.StartToClose.D {
		c.reportAt(at, "heartbeat", fmt.Sprintf("heartbeat %s is not shorter than start_to_close %s", t.Heartbeat, t.StartToClose), "a heartbeat timeout must be shorter than the attempt it watches")
	}
}

// reportAt reports a problem with a resolved field where it was written. A
// problem in /defaults is reported once, by the first step, not once per
// step.
func (c *compiler) reportAt(at where, field, msg, hint string) {
	p := at[field]
	if strings.HasPrefix(p, "/defaults") && c.reportedDefault(p) {
		return
	}
	c.problem(p, msg, hint)
}

// reportedDefault tells whether a problem at path has been reported.
func (c *compiler) reportedDefault(path string) bool {
	for _, p := range c.problems {
		if p.Path == path {
			return true
		}
	}
	return false
}

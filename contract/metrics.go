package contract

// Names of statedriven's own metrics, as a worker's /metrics serves them
// in Prometheus's text format. Workflow and activity code records them
// through the SDK's metrics handler (so a replay records nothing); the
// exporter appends _total to counters and _seconds to durations.
const (
	// MetricTransitions counts the records runs make, labelled from and
	// to (a state each; a step moving within PROCESSING is PROCESSING to
	// PROCESSING) and event.
	MetricTransitions = "statedriven_transitions"
	// MetricStepDuration is how long a step's action ran, one attempt,
	// labelled action and outcome (ok, error, cancelled).
	MetricStepDuration = "statedriven_step_duration"
	// MetricStepRetries counts the attempts after a step's first,
	// labelled action.
	MetricStepRetries = "statedriven_step_retries"
	// MetricRefused counts the operations a run refused, labelled kind
	// (the signal's or update's name) and via (signal, update).
	MetricRefused = "statedriven_refused_operations"
	// MetricRuns is a gauge of runs by state, as the visibility store
	// counts them (WorkflowState): open runs for the open states, every
	// run the namespace keeps for COMPLETE, FAILED and CANCELLED.
	MetricRuns = "statedriven_runs"
	// MetricProjectionLag is the time from a record to its write into
	// Redis, per batch (the batch's oldest record).
	MetricProjectionLag = "statedriven_projection_lag_seconds"
	// MetricProjectionBacklog is a gauge of the records this worker's
	// runs have made and not yet written into Redis.
	MetricProjectionBacklog = "statedriven_projection_backlog"
	// MetricProjectionFailures counts failed writes into Redis.
	MetricProjectionFailures = "statedriven_projection_write_failures_total"
)

// Values of the outcome label of MetricStepDuration.
const (
	OutcomeOK        = "ok"
	OutcomeError     = "error"
	OutcomeCancelled = "cancelled"
)

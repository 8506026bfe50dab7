package host

import "go.temporal.io/sdk/worker"

// Registrar puts a program's workflows and activities on the workers that
// Run starts. The main task queue gets both; a specialist's task queue gets
// the activities only, so that a step sent to a specialist runs the same
// code as any other step and no workflow task is ever polled there.
type Registrar interface {
	// RegisterWorkflows is called once, for the main task queue's worker.
	RegisterWorkflows(w worker.WorkflowRegistry)
	// RegisterActivities is called once per worker: the main task
	// queue's and each specialist's.
	RegisterActivities(w worker.ActivityRegistry)
}

// Registration is a Registrar made of two functions; a nil one registers
// nothing. statedriven's own is
//
//	host.Registration{
//		Workflows:  workflows.Register,
//		Activities: activities.NewRunner(reg, activities.RunnerOptions{}).Register,
//	}
type Registration struct {
	Workflows  func(worker.WorkflowRegistry)
	Activities func(worker.ActivityRegistry)
	// Configure, when set, is called once with the worker's validated
	// configuration before anything is registered: where a program hands
	// its Runner the settings it reads from the environment
	// (runner.AllowHTTP(cfg.RunnerOptions().HTTPAllow)).
	Configure func(Config)
}

// ConfigureWith calls r.Configure, if set.
func (r Registration) ConfigureWith(cfg Config) {
	if r.Configure != nil {
		r.Configure(cfg)
	}
}

// RegisterWorkflows calls r.Workflows, if set.
func (r Registration) RegisterWorkflows(w worker.WorkflowRegistry) {
	if r.Workflows != nil {
		r.Workflows(w)
	}
}

// RegisterActivities calls r.Activities, if set.
func (r Registration) RegisterActivities(w worker.ActivityRegistry) {
	if r.Activities != nil {
		r.Activities(w)
	}
}

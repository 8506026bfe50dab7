package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/statedriven/statedriven/contract"
	"github.com/statedriven/statedriven/definition"
	"github.com/statedriven/statedriven/statemachine"
)

// Register registers the interpreter workflow on w under contract.WorkflowType.
func Register(w worker.WorkflowRegistry) {
	w.RegisterWorkflowWithOptions(StateDriven, workflow.RegisterOptions{Name: contract.WorkflowType})
	w.RegisterWorkflowWithOptions(MapBatch, workflow.RegisterOptions{Name: MapBatchWorkflowType})
}

// handlers installs the queries, the signal loop and the updates. Queries
// answer from memory; they never block and never change the run.
func (r *run) handlers(ctx workflow.Context) error {
	queries := []struct {
		name, desc string
		handler    any
	}{
		{contract.QueryState, "the state, the running steps, and the step next", func() (contract.StateView, error) { return r.stateView(), nil }},
		{contract.QueryProgress, "progress as the Redis projection serves it", func() (contract.Progress, error) { return r.progress(ctx), nil }},
		{contract.QueryHistory, `the transition records, with who and why; {"from_seq": N, "limit": M} pages`, r.historyPage},
		{contract.QueryDefinition, "the compiled plan the run follows", func() (definition.Plan, error) { return *r.plan, nil }},
	}
	for _, q := range queries {
		if err := workflow.SetQueryHandlerWithOptions(ctx, q.name, q.handler, workflow.QueryHandlerOptions{Description: q.desc}); err != nil {
			return fmt.Errorf("set query handler %s: %w", q.name, err)
		}
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateApprove,
		func(ctx workflow.Context, in contract.Reason) (contract.StateView, error) {
			r.review = &decision{approved: true, reason: in.Reason, who: whoOf(in.Who)}
			return r.stateView(), nil
		},
		workflow.UpdateHandlerOptions{Validator: refusing(ctx, contract.UpdateApprove, func(in contract.Reason) error { return r.canDecide() }), Description: `{"reason": "…", "who": "…"}: approve the review the run waits on`},
	); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateReject,
		func(ctx workflow.Context, in contract.Reason) (contract.StateView, error) {
			r.review = &decision{approved: false, reason: in.Reason, who: whoOf(in.Who)}
			return r.stateView(), nil
		},
		workflow.UpdateHandlerOptions{Validator: refusing(ctx, contract.UpdateReject, func(in contract.Reason) error { return r.canDecide() }), Description: `{"reason": "…", "who": "…"}: reject the review the run waits on`},
	); err != nil {
		return err
	}
	if err := r.registerControl(ctx); err != nil {
		return err
	}
	workflow.Go(ctx, r.signalLoop)
	return nil
}

// signalDescriptions are what the Web UI lists beside each signal.
var signalDescriptions = map[string]string{
	contract.SignalPause:  `pause the run ({"reason", "who"} optional): no new step starts; a refusal is noted in the history`,
	contract.SignalResume: `resume a paused run ({"reason", "who"} optional); a refusal is noted in the history`,
	contract.SignalCancel: `cancel the run ({"reason", "who"} optional): the completed steps' compensations run, newest first, then CANCELLED`,
}

func signalChannel(ctx workflow.Context, name string) workflow.ReceiveChannel {
	return workflow.GetSignalChannelWithOptions(ctx, name, workflow.SignalChannelOptions{Description: signalDescriptions[name]})
}

// canDecide is the validator of approve and reject: it refuses a decision
// the run is not waiting for, before the request reaches the history.
func (r *run) canDecide() error {
	switch st := r.m.State(); {
	case st == statemachine.Paused:
		return errors.New("the run is paused: resume it before deciding its review")
	case st != statemachine.Review:
		return fmt.Errorf("the run is %s, not waiting for a review", st)
	case r.review != nil:
		return errors.New("the review has already been decided")
	}
	return nil
}

// historyPage answers the history query: the kept records, or a page of
// them. It never answers null, so a caller always gets a JSON list.
func (r *run) historyPage(req contract.HistoryRequest) ([]statemachine.Record, error) {
	limit := req.Limit
	if limit <= 0 || limit > contract.MaxHistoryPage {
		limit = contract.MaxHistoryPage
	}
	from := req.FromSeq
	if from == 0 {
		// The newest, without a start: the last limit records made.
		from = r.m.Seq() - min(r.m.Seq(), uint64(limit)) + 1
	}
	page := r.m.HistoryPage(from, limit)
	if page == nil {
		page = []statemachine.Record{}
	}
	return page, nil
}

func (r *run) stateView() contract.StateView {
	v := contract.StateView{State: r.m.State(), CurrentSteps: r.currentSteps(), PlanHash: r.plan.Hash, RollingBack: r.rolling != ""}
	if r.running == nil && !v.State.Terminal() {
		v.Next = r.next
	}
	if v.State == statemachine.Paused {
		v.Resumes = r.m.Resumes()
	}
	if last, ok := r.m.Last(); ok {
		v.Seq = last.Seq
	}
	return v
}

func (r *run) currentSteps() []string {
	if len(r.current) == 0 {
		return []string{} // [] in the JSON, never null
	}
	return append([]string(nil), r.current...)
}

// progress is the DESIGN.md progress JSON, as the Redis projection also
// serves it.
func (r *run) progress(ctx workflow.Context) contract.Progress {
	info := workflow.GetInfo(ctx)
	st := r.m.State()
	p := contract.Progress{
		WorkflowID:         info.WorkflowExecution.ID,
		RunID:              info.WorkflowExecution.RunID,
		Definition:         r.plan.Name,
		Status:             st.String(),
		CurrentSteps:       r.currentSteps(),
		ProgressPercentage: r.m.Progress(),
		IsComplete:         st == statemachine.Complete,
		CompletedSteps:     r.m.CompletedCount(),
		TotalSteps:         max(r.m.Total(), r.m.CompletedCount()),
		Paused:             st == statemachine.Paused,
		Error:              r.errMsg,
	}
	if last, ok := r.m.Last(); ok {
		p.UpdatedAt, p.Seq = last.At, last.Seq
	} else {
		p.UpdatedAt = info.WorkflowStartTime
	}
	return p
}

// signalLoop receives pause, resume and cancel for the life of the run.
func (r *run) signalLoop(ctx workflow.Context) {
	pause := signalChannel(ctx, contract.SignalPause)
	resume := signalChannel(ctx, contract.SignalResume)
	cancel := signalChannel(ctx, contract.SignalCancel)
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(pause, func(c workflow.ReceiveChannel, _ bool) { r.onSignal(ctx, contract.SignalPause, receive(ctx, c)) })
	sel.AddReceive(resume, func(c workflow.ReceiveChannel, _ bool) { r.onSignal(ctx, contract.SignalResume, receive(ctx, c)) })
	sel.AddReceive(cancel, func(c workflow.ReceiveChannel, _ bool) { r.onSignal(ctx, contract.SignalCancel, receive(ctx, c)) })
	for {
		sel.Select(ctx)
	}
}

// drainSignals applies signals already delivered but not yet received, so
// that continue-as-new loses none.
func (r *run) drainSignals(ctx workflow.Context) {
	for _, name := range []string{contract.SignalPause, contract.SignalResume, contract.SignalCancel} {
		c := signalChannel(ctx, name)
		for {
			var payload any
			ok := c.ReceiveAsync(&payload)
			if !ok {
				break
			}
			r.onSignal(ctx, name, requestOf(payload))
		}
	}
}

// receive takes one signal's optional payload: {"reason": "…"} or a bare
// string, as the Temporal CLI's --input makes either easy.
func receive(ctx workflow.Context, c workflow.ReceiveChannel) contract.Reason {
	var payload any
	c.Receive(ctx, &payload)
	return requestOf(payload)
}

func requestOf(payload any) contract.Reason {
	switch p := payload.(type) {
	case string:
		return contract.Reason{Reason: p}
	case map[string]any:
		var req contract.Reason
		req.Reason, _ = p["reason"].(string)
		req.Who, _ = p["who"].(string)
		return req
	}
	return contract.Reason{}
}

// onSignal applies pause, resume or cancel. A signal the run cannot act
// on now (resume while running, pause after the end) is recorded in the
// log and otherwise ignored: signals cannot be refused to their sender.
func (r *run) onSignal(ctx workflow.Context, name string, req contract.Reason) {
	now := workflow.Now(ctx)
	reason := req.Reason
	var who string
	if r.control {
		who = whoOf(req.Who)
	}
	var err error
	switch name {
	case contract.SignalPause:
		if _, err = r.m.PauseWith(statemachine.Cause{Reason: reason, Who: who}, now); err == nil {
			r.paused = true
		}
	case contract.SignalResume:
		if _, err = r.m.ResumeWith(statemachine.Cause{Reason: reason, Who: who}, now); err == nil {
			r.paused = false
		}
	case contract.SignalCancel:
		if r.m.State().Terminal() {
			err = fmt.Errorf("the run is %s already", r.m.State())
			break
		}
		if r.control && r.cancelled != nil {
			err = errors.New("the run is being cancelled already")
			break
		}
		if reason == "" {
			reason = "cancelled by signal"
		}
		r.cancelled, r.cancelWho = &reason, who
		r.cancelStep()
		return
	}
	if err != nil {
		r.logger.Warn("signal ignored", "signal", name, "state", r.m.State().String(), "err", err)
		if r.control {
			r.noteRefused(ctx, name, req.Who, err)
		}
		return
	}
	r.logger.Info("signal applied", "signal", name, "state", r.m.State().String(), "reason", reason)
	r.afterTransition(ctx)
}

// runHook runs a hook action; a failing hook is logged and does not stop
// the run, since it reports on the run rather than doing its work.
func (r *run) runHook(ctx workflow.Context, h definition.Action) {
	s := &definition.PlanStep{Name: "hook:" + r.m.State().String(), Params: h.Params, Timeouts: &definition.DefaultTimeouts}
	s.Retry = &definition.RetryPolicy{InitialInterval: definition.DefaultRetry.InitialInterval, BackoffCoefficient: 2, MaximumInterval: definition.DefaultRetry.MaximumInterval, MaximumAttempts: 1}
	if _, f := r.activity(ctx, s, h.Action, h.Specialist, r.inputData()).get(ctx); f != nil {
		r.logger.Warn("hook failed", "hook", h.Action, "state", r.m.State().String(), "err", f.String())
	}
}

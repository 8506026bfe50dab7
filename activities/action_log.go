package activities

import (
	"context"
	"fmt"

	"github.com/statedriven/statedriven/activities/builtin"
	"github.com/statedriven/statedriven/contract"
)

// logAction writes params.message to the worker's log at params.level.
// Without a message it logs the step's name and its input, so a log step
// written as a trace point (`action: log` and nothing else) does what it
// says instead of failing.
func logAction(ctx context.Context, in contract.StepInput) (any, error) {
	p, problems := builtin.ParseLog(in.Params)
	if err := paramsError(problems); err != nil {
		return nil, err
	}
	logger := stepLogger(ctx, in)
	msg, keyvals := p.Message, []any(nil)
	if msg == "" {
		msg = fmt.Sprintf("step %s", in.Step)
		keyvals = []any{"input", in.Input}
	}
	switch p.Level {
	case "debug":
		logger.Debug(msg, keyvals...)
	case "warn":
		logger.Warn(msg, keyvals...)
	case "error":
		logger.Error(msg, keyvals...)
	default:
		logger.Info(msg, keyvals...)
	}
	return map[string]any{"message": msg}, nil
}

package activities

import "context"

// logAction writes params.message to the worker's log at params.level.
func logAction(ctx context.Context, in StepInput) (any, error) {
	msg, ok, err := stringParam(in.Params, "message")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, badParams("message", "it is required; give the text to log")
	}
	level, ok, err := stringParam(in.Params, "level")
	if err != nil {
		return nil, err
	}
	if !ok {
		level = "info"
	}
	logger := stepLogger(ctx, in)
	switch level {
	case "debug":
		logger.Debug(msg)
	case "info":
		logger.Info(msg)
	case "warn":
		logger.Warn(msg)
	case "error":
		logger.Error(msg)
	default:
		return nil, badParams("level", "%q is not a level; use debug, info, warn or error", level)
	}
	return map[string]any{"message": msg}, nil
}

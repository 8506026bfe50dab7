package builtin

// LogParams are the log action's params.
type LogParams struct {
	// Message is the text to log; "" when the step gave none, and the
	// action then logs the step's name and input.
	Message string
	// Level is debug, info (the default), warn or error.
	Level string
}

// ParseLog decodes the log action's params: message optional, level one
// of the four.
func ParseLog(params map[string]any) (LogParams, Problems) {
	var ps Problems
	p := LogParams{Level: "info"}
	p.Message, _ = ps.stringParam(params, "message")
	if level, ok := ps.stringParam(params, "level"); ok {
		switch level {
		case "debug", "info", "warn", "error":
			p.Level = level
		default:
			ps.add("level", "use debug, info, warn or error", "%q is not a level", level)
		}
	}
	return p, ps
}

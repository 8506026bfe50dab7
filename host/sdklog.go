package host

import (
	"fmt"
	"strings"
	"unicode"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewSDKLogger routes the Temporal SDK's logs — the client's, the
// workers', and workflow.GetLogger and activity.GetLogger in user code —
// into zl. The SDK's key-value pairs become zap fields; their keys are put
// in snake_case ("WorkflowID" becomes "workflow_id", "TaskQueue"
// "task_queue") so they line up with statedriven's own keys. The logger
// also implements log.WithLogger and log.WithSkipCallers.
func NewSDKLogger(zl *zap.Logger) log.Logger {
	return sdkLogger{zl: zl}
}

type sdkLogger struct{ zl *zap.Logger }

var (
	_ log.Logger          = sdkLogger{}
	_ log.WithLogger      = sdkLogger{}
	_ log.WithSkipCallers = sdkLogger{}
)

func (l sdkLogger) Debug(msg string, keyvals ...any) { l.write(zapcore.DebugLevel, msg, keyvals) }
func (l sdkLogger) Info(msg string, keyvals ...any)  { l.write(zapcore.InfoLevel, msg, keyvals) }
func (l sdkLogger) Warn(msg string, keyvals ...any)  { l.write(zapcore.WarnLevel, msg, keyvals) }
func (l sdkLogger) Error(msg string, keyvals ...any) { l.write(zapcore.ErrorLevel, msg, keyvals) }

// With returns a logger that adds keyvals to every entry.
func (l sdkLogger) With(keyvals ...any) log.Logger {
	return sdkLogger{zl: l.zl.With(fields(keyvals)...)}
}

// WithCallerSkip returns a logger that reports the caller depth frames
// further up, for loggers that wrap this one.
func (l sdkLogger) WithCallerSkip(depth int) log.Logger {
	return sdkLogger{zl: l.zl.WithOptions(zap.AddCallerSkip(depth))}
}

func (l sdkLogger) write(level zapcore.Level, msg string, keyvals []any) {
	// Check first, so that fields are built only for entries written.
	if ce := l.zl.Check(level, msg); ce != nil {
		ce.Write(fields(keyvals)...)
	}
}

// badKey names a value that came without a key, as log/slog does.
const badKey = "!BADKEY"

// fields turns alternating keys and values into zap fields. A key that is
// not a string is printed; a last value without a key is kept under
// "!BADKEY" rather than lost.
func fields(keyvals []any) []zap.Field {
	if len(keyvals) == 0 {
		return nil
	}
	out := make([]zap.Field, 0, (len(keyvals)+1)/2)
	for i := 0; i < len(keyvals); i += 2 {
		if i+1 == len(keyvals) {
			out = append(out, zap.Any(badKey, keyvals[i]))
			break
		}
		key, ok := keyvals[i].(string)
		if !ok {
			key = fmt.Sprint(keyvals[i])
		}
		key = snakeCase(key)
		if err, ok := keyvals[i+1].(error); ok {
			out = append(out, zap.NamedError(key, err))
			continue
		}
		out = append(out, zap.Any(key, keyvals[i+1]))
	}
	return out
}

// snakeCase turns "WorkflowID" into "workflow_id" and "HTTPServer" into
// "http_server"; a key already in snake_case is returned as it is.
func snakeCase(s string) string {
	if strings.IndexFunc(s, unicode.IsUpper) < 0 {
		return s
	}
	r := []rune(s)
	var b strings.Builder
	b.Grow(len(s) + 4)
	for i, c := range r {
		if unicode.IsUpper(c) {
			if i > 0 && r[i-1] != '_' {
				prevLowerOrDigit := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
				acronymEnd := unicode.IsUpper(r[i-1]) && i+1 < len(r) && unicode.IsLower(r[i+1])
				if prevLowerOrDigit || acronymEnd {
					b.WriteByte('_')
				}
			}
			b.WriteRune(unicode.ToLower(c))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

package workflows

import (
	"encoding/json"
	"fmt"
)

// ErrTypePayloadTooLarge: something the engine was about to send to
// Temporal (a step's input, a result it keeps, the state carried across
// continue-as-new) is over PayloadLimit. The step, or the run, fails with
// it instead of leaving the run stuck on a workflow task that the server
// refuses again and again; a definition can route it with conditions.
const ErrTypePayloadTooLarge = "PayloadTooLarge"

// PayloadLimit is the largest payload the engine sends. Temporal refuses
// a payload over 2 MiB by default (limit.blobSize.error) and warns over
// 512 KiB; the margin below 2 MiB leaves room for the rest of the command
// that carries it.
const PayloadLimit = 1536 << 10

// checkPayload measures v as the SDK's JSON converter will encode it and
// returns a failure naming what and by how much when it is over
// PayloadLimit; hint says what to do about it.
func checkPayload(what string, v any, hint string) *failure {
	data, err := json.Marshal(v)
	if err != nil {
		return &failure{Type: ErrTypeInternal, Message: fmt.Sprintf("%s cannot be encoded: %v", what, err)}
	}
	if len(data) <= PayloadLimit {
		return nil
	}
	return &failure{Type: ErrTypePayloadTooLarge, Message: fmt.Sprintf("%s is %d bytes, over the limit of %d: %s", what, len(data), PayloadLimit, hint)}
}

package definition

import (
	"fmt"
	"strconv"

	"github.com/statedriven/statedriven/statemachine"
)

// hooks checks one field of hooks (on_enter or on_exit, which get picks):
// every key a state, every hook an action. Keys are normalised to the
// state's name.
func (c *compiler) hooks(field string, h *Hooks, get func(*Hooks) map[string][]Action) map[string][]Action {
	if h == nil {
		return nil
	}
	m := get(h)
	if len(m) == 0 {
		return nil
	}
	out := map[string][]Action{}
	var states []string
	for _, s := range statemachine.States() {
		states = append(states, s.String())
	}
	for _, key := range sortedKeys(m) {
		path := "/hooks/" + field + "/" + pointerEscape(key)
		st, err := statemachine.ParseState(key)
		if err != nil {
			hint, _ := suggest(key, states, "use one of: ")
			c.problem(path, fmt.Sprintf("%q is not a state", key), hint)
			continue
		}
		for j, a := range m[key] {
			if a.Action == "" {
				c.problem(path+"/"+strconv.Itoa(j), "hook has no action", "add action: the action to run")
			}
			c.actionParams(path+"/"+strconv.Itoa(j), a.Action, a.Specialist, a.Params)
		}
		out[st.String()] = m[key]
	}
	return out
}

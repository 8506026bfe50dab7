package definition

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a length of time written the Go way ("90s", "5m", "1h30m").
// A Duration that was not written is distinct from one written as zero, so
// that "0s" can be refused where zero makes no sense.
type Duration struct {
	D   time.Duration
	Set bool
}

// String returns the Go form, or "" when not set.
func (d Duration) String() string {
	if !d.Set {
		return ""
	}
	return d.D.String()
}

// MarshalJSON writes the Go form, so plans read well and hash stably.
func (d Duration) MarshalJSON() ([]byte, error) {
	if !d.Set {
		return []byte("null"), nil
	}
	return json.Marshal(d.D.String())
}

// UnmarshalJSON reads the Go form or null.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Duration{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration{D: v, Set: true}
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: write it like 30s, 5m or 1h30m", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("%q is negative: a duration must be zero or more", s)
	}
	return v, nil
}

package projection

import "time"

// Defaults that Options.WithDefaults fills in.
const (
	// DefaultPrefix starts every key: "wf:{ID}", "wf:{ID}:history",
	// "wf:{ID}:events", "wf:index".
	DefaultPrefix = "wf"
	// DefaultTTL is how long a run's keys live after its last write.
	DefaultTTL = 24 * time.Hour
	// DefaultMaxHistory is how many of the newest records a run's history
	// list keeps.
	DefaultMaxHistory = 10000
)

// Options says where a run's mirror lives and how long it stays. The zero
// value is the default: prefix "wf", keys expire 24 h after the last
// write, the history list keeps the newest 10000 records.
type Options struct {
	// Prefix starts every key. Default "wf".
	Prefix string
	// TTL is how long a run's hash and list live after its last write.
	// Zero or negative means the default, 24 h.
	TTL time.Duration
	// MaxHistory bounds a run's history list to its newest records
	// (older ones are trimmed). Zero means the default, 10000; negative
	// means no bound.
	MaxHistory int
}

// WithDefaults returns a copy of o with every unset field given its
// default.
func (o Options) WithDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.MaxHistory == 0 {
		o.MaxHistory = DefaultMaxHistory
	}
	return o
}

// keys names the Redis keys of one run. The braces make the ID a Redis
// Cluster hash tag, so the hash and the list share a slot and one script
// may touch both.
type keys struct {
	progress string // hash
	history  string // list
	events   string // pub/sub channel
	stamp    string // hash: which workflow task wrote last
}

func (o Options) keysOf(id string) keys {
	base := o.Prefix + ":{" + id + "}"
	return keys{progress: base, history: base + ":history", events: base + ":events", stamp: base + ":writer"}
}

// indexKey names the sorted set of every mirrored run. It has no hash tag
// of a run, so in a cluster it lives in a slot of its own.
func (o Options) indexKey() string { return o.Prefix + ":index" }

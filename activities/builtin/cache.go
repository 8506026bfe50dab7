package builtin

import "sync"

// cacheSize bounds each compile cache: definitions have few distinct
// schemas and mappings, so this many covers a worker's working set while a
// stream of generated ones cannot grow memory without limit.
const cacheSize = 256

// cache is a small bounded map for compiled schemas and expressions, keyed
// by their source. When full, it drops an arbitrary entry: a miss only
// costs a compile.
type cache[V any] struct {
	mu sync.Mutex
	m  map[string]V
}

func (c *cache[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok
}

func (c *cache[V]) put(key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]V)
	}
	if _, ok := c.m[key]; !ok && len(c.m) >= cacheSize {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[key] = v
}

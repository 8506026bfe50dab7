package expression

import (
	"strconv"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// jsonSize estimates the length of v encoded as JSON: exact for numbers,
// booleans, null and the punctuation, and a lower bound for strings (their
// escapes are not counted). It stops as soon as the size passes limit, so
// measuring costs no more than the limit however large, or however shared,
// the value is; a result is measured before it is converted, which is where
// a lazily built list would otherwise be copied out in full. Whether it
// passes the limit does not depend on the order maps are walked in; the
// size it returns past the limit does.
func jsonSize(v ref.Val, limit int) (int, bool) {
	m := sizer{limit: limit}
	ok := m.walk(v)
	return m.n, ok
}

type sizer struct {
	n, limit int
	scratch  [32]byte
}

func (m *sizer) walk(v ref.Val) bool {
	switch c := v.(type) {
	case types.String:
		m.n += len(c) + 2
	case types.Bytes:
		m.n += (len(c)+2)/3*4 + 2 // base64, as protojson writes bytes
	case types.Double:
		m.n += len(strconv.AppendFloat(m.scratch[:0], float64(c), 'g', -1, 64))
	case types.Int:
		m.n += len(strconv.AppendInt(m.scratch[:0], int64(c), 10))
	case types.Uint:
		m.n += len(strconv.AppendUint(m.scratch[:0], uint64(c), 10))
	case types.Bool:
		m.n += 5
		if c {
			m.n-- // true
		}
	case traits.Lister:
		if native, ok := c.Value().([]any); ok {
			// Data as decoded from JSON (input, steps, item): measured as
			// Go values, without wrapping every element in a CEL value.
			return m.walkNative(native)
		}
		m.n++ // [, and one comma or ] per element
		if c.Size() == types.IntZero {
			m.n++
		}
		for it := c.Iterator(); it.HasNext() == types.True; {
			m.n++
			if !m.walk(it.Next()) {
				return false
			}
		}
	case traits.Mapper:
		if native, ok := c.Value().(map[string]any); ok {
			return m.walkNative(native)
		}
		m.n++ // {, and one colon and one comma or } per entry
		if c.Size() == types.IntZero {
			m.n++
		}
		for it := c.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			m.n += 2
			if !m.walk(k) || !m.walk(c.Get(k)) {
				return false
			}
		}
	default:
		m.n += 4 // null, or something the conversion refuses with its own error
	}
	return m.n <= m.limit
}

func (m *sizer) walkNative(v any) bool {
	switch c := v.(type) {
	case string:
		m.n += len(c) + 2
	case float64:
		m.n += len(strconv.AppendFloat(m.scratch[:0], c, 'g', -1, 64))
	case bool:
		m.n += 5
		if c {
			m.n--
		}
	case nil:
		m.n += 4
	case []any:
		m.n++
		if len(c) == 0 {
			m.n++
		}
		for _, e := range c {
			m.n++
			if !m.walkNative(e) {
				return false
			}
		}
	case map[string]any:
		m.n++
		if len(c) == 0 {
			m.n++
		}
		for k, e := range c { // the sum does not depend on the order
			m.n += len(k) + 4
			if !m.walkNative(e) {
				return false
			}
		}
	default:
		return m.walk(types.DefaultTypeAdapter.NativeToValue(c))
	}
	return m.n <= m.limit
}

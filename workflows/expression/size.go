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
// a lazily built list would otherwise be copied out in full.
func jsonSize(v ref.Val, limit int) (int, bool) {
	n := 0
	var scratch [32]byte
	var walk func(ref.Val) bool
	walk = func(v ref.Val) bool {
		switch c := v.(type) {
		case types.String:
			n += len(c) + 2
		case types.Bytes:
			n += (len(c)+2)/3*4 + 2 // base64, as protojson writes bytes
		case types.Double:
			n += len(strconv.AppendFloat(scratch[:0], float64(c), 'g', -1, 64))
		case types.Int:
			n += len(strconv.AppendInt(scratch[:0], int64(c), 10))
		case types.Uint:
			n += len(strconv.AppendUint(scratch[:0], uint64(c), 10))
		case types.Bool:
			n += 5
		case traits.Lister:
			n += 2
			first := true
			for it := c.Iterator(); it.HasNext() == types.True; {
				if !first {
					n++
				}
				first = false
				if !walk(it.Next()) {
					return false
				}
			}
		case traits.Mapper:
			n += 2
			first := true
			for it := c.Iterator(); it.HasNext() == types.True; {
				if !first {
					n++
				}
				first = false
				k := it.Next()
				n++ // the colon
				if !walk(k) || !walk(c.Get(k)) {
					return false
				}
			}
		default:
			n += 4 // null, or something the conversion refuses with its own error
		}
		return n <= limit
	}
	ok := walk(v)
	return n, ok
}

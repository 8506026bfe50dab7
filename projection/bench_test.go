package projection_test

import (
	"testing"

	"github.com/statedriven/statedriven/projection"
	"github.com/statedriven/statedriven/projection/redistest"
)

// BenchmarkWrite writes one batch (one new record and the progress) per
// op to a local redis-server: the script, and the index's ZADD.
func BenchmarkWrite(b *testing.B) {
	tb := setup(b, redistest.Start(b).URL(), projection.Options{})
	b.ReportAllocs()
	seq := uint64(0)
	for b.Loop() {
		seq++
		if _, err := tb.writer.Write(tb.ctx, batch("bench", seq, seq)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProgressRead reads one run's progress (one HGETALL) per op
// from a local redis-server.
func BenchmarkProgressRead(b *testing.B) {
	tb := setup(b, redistest.Start(b).URL(), projection.Options{})
	if _, err := tb.writer.Write(tb.ctx, batch("bench", 1, 5)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tb.reader.Progress(tb.ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

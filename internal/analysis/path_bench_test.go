package analysis_test

import (
	"io"
	"math"
	"path/filepath"
	"testing"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/analysis"
	"github.com/tracetop/tracetop/internal/state"
	"github.com/tracetop/tracetop/internal/testenv"
)

// BenchmarkPath splits the cost of one event on the path ctf.Read ->
// state.Apply -> analysis on the largest shared kernel trace: reading
// only, reading and applying to the model, and the whole forward pass of
// the top (model, checkpoints, 1 s interval figures). It reports ns per
// event of each stage.
func BenchmarkPath(b *testing.B) {
	for _, name := range []string{"tracecompass/many-threads/trace", "tracevizlab/wget-k"} {
		dir := filepath.Join(testenv.SharedDir(b, "traces"), name)
		b.Run(filepath.Base(filepath.Dir(name))+"/"+filepath.Base(name)+"/read", func(b *testing.B) { benchStage(b, dir, 0) })
		b.Run(filepath.Base(filepath.Dir(name))+"/"+filepath.Base(name)+"/apply", func(b *testing.B) { benchStage(b, dir, 1) })
		b.Run(filepath.Base(filepath.Dir(name))+"/"+filepath.Base(name)+"/history", func(b *testing.B) { benchStage(b, dir, 2) })
	}
}

func benchStage(b *testing.B, dir string, stage int) {
	var events uint64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		src, err := ctf.Open([]string{dir}, ctf.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		events = 0
		switch stage {
		case 0, 1:
			m := state.New()
			var ev ctf.Event
			for {
				if err := src.Read(&ev); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
				events++
				if stage == 1 {
					m.Apply(&ev)
				}
			}
		case 2:
			h := analysis.NewHistorySource(src, nil, analysis.Options{Interval: 1e9})
			if err := h.Advance(math.MaxInt64); err != io.EOF {
				b.Fatal(err)
			}
			events = h.Head().Events()
		}
		src.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(events), "ns/event")
	b.ReportMetric(float64(events), "events")
}

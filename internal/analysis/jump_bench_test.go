package analysis_test

import (
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/analysis"
)

// BenchmarkJumpLarge is the time travel of the top on a large trace: the
// history reads the trace TRACETOP_JUMP_TRACE once (checkpoints as it
// goes, not timed), then jumps to random times: the state at T
// (StateAt) and the figures of the second before T (Figures, replayed
// from the nearest checkpoint, as Left/g do on the screen). It prints the
// trace size, the median and the worst jump (goal: under 200 ms for a
// 1 GB trace). bench/analysis.sh records such a trace; without the
// variable the benchmark is skipped.
func BenchmarkJumpLarge(b *testing.B) {
	dir := os.Getenv("TRACETOP_JUMP_TRACE")
	if dir == "" {
		b.Skip("set TRACETOP_JUMP_TRACE to a trace folder (bench/analysis.sh does)")
	}
	jumps := 50
	var size int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
		return nil
	})
	open := func() (ctf.Source, error) { return ctf.Open([]string{dir}, ctf.Options{}) }
	for b.Loop() {
		b.StopTimer()
		t0 := time.Now()
		h, err := analysis.NewHistory(open, analysis.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := h.Advance(math.MaxInt64); err != io.EOF {
			b.Fatal(err)
		}
		forward := time.Since(t0)
		first, last := h.Bounds()
		rng := rand.New(rand.NewPCG(1, 2))
		var state, window []time.Duration
		b.StartTimer()
		for range jumps {
			t := first + rng.Int64N(max(last-first, 1))
			s0 := time.Now()
			if _, err := h.StateAt(t); err != nil {
				b.Fatal(err)
			}
			state = append(state, time.Since(s0))
			s0 = time.Now()
			if _, err := h.Figures(max(t-int64(time.Second), first), t); err != nil {
				b.Fatal(err)
			}
			window = append(window, time.Since(s0))
		}
		b.StopTimer()
		h.Close()
		med := func(d []time.Duration) (time.Duration, time.Duration) {
			sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
			return d[len(d)/2], d[len(d)-1]
		}
		sm, sw := med(state)
		wm, ww := med(window)
		b.Logf("trace %.2f GB, %d events over %.1f s, %d checkpoints, forward pass %.1f s",
			float64(size)/1e9, h.Head().Events(), float64(last-first)/1e9, len(h.Checkpoints()), forward.Seconds())
		b.Logf("jump to T (StateAt), %d random times: median %v, worst %v (goal < 200 ms)", jumps, sm.Round(time.Millisecond), sw.Round(time.Millisecond))
		b.Logf("figures of [T-1s, T[, %d random times: median %v, worst %v", jumps, wm.Round(time.Millisecond), ww.Round(time.Millisecond))
		b.ReportMetric(float64(sm.Milliseconds()), "ms-median")
		b.ReportMetric(float64(sw.Milliseconds()), "ms-worst")
		b.ReportMetric(float64(size)/1e9, "GB")
		b.StartTimer()
	}
}

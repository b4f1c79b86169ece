package analysis_test

import (
	"io"
	"math"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/analysis"
	"github.com/tracetop/tracetop/internal/state"
	"github.com/tracetop/tracetop/internal/testenv"
)

func opener(dir string) analysis.Opener {
	return func() (ctf.Source, error) { return ctf.Open([]string{dir}, ctf.Options{}) }
}

// TestHistoryEqualsOnePass: any window recomputed from checkpoints (with
// seeking) gives the same figures as the one-pass computation, and the
// forward pass grid too.
func TestHistoryEqualsOnePass(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t, "traces"), "tracevizlab/wget-k/trace")
	const step = 10_000_000 // 10 ms
	var want []*analysis.Figures
	src, err := ctf.Open([]string{dir}, ctf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := analysis.Intervals(src, analysis.Window{Step: step}, func(f *analysis.Figures) error {
		want = append(want, f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	src.Close()
	if len(want) < 5 {
		t.Fatalf("%d intervals", len(want))
	}
	h, err := analysis.NewHistory(opener(dir), analysis.Options{CheckpointEvery: 1000, Interval: step})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.Advance(math.MaxInt64); err != io.EOF {
		t.Fatalf("advance: %v", err)
	}
	if n := len(h.Checkpoints()); n < 10 {
		t.Errorf("%d checkpoints, want many", n)
	}
	grid := h.Intervals()
	if len(grid) != len(want) {
		t.Fatalf("%d grid windows, one pass %d", len(grid), len(want))
	}
	for i, w := range want {
		if d := cmp.Diff(w, grid[i]); d != "" {
			t.Errorf("grid window %d differs (-one pass +history):\n%.2000s", i, d)
		}
	}
	// Replayed windows (a history without grid), backwards, as a user
	// moving back in time.
	h2, err := analysis.NewHistory(opener(dir), analysis.Options{CheckpointEvery: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	h2.Advance(math.MaxInt64)
	for i := len(want) - 2; i >= 0; i-- {
		w := want[i]
		f, err := h2.Figures(w.Begin, w.End)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(w, f); d != "" {
			t.Errorf("replayed window %d differs (-one pass +history):\n%.2000s", i, d)
		}
	}
}

// TestStateAt: the state at T has the threads alive at T and the details
// of a process list its open files.
func TestStateAtAndDetails(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t, "traces"), "tracevizlab/wget-k/trace")
	h, err := analysis.NewHistory(opener(dir), analysis.Options{CheckpointEvery: 2000})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h.Advance(math.MaxInt64)
	first, last := h.Bounds()
	mid := first + (last-first)/2
	m, err := h.StateAt(mid)
	if err != nil {
		t.Fatal(err)
	}
	if m.Now() >= mid {
		t.Errorf("state at %d holds an event at %d", mid, m.Now())
	}
	// The same state by applying every event below mid.
	src, _ := ctf.Open([]string{dir}, ctf.Options{})
	defer src.Close()
	ref := state.New()
	var ev ctf.Event
	for src.Read(&ev) == nil && ev.NS < mid {
		ref.Apply(&ev)
	}
	if len(ref.Threads()) != len(m.Threads()) || ref.Events() != m.Events() {
		t.Errorf("StateAt: %d threads %d events, reference %d threads %d events",
			len(m.Threads()), m.Events(), len(ref.Threads()), ref.Events())
	}
	// wget (pid 14312) is born in the trace, opens files and sockets.
	d, err := h.Details(14312, first, last+1)
	if err != nil {
		t.Fatal(err)
	}
	if d.Process.Comm != "wget" || d.Process.Born == 0 || len(d.Threads) != 1 {
		t.Errorf("details: comm %q born %d threads %d", d.Process.Comm, d.Process.Born, len(d.Threads))
	}
	if d.Figures.Read == 0 || d.Figures.Written == 0 {
		t.Errorf("wget moved no byte: %+v", d.Figures)
	}
	t.Logf("wget at end: %d open files, read %d written %d, %d syscall kinds", len(d.Files), d.Figures.Read, d.Figures.Written, len(d.Figures.Syscalls))
}

// BenchmarkJump measures reaching a time T of the largest shared kernel
// trace: restore the checkpoint at or before T (reader seek) and replay at
// most one checkpoint interval.
func BenchmarkJump(b *testing.B) {
	dir := filepath.Join(testenv.SharedDir(b, "traces"), "tracecompass/many-threads/trace")
	h, err := analysis.NewHistory(opener(dir), analysis.Options{CheckpointEvery: 1 << 15})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	h.Advance(math.MaxInt64)
	first, last := h.Bounds()
	b.ReportAllocs()
	i := int64(0)
	for b.Loop() {
		// Times spread over the trace, not in order.
		t := first + (last-first)*((i*7919)%100)/100
		i++
		if _, err := h.StateAt(t); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(h.Checkpoints())), "checkpoints")
}

// BenchmarkWholeTrace is the one-pass full-trace figures of the largest
// shared kernel trace.
func BenchmarkWholeTrace(b *testing.B) {
	dir := filepath.Join(testenv.SharedDir(b, "traces"), "tracecompass/many-threads/trace")
	b.ReportAllocs()
	for b.Loop() {
		src, err := ctf.Open([]string{dir}, ctf.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := analysis.Intervals(src, analysis.Window{}, func(*analysis.Figures) error { return nil }); err != nil {
			b.Fatal(err)
		}
		src.Close()
	}
}

// TestHistorySlotsCompose: with slots, any window made of whole slots
// (and of the intervals older slots were merged into) is answered from
// memory by merging them, and equals the same window replayed from the
// checkpoints; the intervals equal the one-pass computation.
func TestHistorySlotsCompose(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t, "traces"), "tracevizlab/wget-k/trace")
	const interval, slot = 30_000_000, 10_000_000
	var want []*analysis.Figures
	src, err := ctf.Open([]string{dir}, ctf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := analysis.Intervals(src, analysis.Window{Step: interval}, func(f *analysis.Figures) error {
		want = append(want, f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	src.Close()
	h, err := analysis.NewHistory(opener(dir), analysis.Options{CheckpointEvery: 1000, Interval: interval,
		Slot: slot, KeepSlots: 6, KeepIntervals: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.Advance(math.MaxInt64); err != io.EOF {
		t.Fatalf("advance: %v", err)
	}
	grid := h.Intervals()
	if len(grid) != len(want)-1 { // the last, partial, interval stays in slots
		t.Fatalf("%d intervals, one pass %d", len(grid), len(want))
	}
	for i := range grid {
		if d := cmp.Diff(want[i], grid[i]); d != "" {
			t.Errorf("interval %d differs (-one pass +merged slots):\n%.2000s", i, d)
		}
	}
	replay, err := analysis.NewHistory(opener(dir), analysis.Options{CheckpointEvery: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer replay.Close()
	replay.Advance(math.MaxInt64)
	first, last := h.Bounds()
	n := 0
	for t2 := first + slot; t2 <= last; t2 += slot {
		for _, length := range []int64{slot, 2 * slot, interval, interval + slot, 4 * interval} {
			t1 := t2 - length
			if !h.Composable(t1, t2) {
				continue
			}
			n++
			got, err := h.Figures(t1, t2)
			if err != nil {
				t.Fatal(err)
			}
			exp, err := replay.Figures(t1, t2)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(exp, got); d != "" {
				t.Fatalf("window [%d, %d[ differs (-replayed +merged):\n%.3000s", t1-first, t2-first, d)
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d windows composed", n)
	}
}

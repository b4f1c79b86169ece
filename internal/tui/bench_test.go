package tui

import (
	"fmt"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf"
)

// bigFrame is an interval of a busy machine: n threads, all with CPU,
// I/O and two perf counters.
func bigFrame(n int, t1 int64) *Frame {
	f := &Frame{Start: t1, End: t1 + int64(time.Second), CPUs: 2, Threads: n,
		PerfNames: []string{"perf_thread_page_fault", "perf_thread_cycles"}}
	for i := range n {
		f.Tasks = append(f.Tasks, Task{TID: TID(1000 + i), PID: PID(1000 + i - i%4), PPID: 1,
			Name: fmt.Sprintf("worker-%d", i), State: 'S', CPU: int64((i * 7919) % 20_000_000),
			Switches: uint64(i % 100), Read: uint64(i * 10), Write: uint64(i * 3), Perf: []int64{int64(i), int64(i * 2)}})
	}
	return f
}

// BenchmarkRefresh is what the top does once per refresh with 500
// processes on the screen: take a new interval (filter, sort, follow the
// selection) and draw the screen. It reports the share of one core this
// costs at a 1 Hz refresh (goal: under 2 %).
func BenchmarkRefresh(b *testing.B) {
	m := New(newFake(1), Options{NoTick: true, Width: 132, Height: 43})
	frames := []*Frame{bigFrame(500, 0), bigFrame(500, int64(time.Second))}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.setFrame(frames[i%2])
		_ = m.View()
		i++
	}
	per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(per/1e9*100, "%core@1Hz")
}

// BenchmarkIngest reads wget-k into the history as the top does and
// reports the share of one core that 100k events/s would cost (the
// forward pass: reader, kernel model, checkpoints, interval figures; the
// opening of the trace, metadata parsing, is left out).
func BenchmarkIngest(b *testing.B) {
	dir := traceDir(b, "tracevizlab/wget-k")
	var events uint64
	var ingest time.Duration
	for b.Loop() {
		b.StopTimer()
		src, err := ctf.Open([]string{dir}, ctf.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		s, err := NewAnalysisSource(func() (ctf.Source, error) { return src, nil }, AnalysisOptions{Interval: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.WaitDone(); err != nil {
			b.Fatal(err)
		}
		ingest += time.Since(t0)
		s.mu.Lock()
		events = s.h.Head().Events()
		s.mu.Unlock()
		s.Close()
	}
	perEvent := float64(ingest.Nanoseconds()) / float64(b.N) / float64(events)
	b.ReportMetric(perEvent, "ns/event")
	b.ReportMetric(perEvent*100_000/1e9*100, "%core@100kev/s")
}

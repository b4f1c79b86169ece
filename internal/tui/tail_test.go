package tui

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf"
)

// TestTailFollowsGrowingTrace writes the busy machine's trace in rounds
// while the top's source reads it: every event arrives, the folder is
// opened once (the rest is read as it is appended), and the mode word
// says CATCHING UP while the analysis is behind the completed edge.
func TestTailFollowsGrowingTrace(t *testing.T) {
	dir := t.TempDir()
	s := newSynth(t, dir, 2, 50, 20_000)
	var complete atomic.Uint64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tail := NewTail(ctx, dir, complete.Load)
	tail.Poll = time.Millisecond
	as, err := NewAnalysisSource(func() (ctf.Source, error) { return tail, nil }, AnalysisOptions{Live: true, Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer as.Close()
	const rounds = 30
	for r := range rounds {
		s.run(uint64(r)*1e8, uint64(r+1)*1e8)
		end := s.Base + uint64(r+1)*1e8
		complete.Store(end)
		deadline := time.Now().Add(20 * time.Second)
		for {
			if _, last, ok := as.Span(); ok && last >= int64(end)-int64(1e7) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the source did not reach %d", r, end)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// Everything but the events at the completion mark itself is read.
	deadline := time.Now().Add(5 * time.Second)
	for {
		as.mu.Lock()
		n := as.h.Head().Events()
		as.mu.Unlock()
		if n == uint64(s.events) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("read %d events, the trace has %d (reopens %d, refreshes %d, status %+v)", n, s.events, tail.reopens, tail.refreshes, as.Status())
		}
		time.Sleep(time.Millisecond)
	}
	if tail.reopens != 1 {
		t.Errorf("the folder was opened %d times, want once", tail.reopens)
	}
	if st := as.Status(); st.Behind {
		t.Errorf("behind at the edge: %+v", st)
	}
	// The producer completes 5 s more that are not written yet: the
	// analysis is behind.
	complete.Store(s.Base + (rounds+50)*1e8)
	time.Sleep(5 * time.Millisecond)
	if st := as.Status(); !st.Behind {
		t.Errorf("not behind 5 s from the edge: %+v", st)
	}
	m := New(as, Options{NoTick: true})
	m.st = as.Status()
	if got := m.Mode(); got != "CATCHING UP" {
		t.Errorf("mode %q, want CATCHING UP", got)
	}
	_ = math.MaxInt64
}

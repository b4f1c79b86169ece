package tui

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/analysis"
	"github.com/tracetop/tracetop/internal/batch"
	"github.com/tracetop/tracetop/internal/testenv"
)

func traceDir(t testing.TB, name string) string {
	return filepath.Join(testenv.SharedDir(t, "traces"), name, "trace")
}

func openTrace(t testing.TB, dir string, opt AnalysisOptions) *AnalysisSource {
	t.Helper()
	s, err := NewAnalysisSource(func() (ctf.Source, error) { return ctf.Open([]string{dir}, ctf.Options{}) }, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.WaitDone(); err != nil {
		t.Fatal(err)
	}
	return s
}

// batchFigures computes [t1, t2[ in one pass, as `tracetop top --batch`.
func batchFigures(t testing.TB, dir string, t1, t2 int64) *analysis.Figures {
	t.Helper()
	src, err := ctf.Open([]string{dir}, ctf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var got *analysis.Figures
	// Window.End is left out: Intervals ends its last window at the last
	// event before End instead of at End.
	err = analysis.Intervals(src, analysis.Window{Begin: t1, Step: t2 - t1}, func(f *analysis.Figures) error {
		if got == nil {
			got = f
		}
		return nil
	})
	if err != nil || got == nil {
		t.Fatalf("batch figures of [%d, %d[: %v", t1, t2, err)
	}
	return got
}

// TestWgetCPUTop: the CPUtop of the interval [+30ms, +40ms[ of wget-k
// shows the busiest threads with the batch figures' percentages, and
// moving back and forth gives the same screen again.
func TestWgetCPUTop(t *testing.T) {
	dir := traceDir(t, "tracevizlab/wget-k")
	s := openTrace(t, dir, AnalysisOptions{Interval: 10 * time.Millisecond})
	first, _, _ := s.Span()
	d := newDriver(t, s, Options{Interval: 10 * time.Millisecond})
	d.keys("g")
	d.typ("+30ms")
	d.keys("enter")
	screen := d.checkScreen("wget-k-cputop")

	f := batchFigures(t, dir, first+30_000_000, first+40_000_000)
	want := f.Threads
	n := 0
	for _, th := range want {
		if th.TID <= 0 || n == 8 {
			continue
		}
		line := fmt.Sprintf("%7.2f %7d %7d", f.CoreShare(th.CPUTime), th.PID, th.TID)
		if th.CPUTime > 0 && !strings.Contains(screen, line) {
			t.Errorf("batch thread %d %s: no line %q on the screen", th.TID, th.Comm, line)
		}
		if n < 3 && d.m.rows[n].t.TID != TID(th.TID) {
			t.Errorf("row %d is tid %d, batch says %d %s", n, d.m.rows[n].t.TID, th.TID, th.Comm)
		}
		n++
	}

	before := body(screen, d.m)
	d.keys("left", "left", "right", "right")
	if got := body(d.screen(), d.m); got != before {
		t.Errorf("after Left Left Right Right:\n%s\nwant:\n%s", got, before)
	}
	d.keys("right", "left")
	if got := body(d.screen(), d.m); got != before {
		t.Errorf("after Right Left:\n%s\nwant:\n%s", got, before)
	}
}

// TestWgetSameAsBatch: the rows of CPUtop for [+30ms, +40ms[ are the
// rows `tracetop top --batch --interval 10ms --begin +30ms` prints first.
func TestWgetSameAsBatch(t *testing.T) {
	dir := traceDir(t, "tracevizlab/wget-k")
	var out bytes.Buffer
	if err := batch.Run(&out, batch.Options{Sources: []string{dir}, Interval: 10 * time.Millisecond, Begin: "+30ms", Limit: 8}); err != nil {
		t.Fatal(err)
	}
	// The first table of the first interval: CPU(%) PID TID VTID NAME ...
	var want [][3]string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "Statistics") && want != nil {
			break
		}
		f := strings.Fields(l)
		if len(f) > 3 && strings.Contains(f[0], ".") && len(want) < 8 {
			want = append(want, [3]string{f[0], f[1], f[2]})
		}
		if len(f) == 0 && len(want) > 0 {
			break
		}
	}
	if len(want) < 5 {
		t.Fatalf("batch output not understood:\n%s", out.String())
	}
	s := openTrace(t, dir, AnalysisOptions{Interval: 10 * time.Millisecond})
	d := newDriver(t, s, Options{Interval: 10 * time.Millisecond, Height: 40})
	d.keys("g")
	d.typ("+30ms")
	d.keys("enter")
	for i, w := range want {
		r := d.m.rows[i]
		got := [3]string{fmt.Sprintf("%.2f", r.pct), fmt.Sprint(r.t.PID), fmt.Sprint(r.t.TID)}
		if got != w {
			t.Errorf("row %d: screen %v, batch %v", i, got, w)
		}
	}
}

// TestWgetReplay plays the whole trace at its pace and ends on its last
// interval, then shows the details of the busiest process.
func TestWgetReplay(t *testing.T) {
	dir := traceDir(t, "tracevizlab/wget-k")
	s := openTrace(t, dir, AnalysisOptions{Interval: 10 * time.Millisecond})
	d := newDriver(t, s, Options{Interval: 10 * time.Millisecond})
	d.wait(50 * time.Millisecond)
	if !strings.Contains(d.screen(), "REPLAY ×1") || d.m.frame == nil {
		t.Fatalf("replaying:\n%s", d.screen())
	}
	d.wait(100 * time.Millisecond)
	if !strings.Contains(d.screen(), "End of trace") {
		t.Errorf("no end after the trace's length:\n%s", d.screen())
	}
	d.keys("home", "enter")
	s2 := d.checkScreen("wget-k-details")
	if !strings.Contains(s2, "Open files at") || d.m.details == nil || len(d.m.details.Files) == 0 {
		t.Errorf("details without open files:\n%s", s2)
	}
	d.keys("enter", "f4", "home")
	d.checkScreen("wget-k-iotop")
}

// TestWgetDefaultScreen is the screen of the README: wget-k replayed with
// 10 ms intervals, 40 ms after its start.
func TestWgetDefaultScreen(t *testing.T) {
	dir := traceDir(t, "tracevizlab/wget-k")
	s := openTrace(t, dir, AnalysisOptions{Interval: 10 * time.Millisecond})
	d := newDriver(t, s, Options{Interval: 10 * time.Millisecond})
	d.wait(40 * time.Millisecond)
	got := d.checkScreen("wget-k-default")
	// The README's screenshot is this golden.
	golden(t, filepath.Join(testenv.RepoRoot(t), "docs", "screenshot.txt"), got)
	if !strings.Contains(got, "REPLAY ×1") {
		t.Errorf("not replaying:\n%s", got)
	}
}

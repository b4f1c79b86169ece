package batch_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracetop/tracetop/internal/analysis"
	"github.com/tracetop/tracetop/internal/batch"
	"github.com/tracetop/tracetop/internal/testenv"
)

func runJSON(t *testing.T, opt batch.Options) []analysis.Figures {
	t.Helper()
	var out bytes.Buffer
	opt.JSON = true
	if err := batch.Run(&out, opt); err != nil {
		t.Fatal(err)
	}
	var fs []analysis.Figures
	dec := json.NewDecoder(&out)
	for dec.More() {
		var f analysis.Figures
		if err := dec.Decode(&f); err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	return fs
}

// TestBatchEnd checks that --begin/--end/--interval windows are [t1, t2[
// exactly as asked, that CPU shares stay within the machine, and that a
// window asked past the trace's end is cut at its last event and says so.
func TestBatchEnd(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t, "traces"), "tracevizlab/wget-k/trace")
	first, err := batch.FirstTime([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	check := func(f *analysis.Figures) {
		t.Helper()
		var busy int64
		for _, c := range f.CPUs {
			busy += c.Busy
			if c.Busy+c.Idle > f.Duration() {
				t.Errorf("cpu%d: busy+idle %d ns in a window of %d ns", c.CPU, c.Busy+c.Idle, f.Duration())
			}
		}
		if s := f.MachineShare(busy); s > 100.0001 {
			t.Errorf("[%d, %d[: machine %.2f%% busy", f.Begin, f.End, s)
		}
	}
	fs := runJSON(t, batch.Options{Sources: []string{dir}, End: "+40ms"})
	if len(fs) != 1 || fs[0].Begin != first || fs[0].End != first+40e6 || fs[0].Clipped {
		t.Fatalf("--end +40ms: got %d windows, first [%d, %d[ clipped %v; want [%d, %d[", len(fs), fs[0].Begin, fs[0].End, fs[0].Clipped, first, first+40e6)
	}
	check(&fs[0])
	fs = runJSON(t, batch.Options{Sources: []string{dir}, Begin: "+10ms", End: "+45ms", Interval: 10 * time.Millisecond})
	want := [][2]int64{{10, 20}, {20, 30}, {30, 40}, {40, 45}}
	if len(fs) != len(want) {
		t.Fatalf("got %d windows, want %d", len(fs), len(want))
	}
	for i, w := range want {
		if fs[i].Begin != first+w[0]*1e6 || fs[i].End != first+w[1]*1e6 {
			t.Errorf("window %d: [+%v, +%v[, want [+%dms, +%dms[", i, time.Duration(fs[i].Begin-first), time.Duration(fs[i].End-first), w[0], w[1])
		}
		check(&fs[i])
	}
	// Past the end: cut at the last event, and said.
	fs = runJSON(t, batch.Options{Sources: []string{dir}, End: "+1h"})
	if len(fs) != 1 || !fs[0].Clipped || fs[0].End >= first+int64(time.Hour) {
		t.Fatalf("--end +1h: %d windows, clipped %v, end +%v", len(fs), fs[0].Clipped, time.Duration(fs[0].End-first))
	}
	var out bytes.Buffer
	if err := batch.Run(&out, batch.Options{Sources: []string{dir}, End: "+1h"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "the trace ends here") {
		t.Errorf("no word of the cut:\n%s", out.String())
	}
	// The whole trace is not "cut".
	fs = runJSON(t, batch.Options{Sources: []string{dir}})
	if fs[0].Clipped || fs[0].FDs == 0 || fs[0].NumCPU != 4 {
		t.Errorf("whole trace: clipped %v, %d fds open at the end, %d CPUs (want 4)", fs[0].Clipped, fs[0].FDs, fs[0].NumCPU)
	}
}

package analysis_test

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/analysis"
	"github.com/tracetop/tracetop/internal/state"
	"github.com/tracetop/tracetop/internal/testenv"
)

// peerTraces are the shared kernel traces lttng-analyses 0.6.1 reads.
// It does not read tracecompass/synctraces (lttng-modules 2.1 field
// names: "Cannot run analysis: 'tid'") nor babeltrace/succeed-multi-domains
// (no sched_switch in its kernel trace: empty results).
var peerTraces = []struct {
	path string
	// noIntersection: the streams do not overlap in time, lttng-analyses
	// needs --no-intersection.
	noIntersection bool
}{
	{path: "tracevizlab/simple-kernel/trace"},
	{path: "tracevizlab/wget-k/trace"},
	{path: "tracevizlab/cat-kern-ust/trace/cat-kernel"},
	{path: "tracecompass/many-threads/trace"},
	{path: "tracecompass/flipping-endianness/trace"},
	{path: "babeltrace/succeed-lttng-tracefile-rotation/trace", noIntersection: true},
}

// runPeer runs an lttng-analyses MI command on a trace. lttng-analyses
// reads the tracer version only from a folder whose name ends in "kernel"
// (else: "'State' object has no attribute 'tracer_version'"), so the trace
// is given through a symbolic link named kernel.
func runPeer(t *testing.T, prog, dir string, extra ...string) map[string]any {
	t.Helper()
	bin := testenv.Program(t, prog)
	link := filepath.Join(t.TempDir(), "kernel")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--limit", "1000000"}, extra...)
	cmd := exec.Command(bin, append(args, link)...)
	cmd.Env = testenv.Env()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", prog, dir, err, out)
	}
	var res map[string]any
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber() // timestamps do not fit a float64
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("%s output: %v\n%.500s", prog, err, out)
	}
	if msg, ok := res["error-message"]; ok {
		t.Fatalf("%s: %v", prog, msg)
	}
	return res
}

func num(v any) int64 {
	n, ok := v.(json.Number)
	if !ok {
		return -1
	}
	i, err := n.Int64()
	if err != nil {
		f, _ := n.Float64()
		return int64(f)
	}
	return i
}

type peerRow struct {
	tid, pid int64
	name     string
	vals     []float64
}

// peerTable returns the rows of the result whose title or class matches.
func peerTable(res map[string]any, match func(class, title string) bool) (begin, end int64, rows []peerRow, found bool) {
	results, _ := res["results"].([]any)
	for _, r := range results {
		rm := r.(map[string]any)
		class, _ := rm["class"].(string)
		var title string
		if c, ok := rm["class"].(map[string]any); ok {
			title, _ = c["title"].(string)
			class = ""
		}
		if !match(class, title) {
			continue
		}
		found = true
		if tr, ok := rm["time-range"].(map[string]any); ok {
			begin = num(tr["begin"].(map[string]any)["value"])
			end = num(tr["end"].(map[string]any)["value"])
		}
		for _, d := range rm["data"].([]any) {
			cells := d.([]any)
			var row peerRow
			row.tid, row.pid = -1, -1
			for _, c := range cells {
				cm := c.(map[string]any)
				switch cm["class"] {
				case "process":
					row.name, _ = cm["name"].(string)
					if v, ok := cm["tid"]; ok && v != nil {
						row.tid = num(v)
					}
					if v, ok := cm["pid"]; ok && v != nil {
						row.pid = num(v)
					}
				case "ratio", "size", "number":
					v, _ := cm["value"].(json.Number).Float64()
					row.vals = append(row.vals, v)
				}
			}
			rows = append(rows, row)
		}
	}
	return
}

// whole computes our figures over [begin, end] (the peer's time range,
// both ends included as lttng-analyses does).
func whole(t *testing.T, dir string, begin, end int64) *analysis.Figures {
	t.Helper()
	src, err := ctf.Open([]string{dir}, ctf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out *analysis.Figures
	err = analysis.Intervals(src, analysis.Window{Begin: begin, End: end + 1}, func(f *analysis.Figures) error {
		out = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if out == nil {
		t.Fatal("no figures")
	}
	return out
}

// TestCPUTopAgainstLttngAnalyses: per-TID CPU usage over the whole trace
// equals lttng-cputop's within 0.1 percentage point.
func TestCPUTopAgainstLttngAnalyses(t *testing.T) {
	traces := testenv.SharedDir(t, "traces")
	for _, tc := range peerTraces {
		t.Run(tc.path, func(t *testing.T) {
			dir := filepath.Join(traces, tc.path)
			var extra []string
			if tc.noIntersection {
				extra = append(extra, "--no-intersection")
			}
			res := runPeer(t, "lttng-cputop-mi", dir, extra...)
			begin, end, rows, _ := peerTable(res, func(class, _ string) bool { return class == "per-process" })
			_, _, cpuRows, _ := peerTable(res, func(class, _ string) bool { return class == "per-cpu" })
			if len(rows) == 0 {
				t.Fatal("lttng-cputop gave no per-TID figure")
			}
			f := whole(t, dir, begin, end)
			if f.Begin != begin || f.End != end {
				t.Errorf("window [%d, %d[, lttng-cputop [%d, %d]", f.Begin, f.End, begin, end)
			}
			ours := map[int64]float64{}
			for _, th := range f.Threads {
				ours[int64(th.TID)] = f.CoreShare(th.CPUTime)
			}
			worst := 0.0
			for _, r := range rows {
				if r.tid == 0 {
					// The idle task is not a thread: lttng-cputop shows it
					// only because its first sched_switch with prev_tid = 0
					// credits it from the trace start (cputop.py
					// _process_sched_switch_per_tid) and never again, as it
					// filters next_tid 0 out. We count idle time per CPU.
					continue
				}
				want := r.vals[len(r.vals)-1] * 100
				got := ours[r.tid]
				d := math.Abs(got - want)
				worst = max(worst, d)
				if d > 0.1 {
					t.Errorf("tid %d (%s): %.4f%%, lttng-cputop %.4f%%", r.tid, r.name, got, want)
				}
			}
			// Every thread we saw running is in lttng-cputop's table too.
			peer := map[int64]bool{}
			for _, r := range rows {
				peer[r.tid] = true
			}
			for tid, v := range ours {
				if !peer[tid] && v > 0.1 {
					t.Errorf("tid %d: %.4f%%, absent from lttng-cputop", tid, v)
				}
			}
			// Per CPU: lttng-cputop counts a CPU busy from the switch to
			// a non-idle task, as we do.
			for _, r := range cpuRows {
				_ = r
			}
			t.Logf("%d threads compared, largest difference %.6f pp", len(rows), worst)
		})
	}
}

// TestIOTopAgainstLttngAnalyses: bytes read and written per process
// through syscalls equal lttng-iousagetop's.
func TestIOTopAgainstLttngAnalyses(t *testing.T) {
	traces := testenv.SharedDir(t, "traces")
	for _, tc := range peerTraces {
		t.Run(tc.path, func(t *testing.T) {
			dir := filepath.Join(traces, tc.path)
			var extra []string
			if tc.noIntersection {
				extra = append(extra, "--no-intersection")
			}
			res := runPeer(t, "lttng-iousagetop-mi", dir, extra...)
			begin, end, reads, ok := peerTable(res, func(_, title string) bool {
				return title == "Per-process top I/O operations [read]"
			})
			_, _, writes, _ := peerTable(res, func(_, title string) bool {
				return title == "Per-process top I/O operations [written]"
			})
			if !ok {
				t.Skip("lttng-iousagetop gave no per-process table")
			}
			if begin == 0 {
				// iousagetop has no time range in its tables: take
				// lttng-cputop's (same intersection rules).
				cres := runPeer(t, "lttng-cputop-mi", dir, extra...)
				begin, end, _, _ = peerTable(cres, func(class, _ string) bool { return class == "per-process" })
			}
			f := whole(t, dir, begin, end)
			type rw struct{ r, w uint64 }
			peer := map[int64]*rw{}
			get := func(pid int64) *rw {
				if peer[pid] == nil {
					peer[pid] = &rw{}
				}
				return peer[pid]
			}
			ourTID := map[int64]rw{}
			for _, th := range f.Threads {
				ourTID[int64(th.TID)] = rw{th.Read, th.Written}
			}
			for _, r := range reads {
				get(r.pid).r += uint64(r.vals[0])
				if got := ourTID[r.tid].r; got != uint64(r.vals[0]) {
					t.Errorf("tid %d (%s) read %d bytes, lttng-iousagetop %d", r.tid, r.name, got, uint64(r.vals[0]))
				}
			}
			for _, r := range writes {
				get(r.pid).w += uint64(r.vals[0])
				if got := ourTID[r.tid].w; got != uint64(r.vals[0]) {
					t.Errorf("tid %d (%s) wrote %d bytes, lttng-iousagetop %d", r.tid, r.name, got, uint64(r.vals[0]))
				}
			}
			ours := map[int64]rw{}
			for _, p := range f.Processes {
				ours[int64(p.PID)] = rw{p.Read, p.Written}
			}
			var pids []int64
			for pid := range peer {
				pids = append(pids, pid)
			}
			sort.Slice(pids, func(i, j int) bool { return pids[i] < pids[j] })
			var total uint64
			for _, pid := range pids {
				want := *peer[pid]
				total += want.r + want.w
				if got := ours[pid]; got != want {
					t.Errorf("pid %d: read %d written %d, lttng-iousagetop read %d written %d", pid, got.r, got.w, want.r, want.w)
				}
			}
			t.Logf("%d processes compared, %d bytes", len(pids), total)
		})
	}
}

var _ state.TID

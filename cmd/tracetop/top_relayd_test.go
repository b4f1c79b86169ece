package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracetop/tracetop/internal/analysis"
	"github.com/tracetop/tracetop/internal/live"
	"github.com/tracetop/tracetop/internal/testenv"
)

// TestTopLttngRelayd runs the top's two relay paths against the real
// lttng-relayd, in a private network (and mount) namespace: the test
// binary runs itself again under `unshare -m -n` (TRACETOP_NETNS_TEST
// set), brings the loopback up, starts lttng-relayd on its default ports
// and streams the 17 s kernel trace synctraces/scp_dest twice with
// `tracetop send --live --pace real`, as two sessions (lttng-relayd
// allows one viewer per session). On the first, `tracetop top --batch
// --json net://127.0.0.1/host/h/S` prints the figures of the whole
// session: they equal those of the trace folder. The second is read by
// the top's own relay source (openTopSource, as `tracetop top net://...`
// does): its interval of the whole session lists the same threads with
// the same CPU times as the folder's figures. Both read the session to
// its last packet: lttng-relayd says GET_NEW_STREAMS HUP before the
// viewer read it, and ends the session with a rotation the indexes of
// this trace (no packet_seq_num) must let complete.
func TestTopLttngRelayd(t *testing.T) {
	if os.Getenv("TRACETOP_NETNS_TEST") == "" {
		testenv.Root(t)
		testenv.Short(t)
		for _, p := range []string{"lttng-relayd", "unshare", "ip"} {
			testenv.Program(t, p)
		}
		testenv.SharedDir(t, "traces")
		bin := buildTracetop(t)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "unshare", "-m", "-n", "--propagation", "private",
			os.Args[0], "-test.run=^TestTopLttngRelayd$", "-test.v", "-test.count=1", "-test.timeout=4m")
		cmd.Env = append(os.Environ(), "TRACETOP_NETNS_TEST="+bin)
		out, err := cmd.CombinedOutput()
		t.Logf("in the network namespace:\n%s", out)
		if err != nil || !bytes.Contains(out, []byte("--- PASS: TestTopLttngRelayd")) {
			t.Fatalf("the test in the network namespace failed: %v", err)
		}
		return
	}
	bin := os.Getenv("TRACETOP_NETNS_TEST")
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v %s", err, out)
	}
	dir := filepath.Join(testenv.SharedDir(t, "traces"), "tracecompass/synctraces/trace/scp_dest")
	home := t.TempDir()
	relayd := exec.Command("lttng-relayd", "-o", filepath.Join(home, "relay"))
	relayd.Env = append(testenv.Env(), "HOME="+home, "LTTNG_HOME="+home)
	var log bytes.Buffer
	relayd.Stdout, relayd.Stderr = &log, &log
	if err := relayd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		relayd.Process.Kill()
		relayd.Wait()
		if t.Failed() {
			t.Logf("lttng-relayd:\n%s", log.String())
		}
	}()
	for _, port := range []string{"5342", "5343", "5344"} {
		for i := 0; ; i++ {
			c, err := net.Dial("tcp", "127.0.0.1:"+port)
			if err == nil {
				c.Close()
				break
			}
			if i == 500 {
				t.Fatalf("lttng-relayd does not listen on %s: %v", port, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Both sessions stream at once, each at the trace's pace (17 s).
	senders := map[string]*exec.Cmd{}
	for _, s := range []string{"batch", "top"} {
		cmd := exec.CommandContext(ctx, bin, "send", dir, "net://127.0.0.1", "--live=100ms", "--pace", "real",
			"--hostname", "h", "--name", s)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("tracetop send %s:\n%s", s, out.String())
			}
		})
		senders[s] = cmd
	}
	// Attach as soon as the sessions are listed.
	for want := 2; ; {
		_, l, err := live.List(ctx, "net://127.0.0.1", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(l) >= want {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	batchOut := make(chan []byte, 1)
	go func() {
		cmd := exec.CommandContext(ctx, bin, "top", "--batch", "--interval", "0", "--json", "net://127.0.0.1/host/h/batch")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Errorf("tracetop top --batch net://127.0.0.1/host/h/batch: %v\n%s", err, stderr.String())
		}
		batchOut <- out
	}()
	src, err := openTopSource(ctx, "net://127.0.0.1/host/h/top", &topOptions{interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := src.WaitDone(); err != nil {
		t.Fatal(err)
	}
	for s, cmd := range senders {
		if err := cmd.Wait(); err != nil {
			t.Errorf("tracetop send %s: %v", s, err)
		}
	}

	// The folder's figures, as the batch mode gives them.
	whole := batchJSON(t, exec.Command(bin, "top", "--batch", "--interval", "0", "--json", dir))
	got := batchJSON(t, nil, <-batchOut...)
	if len(got) != 1 || len(whole) != 1 {
		t.Fatalf("%d windows from lttng-relayd, %d from the folder", len(got), len(whole))
	}
	want := whole
	// The live reader has no per-CPU stream list: CPUs come from events.
	got[0].OnlineCPUs = want[0].OnlineCPUs
	within1ns := cmp.FilterValues(func(a, b int64) bool { return true },
		cmp.Comparer(func(a, b int64) bool { return a-b <= 1 && b-a <= 1 }))
	if d := cmp.Diff(want[0], got[0], within1ns); d != "" {
		t.Errorf("top --batch: the live session's figures differ from the folder's (-folder +lttng-relayd):\n%s", d)
	}
	st := src.Status()
	if !st.Live || !st.Done {
		t.Errorf("top source status %+v, want a live session that ended", st)
	}
	first, last, _ := src.Span()
	f, err := src.Frame(first, last)
	if err != nil {
		t.Fatal(err)
	}
	if f.Start != want[0].Begin || f.End != want[0].End {
		t.Errorf("top source: interval [%d, %d], the folder's [%d, %d]", f.Start, f.End, want[0].Begin, want[0].End)
	}
	cpu := map[int32]int64{}
	for _, tk := range f.Tasks {
		cpu[int32(tk.TID)] = tk.CPU
	}
	n := 0
	for _, th := range want[0].Threads {
		if th.TID <= 0 {
			continue
		}
		n++
		if c, ok := cpu[int32(th.TID)]; !ok || c-th.CPUTime > 1 || th.CPUTime-c > 1 {
			t.Errorf("top source: thread %d %s CPU %d ns (listed %v), the folder's %d ns", th.TID, th.Comm, c, ok, th.CPUTime)
		}
	}
	if n == 0 || len(f.Tasks) != n {
		t.Errorf("top source: %d threads, the folder's %d", len(f.Tasks), n)
	}
	t.Logf("lttng-relayd: batch and top source agree with the folder on %d threads over %.1f s", n, float64(want[0].End-want[0].Begin)/1e9)
}

// batchJSON runs a batch command (or reads out) and decodes its JSON
// windows.
func batchJSON(t *testing.T, cmd *exec.Cmd, out ...byte) []analysis.Figures {
	t.Helper()
	if cmd != nil {
		var err error
		if out, err = cmd.Output(); err != nil {
			t.Fatalf("%v: %v", cmd.Args, err)
		}
	}
	var fs []analysis.Figures
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var f analysis.Figures
		if err := dec.Decode(&f); err != nil {
			if !strings.Contains(err.Error(), "EOF") {
				t.Fatalf("batch JSON: %v", err)
			}
			break
		}
		fs = append(fs, f)
	}
	return fs
}

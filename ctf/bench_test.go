package ctf

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/tracetop/tracetop/internal/testenv"
)

// TestReadDoesNotAllocate proves the per-event path allocation-free once
// the event's buffers have grown: reading events of a real trace with
// several streams, contexts, strings and sequences.
func TestReadDoesNotAllocate(t *testing.T) {
	root, _ := loadIndex(t)
	for _, tr := range []string{"traces/generated/ust-libc-small/trace", "traces/tracevizlab/simple-kernel/trace"} {
		r, err := Open([]string{filepath.Join(root, tr)}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var ev Event
		// Warm up: let every stream's buffers reach their size.
		for i := 0; i < 200; i++ {
			if err := r.Read(&ev); err != nil {
				t.Fatal(err)
			}
		}
		allocs := testing.AllocsPerRun(500, func() {
			if err := r.Read(&ev); err != nil {
				t.Fatal(err)
			}
		})
		r.Close()
		if allocs != 0 {
			t.Errorf("%s: %v allocations per event, want 0", tr, allocs)
		}
	}
}

var (
	bigOnce sync.Once
	bigDir  string
	bigErr  error
)

// bigTrace unpacks the 6-million-event benchmark trace into a temporary
// folder (once per test binary).
func bigTrace(tb testing.TB) string {
	tb.Helper()
	tarball := filepath.Join(testenv.SharedDir(tb, "bench"), "ust-libc-big.tar.xz")
	if _, err := os.Stat(tarball); err != nil {
		tb.Skip("no benchmark trace: ", err)
	}
	bigOnce.Do(func() {
		bigDir, bigErr = os.MkdirTemp("", "tracetop-bench-")
		if bigErr != nil {
			return
		}
		out, err := exec.Command("tar", "-xJf", tarball, "-C", bigDir).CombinedOutput()
		if err != nil {
			bigErr = err
			tb.Log(string(out))
		}
	})
	if bigErr != nil {
		tb.Fatal(bigErr)
	}
	return filepath.Join(bigDir, "ust-libc-big")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
	os.Exit(code)
}

// BenchmarkDecodeBig decodes every event of the 6M-event trace; it
// reports events/s.
func BenchmarkDecodeBig(b *testing.B) {
	dir := bigTrace(b)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		r, err := Open([]string{dir}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		var ev Event
		n = 0
		for {
			err := r.Read(&ev)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		r.Close()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(n), "events")
}

// TestBigTracePeakRSS reads the 6M-event trace in a child process and
// checks its peak resident memory stays under 64 MiB (packets are read
// one at a time into bounded per-stream buffers).
func TestBigTracePeakRSS(t *testing.T) {
	if dir := os.Getenv("TRACETOP_CTF_RSS_CHILD"); dir != "" {
		if os.Getenv("TRACETOP_CTF_RSS_WINDOW") != "" {
			maxPacketBuf = 64 << 10 // every packet through the sliding window
		}
		r, err := Open([]string{dir}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var ev Event
		n := 0
		for {
			if err := r.Read(&ev); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			n++
		}
		t.Logf("%d events", n)
		return
	}
	testenv.Short(t)
	dir := bigTrace(t)
	for _, window := range []string{"", "1"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBigTracePeakRSS$", "-test.v")
		cmd.Env = append(os.Environ(), "TRACETOP_CTF_RSS_CHILD="+dir, "TRACETOP_CTF_RSS_WINDOW="+window)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !strings.Contains(string(out), "6000007 events") {
			t.Fatalf("child did not read the whole trace:\n%s", out)
		}
		ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			t.Skip("no rusage")
		}
		rss := ru.Maxrss * 1024
		t.Logf("peak RSS %.1f MiB reading the 6M-event trace (64 KiB window: %v)", float64(rss)/(1<<20), window != "")
		if rss > 64<<20 {
			t.Errorf("peak RSS %d bytes, want < 64 MiB", rss)
		}
	}
}

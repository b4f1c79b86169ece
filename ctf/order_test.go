package ctf

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ulikunitz/xz"
)

// openExpected opens a reference dump, decompressing .xz.
func openExpected(t *testing.T, dir string) io.Reader {
	t.Helper()
	if f, err := os.Open(filepath.Join(dir, "EXPECTED.babeltrace2.txt")); err == nil {
		t.Cleanup(func() { f.Close() })
		return f
	}
	f, err := os.Open(filepath.Join(dir, "EXPECTED.babeltrace2.txt.xz"))
	if err != nil {
		return nil
	}
	t.Cleanup(func() { f.Close() })
	r, err := xz.NewReader(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestOrderMatchesBabeltrace2 checks that events come in babeltrace2's
// order (time, then its tie-break) with the same times and names, line by
// line of the reference dumps.
func TestOrderMatchesBabeltrace2(t *testing.T) {
	root, entries := loadIndex(t)
	for _, e := range entries {
		id := e.Group + "/" + e.Name
		t.Run(id, func(t *testing.T) {
			dir := filepath.Dir(filepath.Join(root, e.Path))
			exp := openExpected(t, dir)
			if exp == nil {
				t.Skip("no reference dump")
			}
			r, err := Open([]string{filepath.Join(root, e.Path)}, Options{})
			if err != nil {
				if e.RC != nil && *e.RC != 0 {
					return
				}
				t.Skip(err)
			}
			defer r.Close()
			sc := bufio.NewScanner(exp)
			sc.Buffer(make([]byte, 1<<20), 1<<24)
			var ev Event
			line := 0
			bad := 0
			for sc.Scan() {
				want := sc.Text()
				line++
				for {
					err = r.Read(&ev)
					if err != nil || ev.Kind == KindEvent {
						break
					}
				}
				if err != nil {
					if e.RC != nil && *e.RC != 0 {
						return
					}
					t.Fatalf("line %d: %v", line, err)
				}
				prefix := ""
				if ev.HasTime {
					prefix = "[" + time.Unix(0, ev.NS).UTC().Format("15:04:05.000000000") + "]"
				}
				if !strings.HasPrefix(want, prefix) || !strings.Contains(want, " "+ev.Class.Name+": ") && !strings.HasPrefix(want, ev.Class.Name+": ") {
					t.Errorf("line %d: got %s %s, want %.120s", line, prefix, ev.Class.Name, want)
					if bad++; bad > 5 {
						t.FailNow()
					}
				}
			}
		})
	}
}

// TestReadFurtherMatchesBabeltrace1 checks, on the traces babeltrace2
// stops on, that we read to the end in babeltrace 1's order, with its
// times (also where they wrap past int64 nanoseconds) and names.
func TestReadFurtherMatchesBabeltrace1(t *testing.T) {
	root, _ := loadIndex(t)
	for _, id := range []string{"tracecompass/synctraces", "tracecompass/hello-lost", "tracecompass/funky-trace"} {
		t.Run(id, func(t *testing.T) {
			dir := filepath.Join(root, "traces", id)
			f, err := os.Open(filepath.Join(dir, "EXPECTED.babeltrace1.txt.xz"))
			if err != nil {
				t.Skip(err)
			}
			defer f.Close()
			xr, err := xz.NewReader(bufio.NewReader(f))
			if err != nil {
				t.Fatal(err)
			}
			r, err := Open([]string{filepath.Join(dir, "trace")}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			sc := bufio.NewScanner(xr)
			sc.Buffer(make([]byte, 1<<20), 1<<24)
			var ev Event
			line, bad := 0, 0
			for sc.Scan() {
				want := sc.Text()
				line++
				for {
					err = r.Read(&ev)
					if err != nil || ev.Kind == KindEvent {
						break
					}
				}
				if err != nil {
					t.Fatalf("line %d: %v", line, err)
				}
				t0 := time.Unix(0, ev.NS)
				if ev.TimeOverflow {
					// babeltrace 1 reads the wrapped value as unsigned.
					u := uint64(ev.NS)
					t0 = time.Unix(int64(u/1e9), int64(u%1e9))
				}
				prefix := "[" + t0.UTC().Format("15:04:05.000000000") + "]"
				if !strings.HasPrefix(want, prefix) || !strings.Contains(want, " "+ev.Class.Name+": ") {
					t.Errorf("line %d: got %s %s, want %.120s", line, prefix, ev.Class.Name, want)
					if bad++; bad > 5 {
						t.FailNow()
					}
				}
			}
			if err := r.Read(&ev); err != io.EOF {
				t.Errorf("after babeltrace 1's last line: %v (kind %d)", err, ev.Kind)
			}
		})
	}
}

package analysis_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/analysis"
	"github.com/tracetop/tracetop/internal/state"
	"github.com/tracetop/tracetop/internal/testenv"
)

// sameJSON checks that AppendJSON and WriteJSON write what encoding/json
// writes.
func sameJSON(t *testing.T, f *analysis.Figures) {
	t.Helper()
	want, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	got := f.AppendJSON(nil)
	var w bytes.Buffer
	if err := f.WriteJSON(&w); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Bytes(), append(append([]byte(nil), want...), '\n')) {
		t.Errorf("WriteJSON differs from AppendJSON and a newline (%d bytes, want %d)", w.Len(), len(want)+1)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		lo := max(0, i-80)
		t.Fatalf("AppendJSON differs from encoding/json at byte %d:\n got %s\nwant %s", i,
			got[lo:min(len(got), i+80)], want[lo:min(len(want), i+80)])
	}
}

// TestAppendJSONLikeEncodingJSON: every interval of the shared kernel
// traces, and figures with every optional part and awkward strings.
func TestAppendJSONLikeEncodingJSON(t *testing.T) {
	sameJSON(t, &analysis.Figures{})
	sameJSON(t, &analysis.Figures{
		Begin: -5, End: 1 << 62, Clipped: true, NumCPU: 2,
		CPUs:       []analysis.CPUFigures{{CPU: 1, Busy: 3, Idle: 4, Switches: 5, Online: true}},
		Threads:    []analysis.ThreadFigures{{TID: 7, Comm: "a\"b\\c<d>&\x01\n\t\u2028é\xff", Status: state.StatusZombie, Reason: "futex", Perf: []uint64{}}},
		Processes:  []analysis.ProcessFigures{{PID: 7, Syscalls: []analysis.SyscallFigures{{Name: "read", Min: -1}}, Files: []analysis.FileFigures{{FD: 3, Name: "/tmp/x y", Kind: state.FileSocket}}}, {Syscalls: []analysis.SyscallFigures{}}},
		Containers: []analysis.ContainerFigures{{Inode: 1<<64 - 1, Level: 2}},
		Disks:      []analysis.DiskFigures{{Dev: 8, Read: 1}},
		PerfNames:  []string{"perf_cpu_cycles"},
		Reaped:     []state.TID{1, -2},
		Lost:       9,
	})
	traces := testenv.SharedDir(t, "traces")
	for _, tc := range peerTraces {
		t.Run(tc.path, func(t *testing.T) {
			for _, step := range []int64{0, 50e6} {
				src, err := ctf.Open([]string{filepath.Join(traces, tc.path)}, ctf.Options{})
				if err != nil {
					t.Fatal(err)
				}
				err = analysis.Intervals(src, analysis.Window{Step: step}, func(f *analysis.Figures) error {
					sameJSON(t, f)
					return nil
				})
				src.Close()
				if err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

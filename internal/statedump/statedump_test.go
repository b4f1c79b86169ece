package statedump

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tracetop/tracetop/ctf/writer"
)

type procState struct {
	tid, pid, ppid         int32
	name                   string
	typ, mode, sub, status int32
	cpu                    uint32
	table                  uint64
}

type fdEvent struct {
	table        uint64
	pid, fd      int32
	flags, fmode uint32
	name         string
}

var le = binary.LittleEndian

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}

// dump runs the statedump and decodes the process_state and
// file_descriptor events of process pid.
func dump(t *testing.T, pid int32) (procs []procState, fds []fdEvent, names []string) {
	t.Helper()
	d := New()
	err := d.Run(func(c *writer.EventClass, tid int32, b []byte) {
		names = append(names, c.Name)
		switch c.Name {
		case "lttng_statedump_process_state":
			if len(b) != 4*3+16+4*4+4+8 {
				t.Fatalf("process_state of %d bytes", len(b))
			}
			p := procState{tid: int32(le.Uint32(b)), pid: int32(le.Uint32(b[4:])), ppid: int32(le.Uint32(b[8:])),
				name: cstr(b[12:28]), typ: int32(le.Uint32(b[28:])), mode: int32(le.Uint32(b[32:])),
				sub: int32(le.Uint32(b[36:])), status: int32(le.Uint32(b[40:])), cpu: le.Uint32(b[44:]), table: le.Uint64(b[48:])}
			if p.pid == pid {
				procs = append(procs, p)
			}
		case "lttng_statedump_file_descriptor":
			f := fdEvent{table: le.Uint64(b), pid: int32(le.Uint32(b[8:])), fd: int32(le.Uint32(b[12:])),
				flags: le.Uint32(b[16:]), fmode: le.Uint32(b[20:]), name: cstr(b[24:])}
			if len(b) != 24+len(f.name)+1 {
				t.Fatalf("file_descriptor of %d bytes for %q", len(b), f.name)
			}
			if f.pid == pid {
				fds = append(fds, f)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return procs, fds, names
}

// The statedump's process_state and file_descriptor events for this test
// process agree with /proc: every thread with its ids and name, every open
// file with its fd, open flags, mode and path.
func TestStatedumpSelf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "statedump-test-file")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var pipe [2]int
	if err := unix.Pipe2(pipe[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pipe[0])
	defer unix.Close(pipe[1])

	self := int32(os.Getpid())
	procs, fds, names := dump(t, self)
	if names[0] != "lttng_statedump_start" || names[len(names)-1] != "lttng_statedump_end" {
		t.Errorf("statedump from %s to %s", names[0], names[len(names)-1])
	}

	// Threads: those of /proc/self/task (threads may come and go: every
	// thread dumped must exist, and the main one must be there).
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	tids := map[int32]bool{}
	for _, e := range ents {
		n, _ := strconv.Atoi(e.Name())
		tids[int32(n)] = true
	}
	comm, _ := os.ReadFile("/proc/self/comm")
	main := false
	for _, p := range procs {
		if !tids[p.tid] {
			t.Errorf("process_state of thread %d not in /proc/self/task", p.tid)
		}
		main = main || p.tid == self
		if p.pid != self || p.ppid != int32(os.Getppid()) || p.typ != typeUserThread || p.table != uint64(self) {
			t.Errorf("process_state %+v: want pid %d ppid %d, user thread, files table %d", p, self, os.Getppid(), self)
		}
		if p.tid == self && p.name != strings.TrimSpace(string(comm)) {
			t.Errorf("process_state name %q, /proc says %q", p.name, strings.TrimSpace(string(comm)))
		}
	}
	if !main || len(procs) < 2 {
		t.Errorf("%d threads dumped (main thread there: %v); a Go test has several", len(procs), main)
	}

	// Files: every fd of /proc/self/fd that exists before and after.
	want := map[int32]fdEvent{}
	dir, _ := os.ReadDir("/proc/self/fd")
	for _, e := range dir {
		n, _ := strconv.Atoi(e.Name())
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue
		}
		info, _ := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		var flags uint64
		for _, l := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(l, "flags:"); ok {
				flags, _ = strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			}
		}
		want[int32(n)] = fdEvent{table: uint64(self), pid: self, fd: int32(n), flags: uint32(flags), name: target}
	}
	got := map[int32]fdEvent{}
	for _, f := range fds {
		got[f.fd] = f
	}
	for _, fd := range []int32{int32(f.Fd()), int32(pipe[0]), int32(pipe[1])} {
		w, g := want[fd], got[fd]
		g.fmode = 0
		if w != g {
			t.Errorf("fd %d: statedump %+v, /proc %+v", fd, got[fd], w)
		}
	}
	if g := got[int32(f.Fd())]; g.name != path || g.flags&unix.O_APPEND == 0 || g.fmode != 2 {
		t.Errorf("the test file: %+v, want %s opened write-only (fmode 2) with O_APPEND", g, path)
	}
	if g := got[int32(pipe[0])]; !strings.HasPrefix(g.name, "pipe:[") || g.flags&unix.O_CLOEXEC == 0 || g.fmode != 1 {
		t.Errorf("the pipe's read end: %+v, want pipe:[...] read-only (fmode 1) with O_CLOEXEC", g)
	}
	for fd := range got {
		if _, ok := want[fd]; !ok && fd > 2 {
			// an fd the runtime closed meanwhile is fine; one never open is not
			if _, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd)); err == nil {
				t.Errorf("fd %d dumped but not in /proc/self/fd", fd)
			}
		}
	}
}

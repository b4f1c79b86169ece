package analysis_test

import (
	"bufio"
	"cmp"
	"debug/elf"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/analysis"
	"github.com/tracetop/tracetop/internal/record"
	"github.com/tracetop/tracetop/internal/state"
	"github.com/tracetop/tracetop/internal/testenv"
)

// TestMain doubles as the children of TestRecordedWorkload:
// TRACETOP_CHILD=burn3 burns CPU in 3 threads, =io writes and reads known
// byte counts through several fds; both then wait for stdin to close.
func TestMain(m *testing.M) {
	switch os.Getenv("TRACETOP_CHILD") {
	case "burn3":
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread()
				x := 0
				for {
					for i := 0; i < 1e6; i++ {
						x += i ^ x
					}
					var ru unix.Rusage
					unix.Getrusage(unix.RUSAGE_THREAD, &ru)
					if time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) >= time.Second {
						return
					}
				}
			}()
		}
		wg.Wait()
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	case "io":
		dir := os.Getenv("TRACETOP_DIR")
		buf := make([]byte, 100_000)
		for i, n := range []int{1000, 20_000, 100_000} {
			f, _ := os.Create(filepath.Join(dir, strconv.Itoa(i)))
			f.Write(buf[:n])
			f.Close()
			f, _ = os.Open(filepath.Join(dir, strconv.Itoa(i)))
			io.ReadFull(f, buf[:n])
			f.Close()
		}
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// procIO reads rchar and wchar of /proc/PID/io.
func procIO(t *testing.T, pid int) (r, w uint64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, _ := strings.Cut(s.Text(), ": ")
		n, _ := strconv.ParseUint(v, 10, 64)
		switch k {
		case "rchar":
			r = n
		case "wchar":
			w = n
		}
	}
	return
}

func procCPU(t *testing.T, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * time.Second / 100
}

// execRchar is what execve of path adds to the rchar of the new program
// (fs/exec.c prepare_binprm and fs/binfmt_elf.c load_elf_binary read with
// kernel_read, which counts in rchar): BINPRM_BUF_SIZE bytes of the file,
// its program headers, the PT_INTERP string, then the interpreter's ELF
// header and program headers, and the PT_GNU_PROPERTY note of the
// interpreter (of the program when static).
func execRchar(t *testing.T, path string) uint64 {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	phdrs := func(f *elf.File) uint64 { return uint64(len(f.Progs)) * 56 }
	prop := func(f *elf.File) uint64 {
		for _, p := range f.Progs {
			if p.Type == elf.PT_GNU_PROPERTY {
				return p.Filesz
			}
		}
		return 0
	}
	n := uint64(min(st.Size(), 256)) + phdrs(f)
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		n += p.Filesz
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			t.Fatal(err)
		}
		in, err := elf.Open(strings.TrimRight(string(b), "\x00"))
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		return n + 64 + phdrs(in) + prop(in)
	}
	return n + prop(f)
}

// TestRecordedWorkload records children of known behaviour with our
// recorder and compares the figures with /proc's accounting.
func TestRecordedWorkload(t *testing.T) {
	testenv.Root(t)
	unshare := testenv.Program(t, "unshare")
	out := t.TempDir()
	rec, err := record.New(record.Config{
		Session:   "test-analysis",
		OutputDir: out,
		Channels: []record.Channel{{
			// Large buffers: other tests may flood the machine with
			// system calls while this one records.
			SubbufSize:  1 << 20,
			SubbufCount: 16,
			Events: []string{"sched_switch", "sched_process_fork", "sched_process_exec",
				"sched_process_exit", "sched_process_free", "sched_wakeup", "sched_wakeup_new",
				"sched_migrate_task"},
			// Only what the figures need, so that a loaded 2-core
			// machine loses no event.
			Syscalls: []string{"read", "write", "pread64", "pwrite64", "readv", "writev",
				"openat", "close", "clone", "clone3", "execve", "exit_group"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Destroy()
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)

	start := func(kind string) (*exec.Cmd, io.WriteCloser) {
		c := exec.Command(os.Args[0], "-test.run=^$")
		// updatemaxprocs=0: the Go runtime would otherwise pread its
		// cgroup's CPU quota again every second, in the background
		// ("-1\n", 3 bytes), after /proc/PID/io is read below but
		// within the trace (seen once: the trace 3 bytes over rchar).
		c.Env = append(os.Environ(), "TRACETOP_CHILD="+kind, "TRACETOP_DIR="+t.TempDir(), "GODEBUG=updatemaxprocs=0")
		in, err := c.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		return c, in
	}
	burn, burnIn := start("burn3")
	iow, ioIn := start("io")
	ns := exec.Command(unshare, "-fp", "sh", "-c", "/bin/true; /bin/true; /bin/true")
	if err := ns.Run(); err != nil {
		t.Fatal(err)
	}
	// Wait for the children to be done, then read /proc while they wait
	// on stdin.
	waitCPU := func(pid int, d time.Duration) {
		for procCPU(t, pid) < d {
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitCPU(burn.Process.Pid, 3*time.Second)
	time.Sleep(500 * time.Millisecond)
	burnCPU := procCPU(t, burn.Process.Pid)
	rchar, wchar := procIO(t, iow.Process.Pid)
	burnIn.Close()
	ioIn.Close()
	burn.Wait()
	iow.Wait()
	time.Sleep(200 * time.Millisecond)
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	rec.Destroy()
	for _, s := range rec.Stats() {
		if s.Lost != 0 {
			// The recorder's business; figures below may then differ.
			t.Logf("cpu %d lost %d events", s.CPU, s.Lost)
		}
	}

	src, err := ctf.Open([]string{out}, ctf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var f *analysis.Figures
	m := state.New()
	_ = m
	if err := analysis.Intervals(src, analysis.Window{}, func(x *analysis.Figures) error { f = x; return nil }); err != nil {
		t.Fatal(err)
	}
	proc := func(pid int) *analysis.ProcessFigures {
		for i := range f.Processes {
			if int(f.Processes[i].PID) == pid {
				return &f.Processes[i]
			}
		}
		t.Fatalf("process %d not in the figures", pid)
		return nil
	}
	b := proc(burn.Process.Pid)
	diff := math.Abs(float64(b.CPUTime)-float64(burnCPU)) / float64(burnCPU)
	t.Logf("burner: %v, /proc %v (%.2f%%), %d threads", time.Duration(b.CPUTime), burnCPU, 100*diff, b.Threads)
	// /proc's utime+stime are sampled at each 10 ms tick per thread: allow
	// 1 % or one tick per thread, whichever is larger.
	if diff > 0.01 && math.Abs(float64(b.CPUTime)-float64(burnCPU)) > float64(b.Threads)*float64(10*time.Millisecond) {
		t.Errorf("burner CPU time %v, /proc utime+stime %v", time.Duration(b.CPUTime), burnCPU)
	}
	w := proc(iow.Process.Pid)
	t.Logf("io child: read %d written %d, /proc rchar %d wchar %d", w.Read, w.Written, rchar, wchar)
	if w.Written != wchar {
		t.Errorf("io child wrote %d, /proc/PID/io wchar %d", w.Written, wchar)
	}
	// rchar also counts what the kernel itself reads from the files at
	// execve (__kernel_read adds to rchar; no read syscall, so no event):
	// the binprm buffer, the program headers, the PT_INTERP path, the
	// interpreter's ELF header and program headers. For this dynamically
	// linked test binary and ld-linux-x86-64.so.2 with 9 program headers
	// each: 256 + 9*56 + 28 + 64 + 9*56 = 1,356 bytes, the gap first seen.
	execBytes := execRchar(t, os.Args[0])
	lost := false
	for _, s := range rec.Stats() {
		lost = lost || s.Lost != 0
	}
	switch {
	case w.Read+execBytes == rchar:
		t.Logf("io child: read %d + %d read by the kernel at exec = rchar %d", w.Read, execBytes, rchar)
	case lost:
		t.Logf("events lost: io child read %d + %d at exec, /proc rchar %d", w.Read, execBytes, rchar)
	default:
		t.Errorf("io child read %d + %d read by the kernel at exec, /proc/PID/io rchar %d", w.Read, execBytes, rchar)
	}
	// unshare -fp forks sh as pid 1 of a new namespace, which forks
	// three /bin/true (vpids 2, 3, 4): four births and deaths below it.
	var inNS []analysis.ProcessFigures
	for _, p := range f.Processes {
		if p.PPID == state.PID(ns.Process.Pid) {
			inNS = append(inNS, p)
		}
	}
	if len(inNS) != 1 {
		t.Fatalf("%d children of unshare, want 1: %+v", len(inNS), inNS)
	}
	for _, p := range f.Processes {
		if p.PPID == inNS[0].PID {
			inNS = append(inNS, p)
		}
	}
	if len(inNS) != 4 {
		t.Fatalf("%d processes under unshare, want 4: %+v", len(inNS), inNS)
	}
	// The namespace's pids and the host's are given in the same order.
	slices.SortFunc(inNS[1:], func(a, b analysis.ProcessFigures) int { return cmp.Compare(a.PID, b.PID) })
	if inNS[0].VPID == inNS[0].PID {
		// The recorder writes the first child after unshare(CLONE_NEWPID)
		// in its parent's namespace (record/channel.go encodeFork copies
		// the parent's pidns and vtids): births and deaths are checked,
		// the vpid cannot be until it writes the new namespace.
		t.Logf("recorder gap: sched_process_fork of %d carries no nested vtids; vpid not checked", inNS[0].PID)
		for _, p := range inNS {
			if !p.Born || !p.Died {
				t.Errorf("process %d: born %v died %v", p.PID, p.Born, p.Died)
			}
		}
		return
	}
	for i, p := range inNS {
		if !p.Born || !p.Died || int(p.VPID) != i+1 || p.Container == 0 {
			t.Errorf("process %d: born %v died %v vpid %d container %d, want vpid %d in a container",
				p.PID, p.Born, p.Died, p.VPID, p.Container, i+1)
		}
	}
}

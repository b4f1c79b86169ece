package record

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracetop/tracetop/ctf/index"
	"github.com/tracetop/tracetop/internal/testenv"
)

// TestMain doubles as the CPU-burning child: with TRACETOP_BURN set, the
// test binary spins until it has used that much CPU time.
func TestMain(m *testing.M) {
	if d := os.Getenv("TRACETOP_BURN"); d != "" {
		want, _ := time.ParseDuration(d)
		x := 0
		for {
			for i := 0; i < 1e6; i++ {
				x += i ^ x
			}
			var ru unix.Rusage
			unix.Getrusage(unix.RUSAGE_SELF, &ru)
			used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			if used >= want {
				os.Exit(x & 0)
			}
		}
	}
	if n, _ := strconv.Atoi(os.Getenv("TRACETOP_GETPPID")); n > 0 {
		// On the main thread (tid = pid, what the test counts): after the
		// blocking read the goroutine could go on on another thread (seen
		// once: 136 of 1000 calls by the main thread).
		runtime.LockOSThread()
		os.Stdin.Read(make([]byte, 1)) // go
		for range n {
			unix.Getppid()
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// clockTicks is USER_HZ for /proc/PID/stat times.
const clockTicks = 100

// procCPU returns utime+stime of pid from /proc/PID/stat.
func procCPU(t *testing.T, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * time.Second / clockTicks
}

func TestRecordWorkload(t *testing.T) {
	testenv.Root(t)
	bt := testenv.Program(t, "babeltrace2")
	cputop := testenv.Program(t, "lttng-cputop-mi")
	dd := testenv.Program(t, "dd")

	out := t.TempDir()
	var logs bytes.Buffer
	rec, err := New(Config{
		Session:   "test-workload",
		OutputDir: out,
		Channels: []Channel{{
			// Only what the assertions and lttng-cputop read: the wakeup
			// events would multiply the trace on a busy machine.
			Events: []string{"sched_switch", "sched_process_fork", "sched_process_exec",
				"sched_process_exit", "sched_process_free"},
			Syscalls: []string{"openat", "write"},
			// tid says whose each system call is, whatever the merge of
			// the CPU streams.
			Contexts: []string{"tid"},
		}},
		Logf: func(f string, a ...any) { fmt.Fprintf(&logs, f+"\n", a...) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Destroy()
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let the statedump and readers settle

	burn := exec.Command(os.Args[0], "-test.run=^$")
	// 2 s: /proc counts whole ticks (10 ms, 0.5 %) and the trace a few ms
	// more around fork and exit; 2 % of a shorter burn is too tight for them
	// (5 threads of 10 ms ticks are 50 ms: 2.5 % of 2 s, 1.25 % of 4 s).
	burn.Env = append(os.Environ(), "TRACETOP_BURN=4s")
	file := filepath.Join(t.TempDir(), "tracetop-written-file")
	write := exec.Command(dd, "if=/dev/zero", "of="+file, "bs=1M", "count=10")
	if err := burn.Start(); err != nil {
		t.Fatal(err)
	}
	if err := write.Run(); err != nil {
		t.Fatal(err)
	}
	// Wait for the burner to exit without reaping it, to read its times.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, burn.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	burnCPU := procCPU(t, burn.Process.Pid)
	if err := burn.Wait(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Destroy(); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorder log:\n%s", logs.String())
	for _, s := range rec.Stats() {
		t.Logf("stream %s_%d: %d events, %d lost", s.Channel, s.CPU, s.Events, s.Lost)
		if s.Lost != 0 {
			t.Errorf("cpu %d lost %d events", s.CPU, s.Lost)
		}
	}
	for _, s := range rec.Stats() {
		name := fmt.Sprintf("%s_%d", s.Channel, s.CPU)
		_, ents, err := index.ReadFile(filepath.Join(out, "kernel", "index", name+".idx"))
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(out, "kernel", name))
		if err != nil {
			t.Fatal(err)
		}
		var off uint64
		for i, e := range ents {
			if e.Offset != off || e.PacketSeqNum != uint64(i) || e.ContentSize > e.PacketSize {
				t.Errorf("%s: index entry %d %+v does not follow the packets", name, i, e)
			}
			off += e.PacketSize / 8
		}
		if off != uint64(fi.Size()) {
			t.Errorf("%s: index covers %d bytes of %d", name, off, fi.Size())
		}
	}

	cmd := exec.Command(bt, filepath.Join(out, "kernel"))
	cmd.Env = testenv.Env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("babeltrace2: %v\n%s", err, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("babeltrace2 warnings:\n%s", stderr.String())
	}
	text := stdout.String()
	lines := strings.Split(text, "\n")
	t.Logf("babeltrace2 printed %d lines", len(lines))
	has := func(what string, re string) {
		t.Helper()
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("no %s (/%s/) in the trace", what, re)
		}
	}
	bp, wp, me := burn.Process.Pid, write.Process.Pid, os.Getpid()
	has("fork of the burner", fmt.Sprintf(`sched_process_fork: .*child_tid = %d,`, bp))
	has("fork of dd", fmt.Sprintf(`sched_process_fork: .*child_tid = %d,`, wp))
	has("exec of dd", fmt.Sprintf(`sched_process_exec: .*filename = "%s", tid = %d`, regexp.QuoteMeta(dd), wp))
	has("exit of the burner", fmt.Sprintf(`sched_process_exit: .*tid = %d,`, bp))
	has("exit of dd", fmt.Sprintf(`sched_process_exit: .*tid = %d,`, wp))
	has("switch from the burner", fmt.Sprintf(`sched_switch: .*prev_tid = %d,`, bp))
	has("switch to dd", fmt.Sprintf(`sched_switch: .*next_tid = %d,`, wp))
	has("openat syscall", `syscall_entry_openat: .*dfd = `)
	has("statedump start", `lttng_statedump_start:`)
	has("statedump end", `lttng_statedump_end:`)
	has("statedump of the test process", fmt.Sprintf(`lttng_statedump_process_state: .*\{ tid = %d, pid = %d, ppid = %d,`, me, me, os.Getppid()))
	vpid := selfVPID(t)
	has("pid namespace of the test process", fmt.Sprintf(`lttng_statedump_process_pid_ns: .*\{ tid = %d, vtid = %d, vpid = %d,`, me, vpid, vpid))

	// syscall_exit_write of dd to its output file (fd 1; fd 2 gets its
	// report) adds up to 10 MiB.
	var total int64
	fdOf := map[int]int{} // tid -> fd of its pending write
	enRe := regexp.MustCompile(`syscall_entry_write: \{ cpu_id = \d+ \}, \{ tid = (\d+) \}, \{ fd = (\d+),`)
	exRe := regexp.MustCompile(`syscall_exit_write: \{ cpu_id = \d+ \}, \{ tid = (\d+) \}, \{ ret = (-?\d+) \}`)
	for _, l := range lines {
		if m := enRe.FindStringSubmatch(l); m != nil {
			tid, _ := strconv.Atoi(m[1])
			fdOf[tid], _ = strconv.Atoi(m[2])
		} else if m := exRe.FindStringSubmatch(l); m != nil {
			if tid, _ := strconv.Atoi(m[1]); tid == wp && fdOf[wp] == 1 {
				n, _ := strconv.ParseInt(m[2], 10, 64)
				total += max(n, 0)
			}
		}
	}
	if total != 10<<20 {
		t.Errorf("dd's syscall_exit_write total %d bytes, want %d", total, 10<<20)
	}

	// lttng-cputop reports the burner's CPU time within 2 % of /proc.
	if os.Getenv("TRACETOP_KEEP") != "" {
		exec.Command("cp", "-r", out, os.Getenv("TRACETOP_KEEP")).Run()
	}
	// Bounded: a machine flooded by other work makes a trace that the
	// Python analysis would read for a very long time.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd = exec.CommandContext(ctx, cputop, "--skip-validation", "--limit", "100000", filepath.Join(out, "kernel"))
	cmd.Env = testenv.Env()
	stdout.Reset()
	stderr.Reset()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("lttng-cputop-mi: %v\n%s", err, stderr.String())
	}
	// The burner is a Go program: its time is spread over its threads, the
	// children it forked with child_pid = its pid.
	threads := []int{bp}
	thRe := regexp.MustCompile(fmt.Sprintf(`sched_process_fork: .*child_tid = (\d+), .*child_pid = %d,`, bp))
	for _, m := range thRe.FindAllStringSubmatch(text, -1) {
		if n, _ := strconv.Atoi(m[1]); n != bp {
			threads = append(threads, n)
		}
	}
	var got time.Duration
	for _, tid := range threads {
		d, err := cputopTime(stdout.Bytes(), tid)
		if err != nil && tid == bp {
			t.Fatalf("lttng-cputop-mi: %v\n%s", err, stdout.String())
		}
		got += d
	}
	t.Logf("burner threads %v", threads)
	diff := float64(got-burnCPU) / float64(burnCPU)
	t.Logf("burner cpu time: lttng-cputop %v, /proc utime+stime %v (%.2f%%)", got, burnCPU, 100*diff)
	if diff > 0.02 || diff < -0.02 {
		t.Errorf("lttng-cputop says %v for the burner, /proc says %v (goal: within 2 %%)", got, burnCPU)
	}

	// Every CPU that went idle came back from idle: tracefs alone misses
	// those switches on some kernels (see bpfSource), which credits the
	// idle time to the task that ran before.
	toIdle, fromIdle := map[string]int{}, map[string]int{}
	swRe := regexp.MustCompile(`sched_switch: \{ cpu_id = (\d+) \}, \{ tid = \d+ \}, \{ prev_comm = "[^"]*", prev_tid = (\d+), .*next_tid = (\d+),`)
	for _, m := range swRe.FindAllStringSubmatch(text, -1) {
		if m[2] == "0" {
			fromIdle[m[1]]++
		}
		if m[3] == "0" {
			toIdle[m[1]]++
		}
	}
	t.Logf("switches to idle per CPU %v, from idle %v", toIdle, fromIdle)
	for cpu, n := range toIdle {
		if n >= 10 && fromIdle[cpu] == 0 {
			t.Errorf("cpu %s: %d switches to the idle task and none away from it", cpu, n)
		}
	}
}

func selfVPID(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "NStgid:"); ok {
			f := strings.Fields(v)
			n, _ := strconv.Atoi(f[len(f)-1])
			return n
		}
	}
	return os.Getpid()
}

// cputopTime finds tid's usage in lttng-cputop-mi output and converts its
// ratio of the analysed time range to a duration.
func cputopTime(b []byte, tid int) (time.Duration, error) {
	type value struct {
		Class string `json:"class"`
		Value any    `json:"value"`
		TID   int    `json:"tid"`
	}
	var doc struct {
		Results []struct {
			Class     string `json:"class"`
			TimeRange struct {
				Begin struct {
					Value int64 `json:"value"`
				} `json:"begin"`
				End struct {
					Value int64 `json:"value"`
				} `json:"end"`
			} `json:"time-range"`
			Data [][]value `json:"data"`
		} `json:"results"`
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		return 0, err
	}
	for _, r := range doc.Results {
		if r.Class != "per-process" {
			continue
		}
		span := float64(r.TimeRange.End.Value - r.TimeRange.Begin.Value)
		for _, row := range r.Data {
			if len(row) == 0 || row[0].Class != "process" || row[0].TID != tid {
				continue
			}
			for _, v := range row[1:] {
				if n, ok := v.Value.(json.Number); ok && v.Class == "ratio" {
					f, err := n.Float64()
					return time.Duration(f * span), err
				}
			}
		}
	}
	return 0, fmt.Errorf("tid %d not in the per-process table", tid)
}

// TestLeaveOutSelf: with LeaveOutSelf the recorder's own system calls stay
// out of the trace, and those of another process stay in (one started
// before the recording: the kernel leaves out the processes the recorder
// starts once recording).
func TestLeaveOutSelf(t *testing.T) {
	testenv.Root(t)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "TRACETOP_GETPPID=1000")
	goCh, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	out := t.TempDir()
	rec, err := New(Config{Session: "test-leave-out", OutputDir: out, NoStatedump: true, LeaveOutSelf: true,
		Channels: []Channel{{Syscalls: []string{"getppid"}, Contexts: []string{"tid"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Destroy()
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		unix.Getppid()
	}
	goCh.Write([]byte{1})
	if err := child.Wait(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Destroy(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testenv.Program(t, "babeltrace2"), filepath.Join(out, "kernel"))
	cmd.Env = testenv.Env()
	b, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	self, other := 0, 0
	re := regexp.MustCompile(`syscall_entry_getppid: \{ cpu_id = \d+ \}, \{ tid = (\d+) \}`)
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		tid, _ := strconv.Atoi(m[1])
		switch {
		case tid == child.Process.Pid:
			other++
		case isThreadOf(tid, os.Getpid()):
			self++
		}
	}
	t.Logf("getppid entries: %d of the child, %d of the recorder", other, self)
	if self != 0 {
		t.Errorf("%d getppid entries of the recorder's own threads in its trace", self)
	}
	if other < 1000 {
		t.Errorf("%d getppid entries of the child, want 1000", other)
	}
}

// isThreadOf says whether tid is a thread of process pid now.
func isThreadOf(tid, pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d/task/%d", pid, tid))
	return err == nil
}

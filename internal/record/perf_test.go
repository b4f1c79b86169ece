package record_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tracetop/tracetop/internal/bpf"
	"github.com/tracetop/tracetop/internal/bpf/events"
	"github.com/tracetop/tracetop/internal/record"
	"github.com/tracetop/tracetop/internal/testenv"
)

// procFaults returns minflt+majflt of pid from /proc/PID/stat.
func procFaults(t *testing.T, pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	mi, _ := strconv.ParseUint(f[7], 10, 64)
	ma, _ := strconv.ParseUint(f[9], 10, 64)
	return mi + ma
}

// perf:thread and perf:cpu contexts: a single-threaded child (dd with a
// 64 MiB buffer) faults its pages in; the perf_thread_page_fault value of
// its last system call equals its minflt+majflt in /proc within 5 %, the
// per-thread values never go back, and babeltrace2 reads the trace.
func TestPerfContexts(t *testing.T) {
	testenv.Root(t)
	dd := testenv.Program(t, "dd")
	if err := bpf.Check(); err != nil {
		testenv.Missing(t, err.Error())
	}
	if _, _, err := record.CheckContext("perf:cpu:cpu-cycles"); err != nil {
		t.Logf("add-context perf:cpu:cpu-cycles: %v", err)
	}
	src, err := events.NewSource(events.SourceConfig{Syscalls: []string{"exit_group", "read", "write"}, IgnorePID: bpf.PID(os.Getpid())})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := t.TempDir()
	rec, err := record.New(record.Config{Session: "test-perf", OutputDir: out, NoStatedump: true, Logf: t.Logf,
		Channels: []record.Channel{{
			Events:   []string{"sched_switch", "sched_process_exit"},
			Syscalls: []string{"exit_group", "read", "write"},
			Contexts: []string{"tid", "perf:thread:page-fault", "perf:cpu:page-fault", "perf:thread:context-switches"},
			Sources:  []record.EventSource{src},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Destroy()
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dd, "if=/dev/zero", "of=/dev/null", "bs=64M", "count=2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	faults := procFaults(t, cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Destroy(); err != nil {
		t.Fatal(err)
	}
	bt := exec.Command(testenv.Program(t, "babeltrace2"), filepath.Join(out, "kernel"))
	bt.Env = testenv.Env()
	var stderr strings.Builder
	bt.Stderr = &stderr
	stdout, err := bt.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("babeltrace2: %v\n%s", err, stderr.String())
	}
	text := string(stdout)
	if k := os.Getenv("TRACETOP_KEEP"); k != "" {
		exec.Command("cp", "-r", out, k).Run()
	}
	pid := cmd.Process.Pid
	re := regexp.MustCompile(`\] .* (\w+): \{ cpu_id = \d+ \}, \{ tid = (\d+), perf_thread_page_fault = (\d+), perf_cpu_page_fault = (\d+), perf_thread_context_switches = (\d+) \}`)
	var last, lastExit uint64
	var n int
	perThread := map[string]uint64{}
	for _, l := range strings.Split(text, "\n") {
		m := re.FindStringSubmatch(l)
		if m == nil {
			if strings.Contains(l, "perf_") {
				t.Fatalf("unexpected line %s", l)
			}
			continue
		}
		n++
		v, _ := strconv.ParseUint(m[3], 10, 64)
		if v < perThread[m[2]] {
			t.Errorf("tid %s: perf_thread_page_fault went back from %d to %d: %s", m[2], perThread[m[2]], v, l)
		}
		perThread[m[2]] = v
		if m[2] == strconv.Itoa(pid) {
			last = v
			if m[1] == "syscall_entry_exit_group" {
				lastExit = v
			}
		}
	}
	t.Logf("%d events with perf contexts; dd %d: perf_thread_page_fault %d at exit_group, %d last; /proc minflt+majflt %d",
		n, pid, lastExit, last, faults)
	if lastExit == 0 {
		t.Fatalf("no syscall_entry_exit_group of dd %d with a page-fault count", pid)
	}
	// /proc also counts the faults the kernel takes on the task's behalf
	// through get_user_pages (exec's argument copy, fault-in before a
	// copy), which raise no perf event: a few % more.
	if d := float64(lastExit) - float64(faults); d > 0.05*float64(faults) || d < -0.05*float64(faults) {
		t.Errorf("dd's page faults: %d in the trace, %d in /proc", lastExit, faults)
	}
	if !regexp.MustCompile(fmt.Sprintf(`sched_switch: .*prev_tid = %d,`, pid)).MatchString(text) {
		t.Error("no sched_switch of dd")
	}
}

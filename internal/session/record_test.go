package session

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/tracetop/tracetop/internal/bpf"
	"github.com/tracetop/tracetop/internal/testenv"
)

// daemon starts a Server on a private socket and returns a client to it.
func daemon(t *testing.T) *Client {
	t.Helper()
	testenv.Root(t)
	sock := filepath.Join(t.TempDir(), "sessiond.sock")
	srv, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	cl, err := Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cl.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close daemon: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return cl
}

func call(t *testing.T, cl *Client, req *Request) *Response {
	t.Helper()
	resp, err := cl.Call(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Err != "" {
		t.Fatalf("%s: %s", req.Cmd, resp.Err)
	}
	return resp
}

// recordChild records a session while a child opens a named file and
// writes 10 MiB into it; it returns the trace folder, the child's pid and
// the file's path.
func recordChild(t *testing.T, cl *Client, name string) (dir string, pid int, path string, start *Response) {
	out := filepath.Join(t.TempDir(), "trace")
	call(t, cl, &Request{Cmd: CmdCreate, Session: name, Create: &CreateArgs{OutputDir: out}})
	call(t, cl, &Request{Cmd: CmdEnableEvent, Session: name, Event: &EventArgs{Names: []string{"sched_switch"}}})
	call(t, cl, &Request{Cmd: CmdEnableEvent, Session: name, Event: &EventArgs{Syscall: true, Names: []string{"openat,write,close"}}})
	call(t, cl, &Request{Cmd: CmdAddContext, Session: name, Context: &ContextArgs{Types: []string{"pid", "tid"}}})
	start = call(t, cl, &Request{Cmd: CmdStart, Session: name})
	path = filepath.Join(t.TempDir(), "named-output-file")
	child := exec.Command("dd", "if=/dev/zero", "of="+path, "bs=1M", "count=10", "status=none")
	if b, err := child.CombinedOutput(); err != nil {
		t.Fatalf("dd: %v\n%s", err, b)
	}
	call(t, cl, &Request{Cmd: CmdStop, Session: name})
	call(t, cl, &Request{Cmd: CmdDestroy, Session: name})
	return filepath.Join(out, "kernel"), child.Process.Pid, path, start
}

// babeltrace reads the trace with babeltrace2; any warning fails the test.
func babeltrace(t *testing.T, dir string) string {
	t.Helper()
	bt := testenv.Program(t, "babeltrace2")
	cmd := exec.Command(bt, dir)
	cmd.Env = testenv.Env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("babeltrace2 %s: %v\n%s", dir, err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("babeltrace2 warned:\n%s", stderr.String())
	}
	return stdout.String()
}

var retRE = regexp.MustCompile(`ret = (-?\d+)`)

func childLines(out string, pid int, event string) []string {
	var lines []string
	tag := "pid = " + strconv.Itoa(pid) + ","
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " "+event+":") && strings.Contains(l, tag) {
			lines = append(lines, l)
		}
	}
	return lines
}

func TestRecordChildWithBPF(t *testing.T) {
	testenv.Program(t, "babeltrace2")
	if err := bpf.Check(); err != nil {
		testenv.Missing(t, err.Error())
	}
	cl := daemon(t)
	dir, pid, path, start := recordChild(t, cl, "bpf-session")
	if start.Warn != "" {
		t.Errorf("start warned with BPF available: %s", start.Warn)
	}
	out := babeltrace(t, dir)
	opens := childLines(out, pid, "syscall_entry_openat")
	found := false
	for _, l := range opens {
		found = found || strings.Contains(l, `filename = "`+path+`"`)
	}
	if !found {
		t.Errorf("no syscall_entry_openat of %q by pid %d among %d:\n%s", path, pid, len(opens), strings.Join(opens, "\n"))
	}
	total := 0
	for _, l := range childLines(out, pid, "syscall_exit_write") {
		if m := retRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			total += n
		}
	}
	if total != 10<<20 {
		t.Errorf("syscall_exit_write of pid %d total %d bytes, want %d", pid, total, 10<<20)
	}
	if !strings.Contains(out, " sched_switch: ") {
		t.Error("no sched_switch in the trace")
	}
	compareView(t, dir, out)
}

// compareView checks that `tracetop view` prints what babeltrace2 printed.
// babeltrace2 2.0 prints an empty string field as the previous value of
// that field; those lines are told apart and logged.
func compareView(t *testing.T, dir, want string) {
	exe := tracetopBinary(t)
	cmd := exec.Command(exe, "view", dir)
	cmd.Env = testenv.Env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tracetop view: %v\n%s", err, stderr.String())
	}
	got := strings.Split(stdout.String(), "\n")
	wl := strings.Split(want, "\n")
	if len(got) != len(wl) {
		t.Fatalf("tracetop view printed %d lines, babeltrace2 %d", len(got), len(wl))
	}
	empty := 0
	for i := range got {
		if got[i] == wl[i] {
			continue
		}
		if strings.Contains(got[i], `= ""`) {
			empty++
			continue
		}
		t.Errorf("line %d:\nbabeltrace2:   %s\ntracetop view: %s", i+1, wl[i], got[i])
		break
	}
	if empty > 0 {
		t.Logf("%d lines with an empty string that babeltrace2 prints as the previous value", empty)
	}
}

var (
	buildOnce sync.Once
	buildExe  string
	buildErr  error
)

// tracetopBinary builds cmd/tracetop once for the package's tests.
func tracetopBinary(t *testing.T) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tracetop-bin-")
		if err != nil {
			buildErr = err
			return
		}
		os.Chmod(dir, 0o755)
		buildExe = filepath.Join(dir, "tracetop")
		b, err := exec.Command("go", "build", "-o", buildExe, "github.com/tracetop/tracetop/cmd/tracetop").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, b)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildExe
}

func TestRecordWithoutBPF(t *testing.T) {
	testenv.Program(t, "babeltrace2")
	t.Setenv(bpf.DisableEnv, "1")
	cl := daemon(t)
	dir, pid, _, start := recordChild(t, cl, "tracefs-session")
	if !strings.Contains(start.Warn, "without their strings") || !strings.Contains(start.Warn, bpf.DisableEnv) {
		t.Errorf("start warning %q does not say the strings are missing and why", start.Warn)
	}
	out := babeltrace(t, dir)
	if !strings.Contains(out, " sched_switch: ") {
		t.Error("no sched_switch in the trace")
	}
	if n := len(childLines(out, pid, "syscall_exit_write")); n < 10 {
		t.Errorf("%d syscall_exit_write of the child recorded from tracefs, want at least 10", n)
	}
}

func TestSeveralSessionsAndListing(t *testing.T) {
	cl := daemon(t)
	for _, n := range []string{"one", "two"} {
		call(t, cl, &Request{Cmd: CmdCreate, Session: n, Create: &CreateArgs{OutputDir: filepath.Join(t.TempDir(), n)}})
	}
	resp := call(t, cl, &Request{Cmd: CmdList})
	if len(resp.Sessions) != 2 || !strings.Contains(resp.Text, "  1) one [inactive]") || !strings.Contains(resp.Text, "  2) two [inactive]") {
		t.Errorf("list:\n%s", resp.Text)
	}
	r, _ := cl.Call(&Request{Cmd: CmdCreate, Session: "one", Create: &CreateArgs{OutputDir: "/tmp/x"}})
	if !strings.Contains(r.Err, "already exists") {
		t.Errorf("second create of one: %q", r.Err)
	}
	r, _ = cl.Call(&Request{Cmd: CmdStart, Session: "two"})
	if !strings.Contains(r.Err, "no events enabled") {
		t.Errorf("start without events: %q", r.Err)
	}
	r, _ = cl.Call(&Request{Cmd: CmdAddContext, Session: "two", Context: &ContextArgs{Types: []string{"bogus"}}})
	if !strings.Contains(r.Err, "unknown context type") {
		t.Errorf("add-context bogus: %q", r.Err)
	}
	call(t, cl, &Request{Cmd: CmdDestroy, Session: "one"})
	call(t, cl, &Request{Cmd: CmdDestroy, Session: "two"})
}

// A user who is not root gets told what to do.
func TestNotRootMessage(t *testing.T) {
	testenv.Root(t)
	setpriv := testenv.Program(t, "setpriv")
	exe := tracetopBinary(t)
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", exe, "create", "x", "-o", "/tmp/x")
	cmd.Env = append(os.Environ(), SocketEnv+"="+filepath.Join(t.TempDir(), "none.sock"))
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "needs root") || !strings.Contains(string(b), "sudo") {
		t.Errorf("as nobody: %v\n%s", err, b)
	}
}

// TestPerfContextSession: add-context -t perf:thread:page-fault through the
// daemon, with no system call enabled, records the counter; a hardware
// counter this machine lacks is refused at add-context time.
func TestPerfContextSession(t *testing.T) {
	cl := daemon(t)
	const name = "perf-session"
	out := filepath.Join(t.TempDir(), "trace")
	call(t, cl, &Request{Cmd: CmdCreate, Session: name, Create: &CreateArgs{OutputDir: out}})
	call(t, cl, &Request{Cmd: CmdEnableEvent, Session: name, Event: &EventArgs{Names: []string{"sched_switch"}}})
	call(t, cl, &Request{Cmd: CmdAddContext, Session: name, Context: &ContextArgs{Types: []string{"tid", "perf:thread:page-fault"}}})
	if _, err := os.Stat("/sys/bus/event_source/devices/cpu"); err != nil {
		r, _ := cl.Call(&Request{Cmd: CmdAddContext, Session: name, Context: &ContextArgs{Types: []string{"perf:cpu:cpu-cycles"}}})
		if !strings.Contains(r.Err, "not available") {
			t.Errorf("add-context perf:cpu:cpu-cycles without a PMU: %q", r.Err)
		}
	}
	call(t, cl, &Request{Cmd: CmdStart, Session: name})
	child := exec.Command("dd", "if=/dev/zero", "of=/dev/null", "bs=16M", "count=4", "status=none")
	if b, err := child.CombinedOutput(); err != nil {
		t.Fatalf("dd: %v\n%s", err, b)
	}
	call(t, cl, &Request{Cmd: CmdStop, Session: name})
	call(t, cl, &Request{Cmd: CmdDestroy, Session: name})
	text := babeltrace(t, filepath.Join(out, "kernel"))
	re := regexp.MustCompile(`perf_thread_page_fault = (\d+)`)
	var most uint64
	for _, l := range strings.Split(text, "\n") {
		if !strings.Contains(l, "tid = "+strconv.Itoa(child.Process.Pid)+",") {
			continue
		}
		if m := re.FindStringSubmatch(l); m != nil {
			v, _ := strconv.ParseUint(m[1], 10, 64)
			most = max(most, v)
		}
	}
	// The kernel's own count is the oracle: dd's minor and major faults
	// (its rusage; a 16 MiB buffer, about 4,100 faults, fewer when part
	// of it is already there), less the few at its exit, after its last
	// event.
	ru := child.ProcessState.SysUsage().(*syscall.Rusage)
	want := uint64(ru.Minflt + ru.Majflt)
	if most > want || want-most > 16 || most == 0 {
		t.Errorf("dd's perf_thread_page_fault reached %d, its rusage counts %d page faults", most, want)
	}
	t.Logf("dd: perf_thread_page_fault up to %d; rusage minflt %d majflt %d", most, ru.Minflt, ru.Majflt)
}

package record_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracetop/tracetop/internal/bpf"
	"github.com/tracetop/tracetop/internal/bpf/events"
	"github.com/tracetop/tracetop/internal/record"
	"github.com/tracetop/tracetop/internal/testenv"
)

// nsInode reads the inode of /proc/PID/ns/pid.
func nsInode(t *testing.T, pid int) uint64 {
	t.Helper()
	s, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(s, "pid:["), "]"), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return n
}

// firstChild waits until pid has a child and returns it.
func firstChild(t *testing.T, pid int) int {
	t.Helper()
	for range 500 {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		if f := strings.Fields(string(b)); len(f) > 0 {
			n, _ := strconv.Atoi(f[0])
			return n
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("process %d has no child", pid)
	return 0
}

type forkEvent struct {
	parentTID, childTID, childPID int
	vtids                         []int
	childNS                       uint64
}

var forkRe = regexp.MustCompile(`sched_process_fork: .*parent_tid = (\d+), .*child_tid = (\d+), _vtids_length = \d+, vtids = \[ (.*?) \], child_pid = (\d+), child_ns_inum = (\d+) \}`)
var vtidRe = regexp.MustCompile(`\[\d+\] = (-?\d+)`)

func forks(text string) []forkEvent {
	var out []forkEvent
	for _, m := range forkRe.FindAllStringSubmatch(text, -1) {
		var e forkEvent
		e.parentTID, _ = strconv.Atoi(m[1])
		e.childTID, _ = strconv.Atoi(m[2])
		for _, v := range vtidRe.FindAllStringSubmatch(m[3], -1) {
			n, _ := strconv.Atoi(v[1])
			e.vtids = append(e.vtids, n)
		}
		e.childPID, _ = strconv.Atoi(m[4])
		e.childNS, _ = strconv.ParseUint(m[5], 10, 64)
		out = append(out, e)
	}
	return out
}

// After unshare(CLONE_NEWPID) the first child is pid 1 of the new
// namespace and its children 2, 3: sched_process_fork gives their ids in
// that namespace and its inode, from the BPF fork record and, without
// BPF, from tracefs and /proc. The statedump gives the same for a
// namespace that existed before the session.
func TestForkIntoNewPIDNamespace(t *testing.T) {
	testenv.Root(t)
	bt := testenv.Program(t, "babeltrace2")
	unshare := testenv.Program(t, "unshare")
	host := nsInode(t, os.Getpid())

	// A namespace that exists before recording, for the statedump.
	pre := exec.Command(unshare, "-fp", "sleep", "30")
	if err := pre.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { pre.Process.Kill(); pre.Wait() }()
	preInit := firstChild(t, pre.Process.Pid)
	preNS := nsInode(t, preInit)

	// bpf: the syscall source takes sched_process_fork; recorder: the
	// recorder's own BPF fork program; tracefs: tracefs and /proc.
	for _, mode := range []string{"bpf", "recorder", "tracefs"} {
		t.Run(mode, func(t *testing.T) {
			ch := record.Channel{Events: []string{"sched_process_fork", "sched_process_exit"}}
			if mode != "tracefs" {
				if err := bpf.Check(); err != nil {
					if errors.Is(err, bpf.ErrNotSupported) {
						testenv.Missing(t, err.Error())
					}
				}
			}
			if mode == "bpf" {
				src, err := events.NewSource(events.SourceConfig{Fork: true, IgnorePID: bpf.PID(os.Getpid())})
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				ch.Sources = []record.EventSource{src}
			}
			out := t.TempDir()
			rec, err := record.New(record.Config{Session: "test-forkns-" + mode, OutputDir: out,
				Channels: []record.Channel{ch}, NoBPFFork: mode == "tracefs"})
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Destroy()
			if err := rec.Start(); err != nil {
				t.Fatal(err)
			}
			// sh is pid 1 of the new namespace, its two sleeps 2 and 3;
			// they live long enough for /proc to be read without BPF.
			cmd := exec.Command(unshare, "-fp", "sh", "-c", "sleep 0.6 & sleep 0.6 & wait")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sh := firstChild(t, cmd.Process.Pid)
			ns := nsInode(t, sh)
			if err := cmd.Wait(); err != nil {
				t.Fatal(err)
			}
			if err := rec.Stop(); err != nil {
				t.Fatal(err)
			}
			if err := rec.Destroy(); err != nil {
				t.Fatal(err)
			}
			c := exec.Command(bt, filepath.Join(out, "kernel"))
			c.Env = testenv.Env()
			var stdout, stderr bytes.Buffer
			c.Stdout, c.Stderr = &stdout, &stderr
			if err := c.Run(); err != nil || stderr.Len() > 0 {
				t.Fatalf("babeltrace2: %v\n%s", err, stderr.String())
			}
			text := stdout.String()
			var first *forkEvent
			var kids []forkEvent
			for _, e := range forks(text) {
				switch {
				case e.parentTID == cmd.Process.Pid && e.childTID == sh:
					first = &e
				case e.parentTID == sh:
					kids = append(kids, e)
				}
			}
			if first == nil {
				t.Fatalf("no sched_process_fork of unshare %d -> sh %d in:\n%s", cmd.Process.Pid, sh, grep(text, "sched_process_fork"))
			}
			t.Logf("unshare -> sh: vtids %v, ns %d (host %d)", first.vtids, first.childNS, host)
			if want := []int{sh, 1}; !equal(first.vtids, want) || first.childNS != ns || first.childPID != sh {
				t.Errorf("first process of the namespace: vtids %v ns %d pid %d, want vtids %v ns %d pid %d",
					first.vtids, first.childNS, first.childPID, want, ns, sh)
			}
			if len(kids) != 2 {
				t.Fatalf("%d forks by sh, want 2:\n%s", len(kids), grep(text, "sched_process_fork"))
			}
			for i, k := range kids {
				t.Logf("sh -> sleep: vtids %v, ns %d", k.vtids, k.childNS)
				if want := []int{k.childTID, 2 + i}; !equal(k.vtids, want) || k.childNS != ns {
					t.Errorf("child %d of sh: vtids %v ns %d, want %v ns %d", i, k.vtids, k.childNS, want, ns)
				}
			}
			// The statedump: the earlier namespace's pid 1 at both levels.
			want0 := fmt.Sprintf(`lttng_statedump_process_pid_ns: .*\{ tid = %d, vtid = %d, vpid = %d, vppid = %d, ns_level = 0, ns_inum = %d \}`,
				preInit, preInit, preInit, pre.Process.Pid, host)
			want1 := fmt.Sprintf(`lttng_statedump_process_pid_ns: .*\{ tid = %d, vtid = 1, vpid = 1, vppid = 0, ns_level = 1, ns_inum = %d \}`,
				preInit, preNS)
			for _, w := range []string{want0, want1} {
				if !regexp.MustCompile(w).MatchString(text) {
					t.Errorf("statedump: no /%s/ in:\n%s", w, grep(text, fmt.Sprintf("tid = %d,", preInit)))
				}
			}
		})
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func grep(text, what string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, what) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

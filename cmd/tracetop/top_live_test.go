package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracetop/tracetop/internal/testenv"
	"github.com/tracetop/tracetop/internal/tui"
)

// buildTracetop builds the binary under test.
func buildTracetop(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tracetop")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// tmuxPane runs a command in a detached tmux session of w x h cells.
type tmuxPane struct {
	t       *testing.T
	tmux    string
	session string
	socket  string
}

func newTmux(t *testing.T, w, h int, argv ...string) *tmuxPane {
	t.Helper()
	p := &tmuxPane{t: t, tmux: testenv.Program(t, "tmux"), session: "tracetop-test",
		socket: filepath.Join(t.TempDir(), "tmux.sock")}
	args := append([]string{"-S", p.socket, "new-session", "-d", "-s", p.session,
		"-x", itoa(w), "-y", itoa(h), "--"}, argv...)
	cmd := exec.Command(p.tmux, args...)
	cmd.Env = append(testenv.Env(), "TERM=xterm-256color")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(p.tmux, "-S", p.socket, "kill-server").Run() })
	return p
}

func itoa(i int) string { return strconv.Itoa(i) }

func (p *tmuxPane) keys(keys ...string) {
	args := append([]string{"-S", p.socket, "send-keys", "-t", p.session}, keys...)
	if out, err := exec.Command(p.tmux, args...).CombinedOutput(); err != nil {
		p.t.Fatalf("tmux send-keys %v: %v\n%s", keys, err, out)
	}
}

func (p *tmuxPane) capture() string {
	out, err := exec.Command(p.tmux, "-S", p.socket, "capture-pane", "-p", "-t", p.session).Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// waitFor polls the pane until every string shows (a generous deadline:
// only a hang fails it).
func (p *tmuxPane) waitFor(want ...string) string {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var s string
	for time.Now().Before(deadline) {
		s = p.capture()
		ok := true
		for _, w := range want {
			if !strings.Contains(s, w) {
				ok = false
			}
		}
		if ok {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("the pane never showed %q:\n%s", want, s)
	return s
}

// TestTopTmuxRecorded runs the real binary on a recorded trace in tmux:
// the header, the footer, the busiest process first, the views and quit.
func TestTopTmuxRecorded(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t, "traces"), "tracevizlab", "wget-k", "trace")
	bin := buildTracetop(t)
	done := filepath.Join(t.TempDir(), "done")
	p := newTmux(t, 80, 24, "sh", "-c", bin+" top "+dir+"; echo $? > "+done+"; sleep 60")
	s := p.waitFor("Statistics for interval [15:54:06.661373176, 15:54:06.7558803", "End of trace", "3876    3876", tui.FooterText())
	lines := strings.Split(s, "\n")
	first := ""
	for i, l := range lines {
		if strings.Contains(l, "CPU(%)") && i+1 < len(lines) {
			first = lines[i+1]
		}
	}
	// code (pid 3876) is the busiest thread of the whole trace.
	if !strings.Contains(first, "3876    3876") || !strings.Contains(first, "code") {
		t.Errorf("first row %q, want code 3876:\n%s", first, s)
	}
	p.keys("F3")
	p.waitFor("Perf Top")
	p.keys("F4")
	p.waitFor("IO Top", "R/s")
	p.keys("Enter")
	p.waitFor("Process details", "Open files at")
	p.keys("?")
	p.waitFor("Help", "this help")
	p.keys("x", "F2")
	p.waitFor("CPU Top")
	p.keys("q")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(done); err == nil {
			if strings.TrimSpace(string(b)) != "0" {
				t.Errorf("exit status %s", b)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("q did not quit:\n%s", p.capture())
}

// TestTopTmuxLive runs the bare `tracetop` as root in tmux with a busy
// program started by it (-- PROGRAM): the live screen shows the program
// first in CPUtop, and q ends the session cleanly.
func TestTopTmuxLive(t *testing.T) {
	testenv.Root(t)
	testenv.Short(t)
	bin := buildTracetop(t)
	tmp := t.TempDir()
	busy := filepath.Join(tmp, "busyloop")
	if err := os.WriteFile(busy, []byte("#!/bin/sh\nwhile :; do :; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	done := filepath.Join(tmp, "done")
	p := newTmux(t, 100, 30, "sh", "-c", bin+" -- "+busy+" 2>"+filepath.Join(tmp, "err")+"; echo $? > "+done+"; sleep 60")
	s := p.waitFor("LIVE", "busyloop", tui.FooterText())
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.Contains(l, "CPU(%)") && i+1 < len(lines) && !strings.Contains(lines[i+1], "busyloop") {
			t.Errorf("first row %q, want busyloop:\n%s", lines[i+1], s)
		}
	}
	p.keys("q")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(done); err == nil {
			if strings.TrimSpace(string(b)) != "0" {
				e, _ := os.ReadFile(filepath.Join(tmp, "err"))
				t.Errorf("exit status %s: %s", b, e)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("q did not quit:\n%s", p.capture())
}

// TestTopLiveLatency runs the bare `tracetop` (in-process recording) in
// tmux, then starts a busy process: the busy process must be first in
// CPUtop within 2 s of its first instruction. The top runs as a
// monitoring tool is run on a loaded machine, with real-time priority
// (chrt -f 2), and the busy process too, below it (chrt -f 1: the top's
// per-CPU readers must preempt it, or the CPU it spins on is never read),
// so that the busy process has a core from its start and the top keeps
// up even when other tests load the machine: at normal priority, with
// other test suites making 350 k events/s, the top falls seconds behind
// and the busy process gets a third of a core. A rival using a whole
// core as well ties with the busy process, which counts as first (both
// rows show about a full core). The latency is measured
// from the time the busy process wrote at its start (it runs from there
// on) to the capture of the pane that shows it first, and split into the
// age of the data (the shown interval's end minus the start) and the
// time to the screen.
func TestTopLiveLatency(t *testing.T) {
	testenv.Root(t)
	testenv.Short(t)
	// A measurement that needs the machine to itself (it records the
	// whole machine at real-time priority and times a busy process's
	// arrival at the top of CPUtop): run it on purpose, on an idle
	// machine. TestTopTmuxLive checks the busy process comes first in
	// every run.
	if os.Getenv("TRACETOP_LATENCY") == "" {
		t.Skip("measurement; run with TRACETOP_LATENCY=1 on an idle machine")
	}
	bin := buildTracetop(t)
	tmp := t.TempDir()
	startFile := filepath.Join(tmp, "start")
	busy := filepath.Join(tmp, "busyloop")
	script := "#!/bin/sh\ndate +%s%N > " + startFile + ".tmp && mv " + startFile + ".tmp " + startFile + "\nwhile :; do :; done\n"
	if err := os.WriteFile(busy, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// A burst of load elsewhere (another test's system-call storm, more
	// events than the recorder takes) can stall one try: three tries.
	// When other processes make more events than the top reads (a
	// system-call storm: `yes > /dev/null` makes 2.7 M events/s, the top
	// reads about 2.3 M/s on this machine), the screen falls behind and
	// says CATCHING UP: such a try measures the load, not the top, and
	// when every try is such, the test is skipped with the figures.
	var tries []string
	overloaded := 0
	for try := 1; try <= 3; try++ {
		msg, ok, over := liveLatencyOnce(t, bin, busy, startFile, filepath.Join(tmp, fmt.Sprintf("err%d", try)))
		t.Logf("try %d: %s", try, msg)
		if ok {
			return
		}
		if over {
			overloaded++
		}
		tries = append(tries, msg)
		os.Remove(startFile)
	}
	if overloaded == len(tries) {
		t.Skipf("the machine made more events than the top reads in every try (CATCHING UP):\n%s", strings.Join(tries, "\n"))
	}
	t.Errorf("the busy process was not first in CPUtop within 2 s in 3 tries:\n%s", strings.Join(tries, "\n"))
}

// liveLatencyOnce starts the top and then the busy process, and says how
// long the busy process took to be first in CPUtop; ok when within 2 s,
// overloaded when the top said CATCHING UP meanwhile.
func liveLatencyOnce(t *testing.T, bin, busy, startFile, errFile string) (msg string, ok, overloaded bool) {
	p := newTmux(t, 120, 40, "sh", "-c", "chrt -f 2 "+bin+" 2>"+errFile+"; sleep 60")
	defer exec.Command(p.tmux, "-S", p.socket, "kill-server").Run()
	p.waitFor("LIVE", tui.FooterText())
	time.Sleep(time.Second) // a few intervals on screen
	cmd := exec.Command("chrt", "-f", "1", busy)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pid := strconv.Itoa(cmd.Process.Pid)
	var t0 int64
	var shown string
	var at time.Time
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s := p.capture()
		now := time.Now()
		overloaded = overloaded || strings.Contains(s, "CATCHING UP")
		if t0 == 0 {
			if b, err := os.ReadFile(startFile); err == nil {
				t0, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			}
		}
		if t0 != 0 && busyFirst(s, pid) {
			shown, at = s, now
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if shown == "" {
		e, _ := os.ReadFile(errFile)
		return fmt.Sprintf("busyloop (pid %s) not first in CPUtop after 10 s (behind: %v):\n%s\n%s", pid, overloaded, p.capture(), e), false, overloaded
	}
	latency := at.Sub(time.Unix(0, t0))
	msg = fmt.Sprintf("busyloop first in CPUtop %v after its start", latency.Round(time.Millisecond))
	if end, ok := shownEnd(shown); ok {
		msg += fmt.Sprintf(" (the interval shown ends %v after its start, shown %v after its end)",
			end.Sub(time.Unix(0, t0)).Round(time.Millisecond), at.Sub(end).Round(time.Millisecond))
	}
	p.keys("q")
	if latency > 2*time.Second {
		return fmt.Sprintf("%s, want within 2 s (behind: %v):\n%s", msg, overloaded, shown), false, overloaded
	}
	return msg, true, false
}

// busyFirst says whether the CPUtop of the pane has the process pid on
// its first row, or tied with the first row (both at about a full core:
// real-time tasks get 95 % of a CPU, less what the top takes there).
func busyFirst(s, pid string) bool {
	lines := strings.Split(s, "\n")
	var rows [][]string
	for i, l := range lines {
		if !strings.Contains(l, "CPU(%)") {
			continue
		}
		for _, r := range lines[i+1:] {
			f := strings.Fields(strings.Trim(r, "│> "))
			if len(f) < 3 {
				break
			}
			rows = append(rows, f)
		}
		break
	}
	if len(rows) == 0 {
		return false
	}
	top, _ := strconv.ParseFloat(rows[0][0], 64)
	for i, f := range rows {
		if f[1] != pid || f[2] != pid {
			continue
		}
		cpu, _ := strconv.ParseFloat(f[0], 64)
		return i == 0 || cpu >= 75 && top-cpu < 10
	}
	return false
}

// shownEnd reads the end of the interval in the header (UTC, today).
func shownEnd(s string) (time.Time, bool) {
	i := strings.Index(s, "Statistics for interval [")
	if i < 0 {
		return time.Time{}, false
	}
	rest := s[i+len("Statistics for interval ["):]
	j := strings.Index(rest, ", ")
	k := strings.Index(rest, "[")
	if j < 0 || k < j {
		return time.Time{}, false
	}
	c, err := time.ParseInLocation("15:04:05.000000000", rest[j+2:k], time.UTC) // the pane runs with TZ=UTC
	if err != nil {
		return time.Time{}, false
	}
	now := time.Now().UTC()
	e := time.Date(now.Year(), now.Month(), now.Day(), c.Hour(), c.Minute(), c.Second(), c.Nanosecond(), time.UTC)
	if e.Sub(now) > 12*time.Hour {
		e = e.AddDate(0, 0, -1)
	}
	return e, true
}

package main

import (
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

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/tracetop/tracetop/internal/testenv"
)

// TestTopFlags parses the LTTngTop flags of `tracetop top` and of the bare
// `tracetop`: one options struct is filled whatever the mode.
func TestTopFlags(t *testing.T) {
	args := []string{"-p", "12,34", "-n", "wget", "-f", "-b", "+1s", "-i", "250ms", "-t", "-o", "out.txt",
		"--speed", "2", "-r", "relay.example:5344"}
	want := topOptions{pids: []int{12, 34}, names: []string{"wget"}, children: true, begin: "+1s",
		textdump: true, output: "out.txt", relay: "relay.example:5344", interval: 250 * time.Millisecond, speed: 2}

	cmd, o := newTopCmd()
	if err := cmd.ParseFlags(append(args, "--batch", "-e", "+40ms", "--json", "--limit", "5")); err != nil {
		t.Fatal(err)
	}
	wantTop := want
	wantTop.batch, wantTop.end, wantTop.json, wantTop.limit = true, "+40ms", true, 5
	if diff := cmp.Diff(wantTop, *o, cmp.AllowUnexported(topOptions{})); diff != "" {
		t.Errorf("top flags (-want +got):\n%s", diff)
	}
	b := o.batchOptions([]string{"trace"})
	if b.Interval != 250*time.Millisecond || b.Begin != "+1s" || b.End != "+40ms" || !b.Children ||
		len(b.PIDs) != 2 || b.Names[0] != "wget" || !b.JSON || b.Limit != 5 {
		t.Errorf("batch options %+v", b)
	}

	var root topOptions
	fs := pflag.NewFlagSet("tracetop", pflag.ContinueOnError)
	addTopFlags(fs, &root, false)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	want.limit = 0
	if diff := cmp.Diff(want, root, cmp.AllowUnexported(topOptions{})); diff != "" {
		t.Errorf("bare tracetop flags (-want +got):\n%s", diff)
	}
	if fs.Lookup("batch") != nil {
		t.Error("the bare tracetop has no --batch")
	}
	// The real root command has them too.
	for _, n := range []string{"pid", "procname", "child", "begin", "textdump", "output", "relay", "interval"} {
		if rootCmd.Flags().Lookup(n) == nil {
			t.Errorf("tracetop has no --%s", n)
		}
	}
}

// TestTopManual checks `tracetop help top`: man-style sections, every key
// of the screen and every flag.
func TestTopManual(t *testing.T) {
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetArgs([]string{"help", "top"})
	defer rootCmd.SetArgs(nil)
	if err := rootCmd.Execute(); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "KEYS", "OPTIONS", "Examples:",
		"CATCHING UP", "F2 C", "Left", "this help", "--textdump", "--batch", "--interval", "--end",
		"-p, --pid", "-f, --child", "-- PROGRAM"} {
		if !strings.Contains(s, want) {
			t.Errorf("tracetop help top lacks %q:\n%s", want, s)
		}
	}
}

// TestTopTextdumpProgram runs `tracetop top -t -- /bin/echo hello` as
// root: the text dump follows echo from its first instruction (the
// child's side of the fork, before the exec) to its exit_group, with the
// write of "hello\n" to fd 1 returning 6.
func TestTopTextdumpProgram(t *testing.T) {
	testenv.Root(t)
	bin := buildTracetop(t)
	out := filepath.Join(t.TempDir(), "dump.txt")
	cmd := exec.Command(bin, "top", "-t", "-o", out, "--", "/bin/echo", "hello")
	cmd.Env = testenv.Env()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	lines := strings.Split(strings.TrimSpace(s), "\n")
	execAt := -1
	for i, l := range lines {
		if strings.Contains(l, " echo] execve(") {
			execAt = i
			break
		}
	}
	if execAt < 1 {
		t.Fatalf("no execve of echo after the child's first calls:\n%s", s)
	}
	for _, want := range []string{"echo] write(fd: 1, ", ") = 6 <", "echo] exit_group("} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in:\n%s", want, s)
		}
	}
}

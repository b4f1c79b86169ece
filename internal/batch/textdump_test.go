package batch_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/batch"
	"github.com/tracetop/tracetop/internal/testenv"
)

// TestTextdumpAgainstBabeltrace prints wget's system calls from
// tracevizlab/wget-k and checks every line against babeltrace2: the entry
// event of that name exists at the time printed, and the return value is
// the one of the next exit event of that name on the same CPU.
func TestTextdumpAgainstBabeltrace(t *testing.T) {
	bt := testenv.Program(t, "babeltrace2")
	dir := filepath.Join(testenv.SharedDir(t, "traces"), "tracevizlab/wget-k/trace")
	src, err := ctf.Open([]string{dir}, ctf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out bytes.Buffer
	if err := batch.Textdump(&out, src, batch.TextdumpOptions{Names: []string{"wget"}}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bt, "--clock-gmt", dir)
	cmd.Env = testenv.Env()
	peer, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	type btEvent struct {
		time, name, cpu, ret string
	}
	var evs []btEvent
	at := map[string]int{} // "time name" of entries -> index
	re := regexp.MustCompile(`^\[(\d\d:\d\d:\d\d\.\d{9})\] \S+ \S+ (syscall_(?:entry|exit)_\w+): \{ cpu_id = (\d+) \}, \{ `)
	retRE := regexp.MustCompile(`\bret = (-?\d+)`)
	sc := bufio.NewScanner(bytes.NewReader(peer))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := re.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ret := ""
		if r := retRE.FindStringSubmatch(sc.Text()); r != nil {
			ret = r[1]
		}
		evs = append(evs, btEvent{m[1], m[2], m[3], ret})
		at[m[1]+" "+m[2]] = len(evs) - 1
	}
	line := regexp.MustCompile(`^(\S+) \[(\d+)/(\d+) (\S+)\] (\w+)\((.*)\) = (-?\w+)`)
	n := 0
	durRE := regexp.MustCompile(`<(\d+\.\d+)>$`)
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if strings.HasSuffix(l, ") = ?") || strings.HasPrefix(l, "+++ ") {
			continue // a call that never returns, the exit
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("bad line %q", l)
		}
		if m[6] == "..." {
			continue // entered before the selection knew it (exec)
		}
		n++
		i, ok := at[m[1]+" syscall_entry_"+m[5]]
		if !ok {
			t.Errorf("%q: babeltrace2 has no syscall_entry_%s at %s", l, m[5], m[1])
			continue
		}
		// The exit: the first of that name on the same CPU, or, when the
		// thread migrated while blocked, the one at entry + duration.
		dur := durRE.FindStringSubmatch(l)
		d, _ := time.ParseDuration(dur[1] + "s")
		t0, _ := time.Parse("15:04:05.000000000", m[1])
		ret := ""
		for _, e := range evs[i+1:] {
			if e.name != "syscall_exit_"+m[5] {
				continue
			}
			te, _ := time.Parse("15:04:05.000000000", e.time)
			if e.cpu == evs[i].cpu || te.Sub(t0) >= d && te.Sub(t0) < d+time.Microsecond {
				ret = e.ret
				break
			}
		}
		want := m[7]
		if want == "-1" {
			want = "" // errors: compared below by name
		}
		if want != "" && strings.HasPrefix(want, "0x") {
			continue
		}
		if want != "" && ret != want {
			t.Errorf("%q: babeltrace2's exit returns %s", l, ret)
		}
		if want == "" && !strings.HasPrefix(ret, "-") {
			t.Errorf("%q: babeltrace2's exit returns %s, not an error", l, ret)
		}
	}
	if n < 300 {
		t.Errorf("only %d calls of wget checked:\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), `openat(dfd: AT_FDCWD, filename: "/etc/ld.so.cache", flags: O_RDONLY|O_CLOEXEC, mode: 0) = 3`) {
		t.Errorf("no decoded openat of /etc/ld.so.cache:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "wget] exit_group(error_code: 0) = ?\n+++ 14312/14312 wget exited +++") {
		t.Error("no exit_group = ? and exit")
	}
	if !strings.Contains(out.String(), `= -1 ENOENT (No such file or directory)`) {
		t.Error("no ENOENT error named")
	}
}

package bpf

import (
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

	"github.com/tracetop/tracetop/ftrace"
	"github.com/tracetop/tracetop/internal/testenv"
)

// tracefsState is tracefs's text for a sched_switch prev_state value.
func tracefsState(v int64) string {
	if v == 0x100 {
		return "R+"
	}
	if v == 0 {
		return "R"
	}
	const letters = "SDTtXZPI"
	for i := range 8 {
		if v == 1<<i {
			return letters[i : i+1]
		}
	}
	return fmt.Sprintf("%#x", v)
}

type switchEv struct {
	ts                 uint64 // ns
	prev, next         int
	prevPrio, nextPrio int
	state              string
	matched            bool
}

// TestSwitchMatchesTracefs records sched_switch with the BPF program and
// with tracefs at once, on a workload that sleeps, is preempted and exits:
// every switch tracefs writes is also a BPF record on the same CPU, within
// the text's microsecond, with the same tasks, priorities and prev_state.
// tracefs may miss switches (on some kernels those away from a secondary
// CPU's idle task); BPF must have a switch away from idle on every CPU
// that went idle.
func TestSwitchMatchesTracefs(t *testing.T) {
	if !switchHasState() {
		t.Logf("this kernel's sched_switch has no prev_state argument: the states are read at the probe")
	}
	tr := openTracer(t, Config{NoSyscalls: true})
	if err := tr.SetSwitch(true); err != nil {
		t.Fatal(err)
	}
	fs, err := ftrace.Open("")
	if err != nil {
		testenv.Missing(t, "tracefs: "+err.Error())
	}
	in, err := fs.NewInstance("switch-test")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Remove()
	if err := in.SetClock("mono"); err != nil {
		t.Fatal(err)
	}
	if err := in.SetBufferSizeKB(4096); err != nil {
		t.Fatal(err)
	}
	// BPF records from before tracefs starts to after it stops: every
	// tracefs switch falls inside the BPF window.
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	if err := in.Enable(ftrace.EventName{System: "sched", Name: "sched_switch"}, true); err != nil {
		t.Fatal(err)
	}
	// Sleeps (S), exits (Z via the dying task's last switch), a burner
	// preempted by the sleepers' wake-ups (R+).
	sh := testenv.Program(t, "sh")
	burn := exec.Command(sh, "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done")
	if err := burn.Start(); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if err := exec.Command(sh, "-c", "sleep 0.002").Run(); err != nil {
			t.Fatal(err)
		}
	}
	burn.Wait()
	if err := in.Enable(ftrace.EventName{System: "sched", Name: "sched_switch"}, false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	tr.Stop()

	bpfBy := map[int][]*switchEv{}
	var r Record
	for idle := 0; idle < 3; {
		tr.SetDeadline(time.Now().Add(50 * time.Millisecond))
		err := tr.ReadInto(&r)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			idle++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind != KindSwitch {
			continue
		}
		w := &r.Switch
		bpfBy[int(r.CPU)] = append(bpfBy[int(r.CPU)], &switchEv{ts: r.Time, prev: int(w.PrevTID), next: int(w.NextTID),
			prevPrio: int(w.PrevPrio), nextPrio: int(w.NextPrio), state: tracefsState(w.PrevState)})
	}
	if lost, err := tr.Lost(); err == nil {
		for cpu, n := range lost {
			if n != 0 {
				t.Fatalf("cpu %d: %d BPF records lost", cpu, n)
			}
		}
	}

	text, err := os.ReadFile(filepath.Join(in.Dir, "trace"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\[(\d+)\] \S+ +(\d+)\.(\d{6}): sched_switch: prev_comm=.* prev_pid=(\d+) prev_prio=(\d+) prev_state=(\S+) ==> next_comm=.* next_pid=(\d+) next_prio=(\d+)`)
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	var total, matched int
	toIdle := map[int]int{}
	for _, l := range strings.Split(string(text), "\n") {
		m := re.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		total++
		cpu := atoi(m[1])
		ts := uint64(atoi(m[2]))*1e9 + uint64(atoi(m[3]))*1e3
		ev := switchEv{ts: ts, prev: atoi(m[4]), prevPrio: atoi(m[5]), state: m[6], next: atoi(m[7]), nextPrio: atoi(m[8])}
		if ev.next == 0 {
			toIdle[cpu]++
		}
		// The BPF record of the same switch: same CPU and tasks, within
		// the text's microsecond (the two probes run one after the other).
		var best *switchEv
		for _, b := range bpfBy[cpu] {
			if b.matched || b.prev != ev.prev || b.next != ev.next || b.ts+2e6 < ts || b.ts > ts+2e6 {
				continue
			}
			if best == nil || absDiff(b.ts, ts) < absDiff(best.ts, ts) {
				best = b
			}
		}
		if best == nil {
			t.Errorf("cpu %d: tracefs switch without its BPF record: %s", cpu, strings.TrimSpace(l))
			continue
		}
		best.matched = true
		matched++
		// An exiting task's exit state may turn from zombie (Z) to dead
		// (X) between the two probes, reaped on another CPU: each probe
		// reads it at its own time.
		exiting := (best.state == "Z" || best.state == "X") && (ev.state == "Z" || ev.state == "X")
		if (best.state != ev.state && !exiting) || best.prevPrio != ev.prevPrio || best.nextPrio != ev.nextPrio {
			t.Errorf("cpu %d: BPF switch prev_state %s prios %d/%d, tracefs: %s", cpu, best.state, best.prevPrio, best.nextPrio, strings.TrimSpace(l))
		}
	}
	if total < 50 {
		t.Fatalf("tracefs wrote %d switches; the workload makes hundreds", total)
	}
	states := map[string]int{}
	for cpu, evs := range bpfBy {
		fromIdle := 0
		for _, b := range evs {
			states[b.state]++
			if b.prev == 0 {
				fromIdle++
			}
		}
		t.Logf("cpu %d: %d BPF switches (%d away from idle), tracefs %d to idle", cpu, len(evs), fromIdle, toIdle[cpu])
		if toIdle[cpu] > 0 && fromIdle == 0 {
			t.Errorf("cpu %d: BPF saw no switch away from the idle task", cpu)
		}
	}
	t.Logf("%d tracefs switches, %d matched; BPF prev_state letters %v", total, matched, states)
	for _, s := range []string{"S", "R+"} {
		if states[s] == 0 {
			t.Errorf("no switch with prev_state %s: the workload did not check it", s)
		}
	}
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

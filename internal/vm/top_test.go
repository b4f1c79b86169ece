package vm_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/analysis"
	"github.com/tracetop/tracetop/internal/batch"
	"github.com/tracetop/tracetop/internal/record"
	"github.com/tracetop/tracetop/internal/vm"
)

// busyGuest is the guest's /bin/agent: a shell loop that keeps a vCPU
// busy part of the time (busybox sh, which build-guest.sh puts in the
// initramfs).
const busyGuest = `#!/bin/sh
echo "busy: start"
while true; do
	i=0
	while [ $i -lt 50000 ]; do i=$((i+1)); done
	sleep 1
done
`

// TestVMTopFromHost boots a TCG guest, records the host alone with our
// recorder for a few seconds, and checks the analysis' VM figures: the
// QEMU process is listed as a VM with exactly its vCPU threads (as
// /proc names them), and each vCPU thread's time on CPU equals the delta
// of /proc/PID/task/TID/schedstat's first field (ns on CPU) over the same
// time, within 5 %.
func TestVMTopFromHost(t *testing.T) {
	tools := guestTools(t)
	work := t.TempDir()
	agent := filepath.Join(work, "busy.sh")
	if err := os.WriteFile(agent, []byte(busyGuest), 0o755); err != nil {
		t.Fatal(err)
	}
	gdir := filepath.Join(work, "g")
	buildGuest(t, tools, gdir, agent)

	// Boot; readiness is the guest's /init running the loop. A guest
	// that does not get there (a lockup of the guest kernel under TCG, as
	// TestQEMUGuest sees at times) still has busy vCPU threads: the test
	// goes on; only a QEMU that exited is booted again.
	var qpid int
	var vcpus []vm.VCPU
	for attempt := 1; ; attempt++ {
		sock := filepath.Join(work, fmt.Sprintf("port%d.sock", attempt))
		console := filepath.Join(work, fmt.Sprintf("console%d.log", attempt))
		out, err := exec.Command(filepath.Join(tools, "run-guest.sh"), "-d", gdir, "-s", sock, "-l", console, "--bg", "-t", "120").Output()
		if err != nil {
			t.Fatalf("run-guest.sh: %v", err)
		}
		qpid, err = strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("run-guest.sh printed %q, want a PID", out)
		}
		pid := qpid
		t.Cleanup(func() {
			syscall.Kill(pid, syscall.SIGKILL) // ours, by PID
			if t.Failed() {
				b, _ := os.ReadFile(console)
				t.Logf("guest console:\n%s", b)
			}
		})
		began := time.Now()
		for time.Since(began) < 60*time.Second && syscall.Kill(qpid, 0) == nil {
			if c, _ := os.ReadFile(console); bytes.Contains(c, []byte("busy: start")) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("attempt %d: QEMU %d, guest loop started after %.1f s", attempt, qpid, time.Since(began).Seconds())
		vcpus, err = vm.VCPUThreads("", qpid)
		if err == nil && len(vcpus) == 2 {
			break
		}
		if attempt == 3 {
			t.Fatalf("QEMU %d: vCPU threads %+v (%v), want 2", qpid, vcpus, err)
		}
		t.Logf("QEMU %d gone or without its 2 vCPU threads (%v); booting again", qpid, err)
		syscall.Kill(qpid, syscall.SIGKILL)
	}

	out := filepath.Join(work, "trace")
	rec, err := record.New(record.Config{
		Session:   "test-vm-top",
		OutputDir: out,
		Channels: []record.Channel{{
			SubbufSize:  1 << 20,
			SubbufCount: 16,
			Events: []string{"sched_switch", "sched_process_fork", "sched_process_exec",
				"sched_process_exit", "sched_process_free", "sched_wakeup", "sched_wakeup_new",
				"sched_migrate_task"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Destroy()
	// ns on CPU of each vCPU thread, and CLOCK_MONOTONIC (the trace's
	// clock) when read.
	sample := func() (int64, []int64) {
		var ts unix.Timespec
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
		ns := make([]int64, len(vcpus))
		for i, c := range vcpus {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/schedstat", qpid, c.TID))
			if err != nil {
				t.Fatal(err)
			}
			f := strings.Fields(string(b))
			if len(f) == 0 {
				t.Fatalf("schedstat of %d: %q", c.TID, b)
			}
			ns[i], _ = strconv.ParseInt(f[0], 10, 64)
		}
		return ts.Nano(), ns
	}
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	mono1, run1 := sample()
	time.Sleep(3 * time.Second)
	mono2, run2 := sample()
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	var lost uint64
	for _, s := range rec.Stats() {
		lost += s.Lost
	}

	src, err := ctf.Open([]string{out}, ctf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := src.Traces()[0].Meta.Clocks[0]
	off := c.OffsetS*1e9 + c.Offset
	src.Close()
	figures := func(w analysis.Window) *analysis.Figures {
		src, err := ctf.Open([]string{out}, ctf.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		var f *analysis.Figures
		if err := analysis.Intervals(src, w, func(x *analysis.Figures) error { f = x; return nil }); err != nil {
			t.Fatal(err)
		}
		return f
	}
	whole := figures(analysis.Window{})
	// The schedstat samples' window, on the trace's axis.
	f := figures(analysis.Window{Begin: off + mono1, End: off + mono2})
	t.Logf("recording [%d, %d[ (%v), schedstat window [+%v, +%v[, %d events lost", whole.Begin, whole.End,
		time.Duration(whole.Duration()), time.Duration(f.Begin-whole.Begin), time.Duration(f.End-whole.Begin), lost)

	for _, fs := range []*analysis.Figures{whole, f} {
		var mine *analysis.VMFigures
		for i := range fs.VMs {
			v := &fs.VMs[i]
			if int(v.PID) == qpid {
				mine = v
				continue
			}
			// Only another test's guest may be there too.
			if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", v.PID)); !strings.HasPrefix(string(comm), "qemu") {
				t.Errorf("VM %d %q listed: not a QEMU process (%q)", v.PID, v.Comm, comm)
			} else {
				t.Logf("another QEMU, %d, runs meanwhile", v.PID)
			}
		}
		if mine == nil {
			t.Fatalf("QEMU %d not among the VMs %+v", qpid, fs.VMs)
		}
		var tids []int
		for _, c := range mine.VCPUs {
			tids = append(tids, int(c.TID))
			if c.Accel != "TCG" {
				t.Errorf("vCPU %d: accel %q, want TCG", c.Index, c.Accel)
			}
		}
		var want []int
		for _, c := range vcpus {
			want = append(want, c.TID)
		}
		if !slices.Equal(tids, want) || mine.Comm != "qemu-system-x86" {
			t.Errorf("VM %d %q: vCPU threads %v, /proc says %v", mine.PID, mine.Comm, tids, want)
		}
		t.Logf("[+%v, +%v[: VM %d %s: host %.2f%% guest %.2f%% overhead %.2f%% steal %.2f%%",
			time.Duration(fs.Begin-whole.Begin), time.Duration(fs.End-whole.Begin), mine.PID, mine.Comm,
			fs.CoreShare(mine.CPUTime), fs.CoreShare(mine.GuestTime), fs.CoreShare(mine.Overhead()), fs.Steal(mine))
	}

	v := &f.VMs[slices.IndexFunc(f.VMs, func(v analysis.VMFigures) bool { return int(v.PID) == qpid })]
	var wv *analysis.VMFigures
	for i := range whole.VMs {
		if int(whole.VMs[i].PID) == qpid {
			wv = &whole.VMs[i]
		}
	}
	for i, c := range v.VCPUs {
		want := time.Duration(run2[i] - run1[i])
		got := time.Duration(c.OnCPU)
		d := math.Abs(float64(got - want))
		t.Logf("vCPU %d (tid %d): on CPU %v, schedstat %v (%+.2f%%); preempted %v, blocked %v, last on cpu%d; whole recording: on CPU %v",
			c.Index, c.TID, got, want, 100*float64(got-want)/math.Max(float64(want), 1), time.Duration(c.Preempted),
			time.Duration(c.Blocked), c.CPU, time.Duration(wv.VCPUs[i].OnCPU))
		// 5 %, or two scheduler ticks: schedstat's time of a thread
		// running as it is read lags by up to a tick (sum_exec_runtime is
		// brought up to date at ticks and switches), at each of the two
		// reads; it matters for an idle vCPU's few ms.
		if d > 0.05*float64(want) && d > float64(2*kernelTick(t)) {
			t.Errorf("vCPU %d: on CPU %v in the trace, %v by schedstat over the same time", c.Index, got, want)
		}
		// The states do not overlap: their sum is at most the window (and
		// a few µs more when CPUs' clocks differ: a thread's run on one
		// CPU is credited until its switch-out there, though it was
		// switched in on another a moment before by that one's clock).
		if lost == 0 && c.OnCPU+c.Preempted+c.Blocked > f.Duration()+int64(time.Millisecond) {
			t.Errorf("vCPU %d: on CPU + preempted + blocked = %v, more than the window %v", c.Index,
				time.Duration(c.OnCPU+c.Preempted+c.Blocked), time.Duration(f.Duration()))
		}
	}

	// The batch output has the VM section, text and JSON.
	var text bytes.Buffer
	if err := batch.Run(&text, batch.Options{Sources: []string{out}}); err != nil {
		t.Fatal(err)
	}
	if s := text.String(); !strings.Contains(s, fmt.Sprintf("%7d qemu-system-x86\n", qpid)) || !strings.Contains(s, "vCPU 1") {
		t.Errorf("batch text without the VM:\n%s", s)
	}
	var js bytes.Buffer
	if err := batch.Run(&js, batch.Options{Sources: []string{out}, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var jf analysis.Figures
	if err := json.Unmarshal(js.Bytes(), &jf); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(jf.VMs, func(v analysis.VMFigures) bool { return int(v.PID) == qpid && len(v.VCPUs) == 2 }) {
		t.Errorf("batch JSON VMs: %+v", jf.VMs)
	}
}

// kernelTick is the scheduler tick, 1/CONFIG_HZ, from the kernel's
// configuration (/proc/config.gz or /boot/config-RELEASE); 10 ms (HZ=100,
// the longest) when neither says.
func kernelTick(t *testing.T) time.Duration {
	var uts unix.Utsname
	unix.Uname(&uts)
	var cfg []byte
	if f, err := os.Open("/proc/config.gz"); err == nil {
		if z, err := gzip.NewReader(f); err == nil {
			cfg, _ = io.ReadAll(z)
		}
		f.Close()
	}
	if cfg == nil {
		cfg, _ = os.ReadFile("/boot/config-" + unix.ByteSliceToString(uts.Release[:]))
	}
	for _, l := range strings.Split(string(cfg), "\n") {
		if v, ok := strings.CutPrefix(l, "CONFIG_HZ="); ok {
			if hz, err := strconv.Atoi(v); err == nil && hz > 0 {
				return time.Second / time.Duration(hz)
			}
		}
	}
	t.Logf("no CONFIG_HZ in the kernel's configuration: a tick of 10 ms assumed")
	return 10 * time.Millisecond
}

package analysis_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/analysis"
	"github.com/tracetop/tracetop/internal/state"
)

// vmTrace writes a 2-CPU host trace with one QEMU process (pid 100: the
// main thread, an I/O thread, vCPU threads "CPU 0/TCG" 101 and "CPU 1/TCG"
// 102) and a CPU hog (999) that preempts vCPU 0, from 999 ms to 2000 ms
// after base. Between 1000 and 2000 ms:
//
//	vCPU 0: on CPU 1000-1300, preempted 1300-1400, on 1400-1600, blocked
//	        1600-1800, woken (preempted) 1800-1850, on 1850-2000
//	vCPU 1: on CPU 1000-1500, blocked after
//	main:   on CPU 1500-1700; hog on CPU 1300-1400, runnable after (a
//	        wakeup at 1750 changes nothing)
func vmTrace(t *testing.T) (dir string, base uint64) {
	dir = filepath.Join(t.TempDir(), "kernel")
	uuid := [16]byte{7}
	md := &writer.Metadata{UUID: uuid, ClockUUID: uuid, Env: []writer.EnvValue{{Key: "domain", Str: "kernel"}}}
	md.AddStream(writer.StreamClass{ID: 0})
	sw, _ := md.Add(&writer.EventClass{Name: "sched_switch", Fields: []writer.Field{
		writer.Comm("prev_comm"), writer.I32("prev_tid"), writer.I32("prev_prio"), writer.I64("prev_state"),
		writer.Comm("next_comm"), writer.I32("next_tid"), writer.I32("next_prio")}})
	wk, _ := md.Add(&writer.EventClass{Name: "sched_wakeup", Fields: []writer.Field{writer.Comm("comm"), writer.I32("tid"), writer.I32("prio"), writer.I32("target_cpu")}})
	sd, _ := md.Add(&writer.EventClass{Name: "lttng_statedump_process_state", Fields: []writer.Field{
		writer.I32("tid"), writer.I32("pid"), writer.I32("ppid"), writer.Comm("name"), writer.I32("status"), writer.U32("cpu")}})
	sink, err := writer.NewDirSink(dir)
	if err != nil {
		t.Fatal(err)
	}
	sink.WriteMetadata(writer.AppendMetadataPackets(nil, uuid, md.Pending()))
	var st [2]*writer.Stream
	for c := range st {
		st[c], err = writer.NewStream(writer.StreamConfig{Name: fmt.Sprintf("channel0_%d", c), CPU: uint32(c), InstanceID: uint64(c), UUID: uuid}, sink)
		if err != nil {
			t.Fatal(err)
		}
	}
	base = uint64(1e18)
	at := func(ms float64) uint64 { return base + uint64(ms*1e6) }
	comm := map[int32]string{0: "swapper/0", 100: "qemu-system-x86", 101: "CPU 0/TCG", 102: "CPU 1/TCG", 103: "qemu-system-x86", 999: "hog"}
	var p writer.Payload
	swi := func(c int, ms float64, prev int32, pstate int64, next int32) {
		p.Reset()
		p.TextString(comm[prev], 16)
		p.I32(prev)
		p.I32(20)
		p.I64(pstate)
		p.TextString(comm[next], 16)
		p.I32(next)
		p.I32(20)
		st[c].Append(at(ms), sw.ID, nil, p.B)
	}
	for _, th := range []struct{ tid, pid, status int32 }{{100, 100, 5}, {101, 100, 5}, {102, 100, 5}, {103, 100, 5}, {999, 999, 5}} {
		p.Reset()
		p.I32(th.tid)
		p.I32(th.pid)
		p.I32(1)
		p.TextString(comm[th.tid], 16)
		p.I32(th.status)
		p.U32(0)
		st[1].Append(at(999), sd.ID, nil, p.B)
	}
	swi(0, 1000, 0, 0, 101)
	swi(1, 1000, 0, 0, 102)
	swi(0, 1300, 101, 0, 999) // vCPU 0 preempted by the hog
	swi(0, 1400, 999, 0, 101) // the hog waits from now on
	swi(1, 1500, 102, 1, 100) // vCPU 1 blocks for good; the main thread runs
	swi(0, 1600, 101, 1, 0)   // vCPU 0 blocks
	swi(1, 1700, 100, 1, 0)
	p.Reset()
	p.TextString(comm[999], 16)
	p.I32(999)
	p.I32(20)
	p.I32(0)
	st[1].Append(at(1750), wk.ID, nil, p.B) // the hog, runnable, woken again: still waiting since 1400
	p.Reset()
	p.TextString(comm[101], 16)
	p.I32(101)
	p.I32(20)
	p.I32(0)
	st[0].Append(at(1800), wk.ID, nil, p.B) // woken: preempted until switched in
	swi(0, 1850, 0, 0, 101)
	swi(0, 2000, 101, 0, 0)
	swi(1, 2000, 0, 0, 0)
	st[0].Close(at(2000))
	st[1].Close(at(2000))
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, base
}

// TestVMFigures checks the VM figures of a synthetic trace whose thread
// states are known, in one window and merged from 100 ms slots.
func TestVMFigures(t *testing.T) {
	dir, base := vmTrace(t)
	ms := func(v float64) int64 { return int64(v * 1e6) }
	w := analysis.Window{Begin: int64(base) + ms(1000), End: int64(base) + ms(2000)}
	run := func(w analysis.Window) []*analysis.Figures {
		src, err := ctf.Open([]string{dir}, ctf.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		var fs []*analysis.Figures
		if err := analysis.Intervals(src, w, func(f *analysis.Figures) error { fs = append(fs, f); return nil }); err != nil {
			t.Fatal(err)
		}
		return fs
	}
	whole := run(w)
	if len(whole) != 1 {
		t.Fatalf("%d windows, want 1", len(whole))
	}
	f := whole[0]
	want := []analysis.VMFigures{{PID: 100, Comm: "qemu-system-x86", CPUTime: ms(1350), GuestTime: ms(1150),
		VCPUs: []analysis.VCPUFigures{
			{Index: 0, TID: 101, Accel: "TCG", OnCPU: ms(650), Preempted: ms(150), Blocked: ms(200), CPU: 0, Status: state.StatusRunning},
			{Index: 1, TID: 102, Accel: "TCG", OnCPU: ms(500), Blocked: ms(500), CPU: 1, Status: state.StatusBlocked},
		}}}
	if d := cmp.Diff(want, f.VMs); d != "" {
		t.Fatalf("VMs (-want +got):\n%s", d)
	}
	sameJSON(t, f) // the VMs member too
	v := &f.VMs[0]
	if got := f.Steal(v); got != 7.5 {
		t.Errorf("steal %v%%, want 7.5%% (150 ms preempted / (1 s · 2 vCPUs))", got)
	}
	if v.Overhead() != ms(200) || f.CoreShare(v.CPUTime) != 135 {
		t.Errorf("overhead %d ns, host %v%%: want 200 ms, 135%%", v.Overhead(), f.CoreShare(v.CPUTime))
	}
	// The same window merged from slots (the live top's way) is the same.
	w.Step = ms(100)
	parts := run(w)
	if len(parts) != 10 {
		t.Fatalf("%d slots, want 10", len(parts))
	}
	if d := cmp.Diff(f.VMs, analysis.Merge(parts).VMs); d != "" {
		t.Errorf("VMs merged from slots (-one pass +merged):\n%s", d)
	}
	// The hog is no VM, but its wait counts as Runnable.
	for _, th := range f.Threads {
		if th.TID == 999 && (th.Runnable != ms(600) || th.CPUTime != ms(100)) {
			t.Errorf("hog: runnable %d, on CPU %d; want 600 ms, 100 ms", th.Runnable, th.CPUTime)
		}
	}
}

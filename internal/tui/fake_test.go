package tui

import (
	"fmt"
	"time"
)

// fakeSource computes figures from a small scripted machine: each task
// runs a fixed share of a CPU between its birth and its death. It serves
// the rendering and key tests only; the figures of real traces come from
// the analysis (see trace_test.go).
type fakeSource struct {
	first, last int64
	live        bool
	done        bool
	lost        uint64
	tasks       []fakeTask
	perf        []string
	vms         bool // two VMs (QEMU processes with vCPU threads)
	frames      int  // Frame calls, to check caching and recomputation
}

type fakeTask struct {
	Task
	share       float64 // of one CPU while alive
	born, death int64   // 0: before the trace / after it
	ioRate      uint64  // bytes read per second
}

const base = int64(1_700_000_000_000_000_000) // 2023-11-14 22:13:20 UTC

func newFake(n int) *fakeSource {
	s := &fakeSource{first: base, last: base + int64(20*time.Second), done: true,
		perf: []string{"perf_thread_page_fault", "perf_thread_context_switches"}}
	names := []string{"systemd", "kworker/0:1", "sshd", "bash", "make", "cc1", "ld", "firefox", "Xorg", "pulseaudio"}
	for i := range n {
		pid := PID(100 + i*10)
		t := fakeTask{Task: Task{TID: TID(pid), PID: pid, PPID: 1, VTID: TID2V(i + 1), VPID: VPID(i + 1),
			Name: names[i%len(names)], State: "RSSD"[i%4]}, share: 1 / float64(i+2), ioRate: uint64(1000 * (n - i))}
		if i >= 3 {
			t.PPID = 100 + 30 // bash's children
		}
		if i%5 == 4 {
			t.Container = "c1"
		}
		s.tasks = append(s.tasks, t)
	}
	if n > 4 {
		// a thread of make, and a short-lived cc1 born at 5.5 s, dead at 7.2 s
		mk := s.tasks[4]
		th := mk
		th.TID = mk.TID + 1
		th.VTID = mk.VTID + 1
		th.share = 0.05
		s.tasks = append(s.tasks, th)
		cc := fakeTask{Task: Task{TID: 999, PID: 999, PPID: mk.PID, Name: "cc1plus", State: 'R'}, share: 0.9,
			born: base + int64(5500*time.Millisecond), death: base + int64(7200*time.Millisecond), ioRate: 50000}
		s.tasks = append(s.tasks, cc)
	}
	return s
}

func TID2V(i int) VTID { return VTID(i) }

func (s *fakeSource) Span() (int64, int64, bool) { return s.first, s.last, true }

func (s *fakeSource) Status() Status { return Status{Live: s.live, Done: s.done, Lost: s.lost} }

func (s *fakeSource) Close() error { return nil }

func overlap(a1, a2, b1, b2 int64) int64 {
	lo, hi := max(a1, b1), min(a2, b2)
	return max(hi-lo, 0)
}

func (s *fakeSource) alive(t *fakeTask) (int64, int64) {
	b, d := t.born, t.death
	if b == 0 {
		b = s.first
	}
	if d == 0 {
		d = s.last + 1
	}
	return b, d
}

func (s *fakeSource) Frame(t1, t2 int64) (*Frame, error) {
	if t2 <= t1 {
		return nil, fmt.Errorf("empty interval [%d, %d[", t1, t2)
	}
	s.frames++
	f := &Frame{Start: t1, End: t2, CPUs: 4, PerfNames: s.perf}
	secs := float64(t2-t1) / 1e9
	for i := range s.tasks {
		ft := &s.tasks[i]
		b, d := s.alive(ft)
		ov := overlap(t1, t2, b, d)
		if ov == 0 {
			continue
		}
		t := ft.Task
		t.CPU = int64(float64(ov) * ft.share)
		t.Switches = uint64(ov/int64(time.Millisecond)) / uint64(i+1)
		t.Born = b >= t1 && b < t2
		t.Dead = d >= t1 && d < t2
		t.Read = uint64(float64(ft.ioRate) * float64(ov) / 1e9)
		t.Write = t.Read / 3
		t.Perf = []int64{int64(t.Switches) * 3, int64(t.Switches)}
		f.Tasks = append(f.Tasks, t)
		f.ReadBytes += t.Read
		f.WriteBytes += t.Write
		if t.Born {
			f.NewThreads++
		}
		if t.Dead {
			f.DeadThreads++
		}
		if t.TID == TID(t.PID) && t.Read > 0 {
			f.Files = append(f.Files, FileIO{PID: t.PID, FD: 3, Name: "/var/log/" + t.Name + ".log", Read: t.Read},
				FileIO{PID: t.PID, FD: 4, Name: "socket:[" + fmt.Sprint(1000+i) + "]", Socket: true, Write: t.Write})
		}
	}
	f.Threads = len(f.Tasks)
	f.FDs = 3 * len(f.Tasks)
	f.OpenedFDs, f.ClosedFDs = int(secs*2), int(secs)
	f.ContainerParent = map[string]string{"c1": ""}
	if s.vms {
		// Shares of the interval: vCPU 0 of the first VM on CPU 60 %,
		// preempted 10 %, blocked 30 %; its VMM threads 15 %.
		d := t2 - t1
		part := func(pc int64) int64 { return d * pc / 100 }
		f.VMs = []VM{
			{PID: 4000, Name: "qemu-system-x86", CPU: part(95), Guest: part(80), VCPUs: []VCPU{
				{Index: 0, TID: 4003, OnCPU: part(60), Preempted: part(10), Blocked: part(30), HostCPU: 1},
				{Index: 1, TID: 4004, OnCPU: part(20), Blocked: part(80), HostCPU: 0}}},
			{PID: 5000, Name: "qemu-kvm", CPU: part(7), Guest: part(5), VCPUs: []VCPU{
				{Index: 0, TID: 5002, OnCPU: part(5), Preempted: part(1), Blocked: part(94), HostCPU: 3}}},
			{PID: 6000, Name: "qemu-big", CPU: part(1)},
		}
		big := &f.VMs[2]
		for i := range 16 {
			big.VCPUs = append(big.VCPUs, VCPU{Index: i, TID: TID(6010 + i), Blocked: d, HostCPU: i % 4})
		}
	}
	_ = secs
	return f, nil
}

func (s *fakeSource) Details(tid TID, t1, t2 int64) (*Details, error) {
	f, err := s.Frame(t1, t2)
	if err != nil {
		return nil, err
	}
	var d *Details
	for _, t := range f.Tasks {
		if t.TID == tid {
			d = &Details{At: t2, Task: t}
		}
	}
	if d == nil {
		return nil, nil
	}
	for _, t := range f.Tasks {
		if TID(t.PID) == TID(d.Task.PPID) {
			d.ParentName = t.Name
		}
		if t.PPID == d.Task.PID && t.TID == TID(t.PID) {
			d.Children = append(d.Children, t)
		}
		if t.PID == d.Task.PID {
			d.Threads = append(d.Threads, t)
		}
	}
	d.Files = []OpenFile{{FD: 0, Name: "/dev/null"}, {FD: 1, Name: "/dev/pts/0", Write: d.Task.Write},
		{FD: 3, Name: "/var/log/" + d.Task.Name + ".log", Read: d.Task.Read}}
	return d, nil
}

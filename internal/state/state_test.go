package state_test

import (
	"fmt"
	"testing"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/meta"
	"github.com/tracetop/tracetop/internal/state"
)

// gen builds events of LTTng kernel classes in Go code: each class is made
// once from its field list, in CTF 1.8 naming (leading underscore) unless
// bare is set (CTF 2 / babeltrace 2 naming).
type gen struct {
	t       *testing.T
	bare    bool
	classes map[string]*meta.Event
	streams map[int]*ctf.Stream
	ns      int64
}

func newGen(t *testing.T) *gen {
	return &gen{t: t, classes: map[string]*meta.Event{}, streams: map[int]*ctf.Stream{}, ns: 1000}
}

var (
	i32  = &meta.Class{Kind: meta.KindInt, Size: 32, Signed: true, Align: 8}
	i64  = &meta.Class{Kind: meta.KindInt, Size: 64, Signed: true, Align: 8}
	u64  = &meta.Class{Kind: meta.KindInt, Size: 64, Align: 8}
	str  = &meta.Class{Kind: meta.KindString, Encoding: meta.EncodingUTF8}
	comm = &meta.Class{Kind: meta.KindArray, Length: 16, Elem: &meta.Class{Kind: meta.KindInt, Size: 8, Encoding: meta.EncodingUTF8}}
	seqi = &meta.Class{Kind: meta.KindSequence, Elem: i32}
	arr2 = &meta.Class{Kind: meta.KindArray, Length: 2, Elem: i32}
)

// f is one field value: an int, a string, or a slice of ints.
type f struct {
	name string
	v    any
}

// ev returns the event name with fields at the next time on cpu.
func (g *gen) ev(cpu int, name string, fields ...f) *ctf.Event {
	g.ns += 10
	cl := g.classes[name]
	if cl == nil {
		p := &meta.Class{Kind: meta.KindStruct}
		for _, x := range fields {
			n := x.name
			if !g.bare {
				n = "_" + n
			}
			var c *meta.Class
			switch v := x.v.(type) {
			case int:
				c = i64
				if len(x.name) > 3 && x.name[len(x.name)-3:] == "tid" || x.name == "fd" {
					c = i32
				}
			case uint64:
				c = u64
			case string:
				c = str
				if x.name == "comm" || x.name == "prev_comm" || x.name == "next_comm" || x.name == "child_comm" || x.name == "name" {
					c = comm
				}
			case []int:
				c = seqi
				if x.name == "fildes" {
					c = arr2
				}
			default:
				g.t.Fatalf("field %s: %T", x.name, v)
			}
			p.Fields = append(p.Fields, meta.Field{Name: n, Class: c})
		}
		cl = &meta.Event{Name: name, Payload: p}
		g.classes[name] = cl
	}
	st := g.streams[cpu]
	if st == nil {
		st = &ctf.Stream{CPU: cpu, Class: &meta.Stream{}}
		g.streams[cpu] = st
	}
	e := &ctf.Event{Kind: ctf.KindEvent, Class: cl, Stream: st, NS: g.ns, HasTime: true}
	for i := range e.Root {
		e.Root[i] = -1
	}
	e.Root[meta.ScopeEventPayload] = 0
	e.Values = append(e.Values, ctf.Value{Class: cl.Payload, Start: 1, N: int32(len(fields))})
	e.Values = append(e.Values, make([]ctf.Value, len(fields))...)
	for i, x := range fields {
		v := &e.Values[1+i]
		v.Class = cl.Payload.Fields[i].Class
		switch x := x.v.(type) {
		case int:
			v.Bits = uint64(int64(x))
		case uint64:
			v.Bits = x
		case string:
			v.Start, v.N = int32(len(e.Text)), int32(len(x))
			e.Text = append(e.Text, x...)
		case []int:
			start := len(e.Values)
			for _, n := range x {
				e.Values = append(e.Values, ctf.Value{Class: i32, Bits: uint64(int64(n))})
			}
			v = &e.Values[1+i] // Values may have moved
			v.Start, v.N = int32(start), int32(len(x))
		}
	}
	return e
}

func (g *gen) apply(m *state.Machine, cpu int, name string, fields ...f) {
	m.Apply(g.ev(cpu, name, fields...))
}

func sw(prev, next int, prevState int) []f {
	return []f{{"prev_comm", "p"}, {"prev_tid", prev}, {"prev_prio", 20}, {"prev_state", prevState},
		{"next_comm", "n"}, {"next_tid", next}, {"next_prio", 20}}
}

type ranObs struct {
	state.NopObserver
	cpu   map[state.TID]int64
	io    map[state.TID][2]uint64
	born  int
	died  int
	open  int
	close int
}

func (o *ranObs) Ran(t *state.Thread, c state.CPU, from, to int64) { o.cpu[t.TID] += to - from }
func (o *ranObs) IO(t *state.Thread, fd int32, fl *state.File, d state.IODir, n uint64, at int64) {
	x := o.io[t.TID]
	x[d] += n
	o.io[t.TID] = x
}
func (o *ranObs) Born(*state.Thread, *state.Thread, int64)                 { o.born++ }
func (o *ranObs) Exited(*state.Thread, int64)                              { o.died++ }
func (o *ranObs) Opened(*state.Thread, *state.Process, *state.File, int64) { o.open++ }
func (o *ranObs) Closed(*state.Thread, *state.Process, *state.File, int64) { o.close++ }

func TestModel(t *testing.T) {
	for _, bare := range []bool{false, true} {
		name := "CTF 1.8 names (_field)"
		if bare {
			name = "bare names"
		}
		t.Run(name, func(t *testing.T) { testModel(t, bare) })
	}
}

func testModel(t *testing.T, bare bool) {
	g := newGen(t)
	g.bare = bare
	m := state.New()
	o := &ranObs{cpu: map[state.TID]int64{}, io: map[state.TID][2]uint64{}}
	m.SetObserver(o)

	// Statedump: process 100 (shell) in the host namespace with fd 0..2.
	g.apply(m, 0, "lttng_statedump_process_state", f{"tid", 100}, f{"vtid", 100}, f{"pid", 100}, f{"vpid", 100},
		f{"ppid", 1}, f{"vppid", 1}, f{"name", "sh"}, f{"type", 0}, f{"mode", 0}, f{"submode", 0}, f{"status", 5},
		f{"ns_level", 0}, f{"ns_inum", uint64(4026531836)}, f{"cpu", 0})
	g.apply(m, 0, "lttng_statedump_file_descriptor", f{"pid", 100}, f{"fd", 0}, f{"flags", 0}, f{"fmode", 0}, f{"filename", "/dev/pts/0"})
	g.apply(m, 0, "lttng_statedump_file_descriptor", f{"pid", 100}, f{"fd", 1}, f{"flags", 0}, f{"fmode", 0}, f{"filename", "/dev/pts/0"})
	g.apply(m, 0, "lttng_statedump_file_descriptor", f{"pid", 100}, f{"fd", 5}, f{"flags", 0x80000}, f{"fmode", 0}, f{"filename", "/etc/passwd"})

	// CPU 0 runs 100 from the first switch on.
	g.apply(m, 0, "sched_switch", sw(0, 100, 0)...)
	t0 := g.ns
	// 100 forks process 200 inside a new pid namespace (vtid 1).
	g.apply(m, 0, "syscall_entry_clone", f{"clone_flags", uint64(0x20000000)}, f{"newsp", uint64(0)}, f{"parent_tid", uint64(0)}, f{"child_tid", uint64(0)})
	g.apply(m, 0, "sched_process_fork", f{"parent_comm", "sh"}, f{"parent_tid", 100}, f{"parent_pid", 100},
		f{"parent_ns_inum", uint64(4026531836)}, f{"child_comm", "sh"}, f{"child_tid", 200}, f{"vtids", []int{200, 1}},
		f{"child_pid", 200}, f{"child_ns_inum", uint64(4026532000)})
	g.apply(m, 0, "syscall_exit_clone", f{"ret", 200})
	// 200 runs on CPU 1, opens, reads, dups, pipes, execs.
	g.apply(m, 1, "sched_switch", sw(0, 200, 0)...)
	g.apply(m, 1, "syscall_entry_openat", f{"dfd", -100}, f{"filename", "/data"}, f{"flags", 0}, f{"mode", 0})
	g.apply(m, 1, "syscall_exit_openat", f{"ret", 3})
	g.apply(m, 1, "syscall_entry_read", f{"fd", 3}, f{"count", uint64(4096)})
	g.apply(m, 1, "syscall_exit_read", f{"ret", 1000}, f{"buf", uint64(0)})
	g.apply(m, 1, "syscall_entry_dup2", f{"oldfd", 3}, f{"newfd", 7})
	g.apply(m, 1, "syscall_exit_dup2", f{"ret", 7})
	g.apply(m, 1, "syscall_entry_write", f{"fd", 7}, f{"buf", uint64(0)}, f{"count", uint64(10)})
	g.apply(m, 1, "syscall_exit_write", f{"ret", 10})
	g.apply(m, 1, "syscall_entry_pipe2", f{"flags", 0x80000})
	g.apply(m, 1, "syscall_exit_pipe2", f{"ret", 0}, f{"fildes", []int{8, 9}})
	g.apply(m, 1, "syscall_entry_fcntl", f{"fd", 8}, f{"cmd", 0}, f{"arg", uint64(20)})
	g.apply(m, 1, "syscall_exit_fcntl", f{"ret", 20})
	g.apply(m, 1, "syscall_entry_close", f{"fd", 3})
	g.apply(m, 1, "syscall_exit_close", f{"ret", 0})
	// A failed read counts a syscall error, no byte.
	g.apply(m, 1, "syscall_entry_read", f{"fd", 99}, f{"count", uint64(1)})
	g.apply(m, 1, "syscall_exit_read", f{"ret", -9}, f{"buf", uint64(0)})

	p := m.Process(200)
	if p == nil || p.PPID != 100 || p.VPID != 1 || p.NS != 4026532000 {
		t.Fatalf("process 200: %+v", p)
	}
	want := map[int32]string{0: "/dev/pts/0", 1: "/dev/pts/0", 5: "/etc/passwd", 7: "/data", 8: "pipe", 9: "pipe", 20: "pipe"}
	if len(p.Files) != len(want) {
		t.Errorf("fds of 200: %d, want %d", len(p.Files), len(want))
	}
	for fd, name := range want {
		if p.Files[fd] == nil || p.Files[fd].Name != name {
			t.Errorf("fd %d: %+v, want %q", fd, p.Files[fd], name)
		}
	}
	if p.Files[7].Written != 10 {
		t.Errorf("fd 7 written %d", p.Files[7].Written)
	}
	if m.Container(200) != 4026532000 || m.Container(100) != 0 {
		t.Errorf("containers: 200 in %d, 100 in %d", m.Container(200), m.Container(100))
	}
	if ns := m.Namespace(4026532000); ns == nil || ns.Parent != 4026531836 || ns.Level != 1 || ns.Init != 200 {
		t.Errorf("namespace: %+v", ns)
	}

	// A thread of 200 (CLONE_THREAD), then exec closes cloexec fds
	// (5, 8, 9; 20 from F_DUPFD has no cloexec).
	g.apply(m, 1, "sched_process_fork", f{"parent_comm", "sh"}, f{"parent_tid", 200}, f{"parent_pid", 200},
		f{"parent_ns_inum", uint64(4026532000)}, f{"child_comm", "sh"}, f{"child_tid", 201}, f{"vtids", []int{201, 2}},
		f{"child_pid", 200}, f{"child_ns_inum", uint64(4026532000)})
	g.apply(m, 1, "syscall_entry_execve", f{"filename", "/bin/work"}, f{"argv", uint64(0)}, f{"envp", uint64(0)})
	g.apply(m, 1, "sched_process_exec", f{"filename", "/bin/work"}, f{"tid", 200}, f{"old_tid", 200})
	g.apply(m, 1, "syscall_exit_execve", f{"ret", 0})
	if p.Path != "/bin/work" || m.Thread(200).Comm != "work" {
		t.Errorf("exec: path %q comm %q", p.Path, m.Thread(200).Comm)
	}
	for _, fd := range []int32{5, 8, 9} {
		if p.Files[fd] != nil {
			t.Errorf("fd %d survived exec with O_CLOEXEC", fd)
		}
	}
	if p.Files[20] == nil {
		t.Error("fd 20 closed by exec without O_CLOEXEC")
	}
	th := m.Thread(201)
	if th.PID != 200 || th.VTID != 2 || th.VPID != 1 {
		t.Errorf("thread 201: %+v", th)
	}
	if got := len(m.ThreadsOf(200)); got != 2 {
		t.Errorf("200 has %d threads", got)
	}
	// The thread reads through the shared table.
	g.apply(m, 1, "sched_switch", sw(200, 201, 1)...)
	if s := m.Thread(200); s.Status != state.StatusBlocked {
		t.Errorf("200 after switch-out in state 1: %v", s.Status)
	}
	g.apply(m, 1, "syscall_entry_read", f{"fd", 20}, f{"count", uint64(4096)})
	g.apply(m, 1, "syscall_exit_read", f{"ret", 5}, f{"buf", uint64(0)})
	if p.Files[20].Read != 5 {
		t.Errorf("shared fd table: fd 20 read %d", p.Files[20].Read)
	}
	// The blocked reason is the syscall.
	g.apply(m, 1, "syscall_entry_futex", f{"uaddr", uint64(0)}, f{"op", 0})
	g.apply(m, 1, "sched_switch", sw(201, 0, 1)...)
	if s := m.Thread(201); s.Status != state.StatusBlocked || s.Reason != "futex" {
		t.Errorf("201: %v %q", s.Status, s.Reason)
	}
	// close_range closes 0..1 but not 7, 20.
	g.apply(m, 0, "syscall_entry_close_range", f{"fd", 0}, f{"max_fd", 1}, f{"flags", 0})
	g.apply(m, 0, "syscall_exit_close_range", f{"ret", 0})
	if len(m.Process(100).Files) != 1 {
		t.Errorf("100 fds after close_range: %d", len(m.Process(100).Files))
	}
	// Exit and free.
	g.apply(m, 1, "sched_process_exit", f{"comm", "work"}, f{"tid", 201}, f{"prio", 20})
	g.apply(m, 1, "sched_process_free", f{"comm", "work"}, f{"tid", 201}, f{"prio", 20})
	if s := m.Thread(201); s.Status != state.StatusDead || s.Died == 0 {
		t.Errorf("201 after free: %+v", s)
	}

	// Old names: sys_open / exit_syscall (lttng-modules 2.0 to 2.5).
	g.apply(m, 0, "sys_open", f{"filename", "/old"}, f{"flags", 0}, f{"mode", 0})
	g.apply(m, 0, "exit_syscall", f{"ret", 4})
	if fl := m.Process(100).Files[4]; fl == nil || fl.Name != "/old" {
		t.Errorf("sys_open: %+v", fl)
	}

	// CPU time: 100 ran on CPU 0 from t0 up to now once flushed.
	now := g.ns
	m.Flush(now)
	if o.cpu[100] != now-t0 {
		t.Errorf("cpu of 100: %d, want %d", o.cpu[100], now-t0)
	}
	if o.io[200] != [2]uint64{1000, 10} || o.io[201] != [2]uint64{5, 0} {
		t.Errorf("io: %v", o.io)
	}
	if o.born != 2 || o.died != 1 {
		t.Errorf("born %d died %d", o.born, o.died)
	}

	// A clone is independent.
	c := m.Clone()
	c.Process(200).Files[20].Read = 99
	if p.Files[20].Read == 99 {
		t.Error("Clone shares files")
	}
}

// TestStatedump213: 2.13 lists pid namespaces in their own events and
// links fds to processes through the fd table address.
func TestStatedump213(t *testing.T) {
	g := newGen(t)
	m := state.New()
	g.apply(m, 0, "lttng_statedump_process_state", f{"tid", 300}, f{"pid", 300}, f{"ppid", 1}, f{"name", "nginx"},
		f{"type", 0}, f{"mode", 0}, f{"submode", 0}, f{"status", 5}, f{"cpu", 0}, f{"file_table_address", uint64(0xabc)})
	g.apply(m, 0, "lttng_statedump_process_state", f{"tid", 301}, f{"pid", 300}, f{"ppid", 1}, f{"name", "nginx"},
		f{"type", 0}, f{"mode", 0}, f{"submode", 0}, f{"status", 5}, f{"cpu", 0}, f{"file_table_address", uint64(0xabc)})
	g.apply(m, 0, "lttng_statedump_process_pid_ns", f{"tid", 300}, f{"vtid", 300}, f{"vpid", 300}, f{"vppid", 1},
		f{"ns_level", 0}, f{"ns_inum", uint64(10)})
	g.apply(m, 0, "lttng_statedump_process_pid_ns", f{"tid", 300}, f{"vtid", 1}, f{"vpid", 1}, f{"vppid", 0},
		f{"ns_level", 1}, f{"ns_inum", uint64(20)})
	g.apply(m, 0, "lttng_statedump_process_pid_ns", f{"tid", 301}, f{"vtid", 301}, f{"vpid", 300}, f{"vppid", 1},
		f{"ns_level", 0}, f{"ns_inum", uint64(10)})
	g.apply(m, 0, "lttng_statedump_process_pid_ns", f{"tid", 301}, f{"vtid", 2}, f{"vpid", 1}, f{"vppid", 0},
		f{"ns_level", 1}, f{"ns_inum", uint64(20)})
	g.apply(m, 0, "lttng_statedump_file_descriptor", f{"file_table_address", uint64(0xabc)}, f{"fd", 6},
		f{"flags", 0}, f{"fmode", 0}, f{"filename", "socket:[123]"})
	p := m.Process(300)
	if p.Files[6] == nil || p.Files[6].Kind != state.FileSocket {
		t.Errorf("fd by table address: %+v", p.Files)
	}
	if p.VPID != 1 || p.NS != 20 || m.Container(300) != 20 {
		t.Errorf("process 300: vpid %d ns %d container %d", p.VPID, p.NS, m.Container(300))
	}
	if ns := m.Namespace(20); ns.Parent != 10 || ns.Level != 1 || ns.Init != 300 {
		t.Errorf("namespace 20: %+v", ns)
	}
	if th := m.Thread(301); th.VTID != 2 || th.VPID != 1 {
		t.Errorf("thread 301: %+v", th)
	}
}

// TestApplyAllocs: applying known events to a known thread does not
// allocate.
func TestApplyAllocs(t *testing.T) {
	g := newGen(t)
	m := state.New()
	evs := []*ctf.Event{
		g.ev(0, "sched_switch", sw(0, 100, 0)...),
		g.ev(0, "syscall_entry_read", f{"fd", 3}, f{"count", uint64(4096)}),
		g.ev(0, "syscall_exit_read", f{"ret", 100}, f{"buf", uint64(0)}),
		g.ev(0, "sched_switch", sw(100, 0, 1)...),
	}
	for _, e := range evs {
		m.Apply(e)
	}
	n := testing.AllocsPerRun(100, func() {
		for _, e := range evs {
			m.Apply(e)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}

// TestUnshareNamespace is the shape `unshare -fp sh -c 'true; true'`
// leaves in a kernel trace once the fork of the namespace's first process
// is written as the kernel sees it (child_ns_inum the new namespace, vtids
// [tid, 1]; the unshare process itself stays in the host's): sh is vpid 1
// of a container whose parent is the host's namespace, its children vpid
// 2 and 3 with vppid 1, and the unshare process keeps its host ids.
func TestUnshareNamespace(t *testing.T) {
	g := newGen(t)
	g.bare = true
	m := state.New()
	const host, ns = uint64(4026531836), uint64(4026532500)
	g.apply(m, 0, "lttng_statedump_process_state", f{"tid", 300}, f{"vtid", 300}, f{"pid", 300}, f{"vpid", 300},
		f{"ppid", 1}, f{"vppid", 1}, f{"name", "unshare"}, f{"type", 0}, f{"mode", 0}, f{"submode", 0}, f{"status", 2},
		f{"ns_level", 0}, f{"ns_inum", host}, f{"cpu", 0})
	g.apply(m, 0, "sched_switch", sw(0, 300, 0)...)
	fork := func(parent, child int, pns, cns uint64, vtids []int) {
		g.apply(m, 0, "sched_process_fork", f{"parent_comm", "x"}, f{"parent_tid", parent}, f{"parent_pid", parent},
			f{"parent_ns_inum", pns}, f{"child_comm", "sh"}, f{"child_tid", child}, f{"vtids", vtids},
			f{"child_pid", child}, f{"child_ns_inum", cns})
	}
	fork(300, 301, host, ns, []int{301, 1})
	fork(301, 302, ns, ns, []int{302, 2})
	fork(301, 303, ns, ns, []int{303, 3})
	for _, c := range []struct {
		pid         state.PID
		vpid, vppid state.PID
		cont        uint64
	}{{300, 300, 1, 0}, {301, 1, 0, ns}, {302, 2, 1, ns}, {303, 3, 1, ns}} {
		p := m.Process(c.pid)
		if p == nil || p.VPID != c.vpid || p.VPPID != c.vppid || m.Container(c.pid) != c.cont {
			t.Errorf("process %d: %+v container %d, want vpid %d vppid %d container %d", c.pid, p, m.Container(c.pid), c.vpid, c.vppid, c.cont)
		}
	}
	if n := m.Namespace(ns); n == nil || n.Parent != host || n.Level != 1 || n.Init != 301 {
		t.Errorf("namespace %+v", n)
	}
}

type waitObs struct {
	state.NopObserver
	waits []string
}

func (o *waitObs) Waited(t *state.Thread, s state.Status, from, to int64) {
	o.waits = append(o.waits, fmt.Sprintf("%d %v [%d, %d[", t.TID, s, from, to))
}

// TestWaited: a thread's spans runnable (preempted, or woken and waiting)
// and blocked are reported as it leaves them; a wakeup of a runnable
// thread changes nothing. Events are 10 ns apart from 1010.
func TestWaited(t *testing.T) {
	g := newGen(t)
	m := state.New()
	o := &waitObs{}
	m.SetObserver(o)
	g.apply(m, 0, "sched_switch", sw(0, 100, 0)...)                             // 1010: 100 runs
	g.apply(m, 0, "sched_switch", sw(100, 200, 0)...)                           // 1020: 100 preempted
	g.apply(m, 0, "sched_wakeup", f{"comm", "x"}, f{"tid", 100}, f{"prio", 20}) // 1030: no change
	g.apply(m, 0, "sched_switch", sw(200, 100, 1)...)                           // 1040: 200 blocks, 100 runs
	g.apply(m, 0, "sched_switch", sw(100, 0, 2)...)                             // 1050: 100 blocks (D)
	g.apply(m, 0, "sched_wakeup", f{"comm", "x"}, f{"tid", 100}, f{"prio", 20}) // 1060: 100 woken
	g.apply(m, 0, "sched_switch", sw(0, 100, 0)...)                             // 1070: 100 runs
	want := []string{"100 runnable [1020, 1040[", "100 blocked [1050, 1060[", "100 runnable [1060, 1070["}
	if fmt.Sprint(o.waits) != fmt.Sprint(want) {
		t.Errorf("waits %q, want %q", o.waits, want)
	}
	if th := m.Thread(200); th.Status != state.StatusBlocked || th.Since != 1040 {
		t.Errorf("thread 200: %v since %d, want blocked since 1040", th.Status, th.Since)
	}
}

// TestWaitedAfterStatedump: a thread the statedump says runnable but that
// was running on a CPU is switched out: it waits from then on, not since
// the statedump (its run is already credited by Ran).
func TestWaitedAfterStatedump(t *testing.T) {
	g := newGen(t)
	m := state.New()
	o := &waitObs{}
	m.SetObserver(o)
	g.apply(m, 1, "lttng_statedump_process_state", f{"tid", 100}, f{"pid", 100}, f{"name", "CPU 0/TCG"}, f{"status", 2}) // 1010
	g.apply(m, 0, "sched_switch", sw(100, 0, 1)...)                                                                      // 1020: it was running
	g.apply(m, 0, "sched_wakeup", f{"comm", "x"}, f{"tid", 100}, f{"prio", 20})                                          // 1030
	g.apply(m, 0, "sched_switch", sw(0, 100, 0)...)                                                                      // 1040
	want := []string{"100 blocked [1020, 1030[", "100 runnable [1030, 1040["}
	if fmt.Sprint(o.waits) != fmt.Sprint(want) {
		t.Errorf("waits %q, want %q", o.waits, want)
	}
}

// TestSwitchOutElsewhere: a thread switched in on CPU 1, then switched
// out on CPU 0 (CPU 0's clock ahead: its earlier switch-out sorts after
// the switch-in) runs on CPU 1 still; its waits start at its switch-out
// there.
func TestSwitchOutElsewhere(t *testing.T) {
	g := newGen(t)
	m := state.New()
	o := &waitObs{}
	m.SetObserver(o)
	g.apply(m, 1, "sched_switch", sw(0, 100, 0)...) // 1010
	g.apply(m, 0, "sched_switch", sw(100, 0, 0)...) // 1020: late news from CPU 0
	if th := m.Thread(100); th.Status != state.StatusRunning || th.CPU != 1 {
		t.Errorf("after the switch-out on CPU 0: %v on cpu %d, want running on cpu 1", th.Status, th.CPU)
	}
	g.apply(m, 1, "sched_switch", sw(100, 0, 1)...)                             // 1030
	g.apply(m, 0, "sched_wakeup", f{"comm", "x"}, f{"tid", 100}, f{"prio", 20}) // 1040
	g.apply(m, 0, "sched_switch", sw(0, 100, 0)...)                             // 1050
	want := []string{"100 blocked [1030, 1040[", "100 runnable [1040, 1050["}
	if fmt.Sprint(o.waits) != fmt.Sprint(want) {
		t.Errorf("waits %q, want %q", o.waits, want)
	}
}

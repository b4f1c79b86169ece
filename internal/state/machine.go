package state

import (
	"cmp"
	"slices"
	"sort"

	"github.com/tracetop/tracetop/ctf"
)

// Machine is the kernel model of one traced host. It is not safe for
// concurrent use; Clone it to hand a snapshot to another goroutine.
type Machine struct {
	threads map[TID]*Thread
	procs   map[PID]*Process
	ns      map[uint64]*Namespace
	cpus    []*CPUState
	// cur caches, per CPU, the thread of CPUState.Current (threads are
	// never removed from the map); not copied by Clone.
	cur []*Thread
	// recent caches threads by tid modulo its size, for the same reason
	// (a map look-up costs a cache miss or two); not copied by Clone.
	recent [256]*Thread
	// recentProc does the same for processes (never removed either).
	recentProc [64]*Process

	begin, now int64 // first and last event times applied
	started    bool
	events     uint64
	lost       uint64

	perfNames []string
	cpuPerf   [][]uint64 // last perf_cpu_* values per CPU

	fdTables map[uint64]PID   // 2.13 statedump: fd table address -> process
	blocks   map[blockKey]TID // block requests issued, not yet completed

	obs Observer

	// streams are the trace's data streams (SetStreams), shared.
	streams []*ctf.Stream

	// classes caches, per event class, which handler and which field
	// indexes apply (the entries are immutable, shared between clones).
	classes *classCache
}

// New returns an empty model.
func New() *Machine {
	return &Machine{
		threads: make(map[TID]*Thread),
		procs:   make(map[PID]*Process),
		ns:      make(map[uint64]*Namespace),
		obs:     NopObserver{},
		classes: newClassCache(),
	}
}

// SetObserver installs o (nil for none).
func (m *Machine) SetObserver(o Observer) {
	if o == nil {
		o = NopObserver{}
	}
	m.obs = o
}

// Begin is the time of the first event applied; Now the time of the last.
func (m *Machine) Begin() int64 { return m.begin }

// Now is the time of the last event applied (ns from the clock origin).
func (m *Machine) Now() int64 { return m.now }

// Events is the number of messages applied.
func (m *Machine) Events() uint64 { return m.events }

// Lost is the number of events discarded by the tracer so far.
func (m *Machine) Lost() uint64 { return m.lost }

// PerfNames lists the perf counters seen in event contexts (e.g.
// "perf_thread_page_fault"); Thread.Perf is indexed like it.
func (m *Machine) PerfNames() []string { return m.perfNames }

// Thread returns the thread tid, or nil when unknown.
func (m *Machine) Thread(tid TID) *Thread { return m.threads[tid] }

// Process returns the process pid, or nil when unknown.
func (m *Machine) Process(pid PID) *Process { return m.proc(pid) }

// Namespace returns the pid namespace with this inode, or nil.
func (m *Machine) Namespace(inode uint64) *Namespace { return m.ns[inode] }

// Threads returns every known thread (the idle task, tid 0, excluded),
// sorted by tid.
func (m *Machine) Threads() []*Thread {
	// Sort (tid, thread) pairs: the comparisons then read no thread.
	type pair struct {
		tid TID
		t   *Thread
	}
	ps := make([]pair, 0, len(m.threads))
	for tid, t := range m.threads {
		if tid > 0 {
			ps = append(ps, pair{tid, t})
		}
	}
	slices.SortFunc(ps, func(a, b pair) int { return cmp.Compare(a.tid, b.tid) })
	out := make([]*Thread, len(ps))
	for i, p := range ps {
		out[i] = p.t
	}
	return out
}

// Processes returns every known process, sorted by pid.
func (m *Machine) Processes() []*Process {
	out := make([]*Process, 0, len(m.procs))
	for _, p := range m.procs {
		if p.PID > 0 {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out
}

// ThreadsOf returns the threads of process pid, sorted by tid.
func (m *Machine) ThreadsOf(pid PID) []*Thread {
	var out []*Thread
	for _, t := range m.threads {
		if t.PID == pid && t.TID > 0 {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TID < out[j].TID })
	return out
}

// Children returns the processes whose parent is pid, sorted by pid.
func (m *Machine) Children(pid PID) []*Process {
	var out []*Process
	for _, p := range m.procs {
		if p.PPID == pid && p.PID > 0 {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out
}

// Namespaces returns the known pid namespaces, sorted by level then inode.
func (m *Machine) Namespaces() []*Namespace {
	out := make([]*Namespace, 0, len(m.ns))
	for _, n := range m.ns {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Level != out[j].Level {
			return out[i].Level < out[j].Level
		}
		return out[i].Inode < out[j].Inode
	})
	return out
}

// Container returns the namespace inode a process belongs to when it is
// not the initial pid namespace (its container), else 0.
func (m *Machine) Container(pid PID) uint64 {
	p := m.proc(pid)
	if p == nil || p.NS == 0 {
		return 0
	}
	if n := m.ns[p.NS]; n != nil && n.Level == 0 {
		return 0
	}
	if n := m.ns[p.NS]; n == nil && p.VPID == p.PID {
		return 0
	}
	return p.NS
}

// CPUs returns the CPUs known so far (streams, topology, events), indexed
// by CPU number (nil holes for CPUs never seen).
func (m *Machine) CPUs() []*CPUState { return m.cpus }

// NumCPU is the number of CPUs known: the highest CPU number of the
// trace's per-CPU streams (SetStreams), of the statedump's CPU topology
// and of the CPUs events were seen on, + 1.
func (m *Machine) NumCPU() int { return len(m.cpus) }

// Flush reports to the observer, as Ran, the time every CPU's current task
// has been running until time t, and restarts those runs at t, so a window
// ending at t gets its share. Used at window ends.
func (m *Machine) Flush(t int64) {
	for _, c := range m.cpus {
		if c == nil || c.Current == NoTID {
			continue
		}
		if t > c.Since {
			th := m.thread(c.Current)
			m.account(c, th, t)
			m.obs.Ran(th, c.ID, c.Since, t)
			c.Since = t
		}
	}
}

// account adds [c.Since, t[ to the CPU's idle or busy time.
func (m *Machine) account(c *CPUState, th *Thread, t int64) {
	d := t - c.Since
	if d <= 0 {
		return
	}
	if th.TID == 0 {
		c.Idle += d
	} else {
		c.Busy += d
	}
}

// Clone returns a deep copy of the model without its observer.
func (m *Machine) Clone() *Machine {
	c := &Machine{
		threads:   make(map[TID]*Thread, len(m.threads)),
		procs:     make(map[PID]*Process, len(m.procs)),
		ns:        make(map[uint64]*Namespace, len(m.ns)),
		cpus:      make([]*CPUState, len(m.cpus)),
		begin:     m.begin,
		now:       m.now,
		started:   m.started,
		events:    m.events,
		lost:      m.lost,
		perfNames: append([]string(nil), m.perfNames...),
		obs:       NopObserver{},
		classes:   m.classes.clone(),
		streams:   m.streams,
	}
	for k, t := range m.threads {
		nt := *t
		nt.Perf = append([]uint64(nil), t.Perf...)
		c.threads[k] = &nt
	}
	for k, p := range m.procs {
		np := *p
		np.Files = make(map[int32]*File, len(p.Files))
		for fd, f := range p.Files {
			nf := *f
			np.Files[fd] = &nf
		}
		c.procs[k] = &np
	}
	for _, p := range m.cpuPerf {
		c.cpuPerf = append(c.cpuPerf, append([]uint64(nil), p...))
	}
	if m.fdTables != nil {
		c.fdTables = make(map[uint64]PID, len(m.fdTables))
		for k, v := range m.fdTables {
			c.fdTables[k] = v
		}
	}
	if m.blocks != nil {
		c.blocks = make(map[blockKey]TID, len(m.blocks))
		for k, v := range m.blocks {
			c.blocks[k] = v
		}
	}
	for k, n := range m.ns {
		nn := *n
		c.ns[k] = &nn
	}
	for i, cpu := range m.cpus {
		if cpu != nil {
			nc := *cpu
			c.cpus[i] = &nc
		}
	}
	return c
}

// Apply updates the model with one message read from a ctf.Source.
// Messages must come in time order.
func (m *Machine) Apply(ev *ctf.Event) {
	if !m.started {
		m.started = true
		m.begin = ev.NS
	}
	if ev.NS > m.now {
		m.now = ev.NS
	}
	m.events++
	switch ev.Kind {
	case ctf.KindDiscarded:
		m.lost += ev.Count
		m.obs.Lost(ev.Count, false, ev.NS)
		return
	case ctf.KindLostPackets:
		m.obs.Lost(ev.Count, true, ev.NS)
		return
	case ctf.KindEvent:
	default:
		return
	}
	ci := m.classes.get(ev.Class, ev.Stream)
	if ci.handler == nil && ci.perf == nil {
		return
	}
	cpu := m.cpu(ev)
	if ci.perf != nil {
		m.applyPerf(ev, ci, cpu)
	}
	if ci.handler != nil {
		ci.handler(m, ev, ci, cpu)
	}
}

// cpu returns the CPU state of the stream an event comes from.
func (m *Machine) cpu(ev *ctf.Event) *CPUState {
	n := -1
	if ev.Stream != nil {
		n = ev.Stream.CPU
	}
	if n < 0 {
		return nil
	}
	return m.cpuState(CPU(n))
}

func (m *Machine) cpuState(n CPU) *CPUState {
	if n < 0 || n > 1<<16 {
		return nil
	}
	for int(n) >= len(m.cpus) {
		m.cpus = append(m.cpus, nil)
	}
	c := m.cpus[n]
	if c == nil {
		c = &CPUState{ID: n, Current: NoTID, Online: true}
		m.cpus[n] = c
	}
	return c
}

// thread returns the thread tid, created when unknown.
func (m *Machine) thread(tid TID) *Thread {
	r := &m.recent[uint32(tid)%uint32(len(m.recent))]
	if t := *r; t != nil && t.TID == tid {
		return t
	}
	t := m.threads[tid]
	if t == nil {
		t = &Thread{TID: tid, CPU: NoCPU, Syscall: Syscall{FD: -1}}
		if tid == 0 {
			t.Comm = "swapper"
		}
		m.threads[tid] = t
	}
	*r = t
	return t
}

// process returns the process pid, created when unknown.
func (m *Machine) process(pid PID) *Process {
	p := m.proc(pid)
	if p == nil {
		p = &Process{PID: pid, Files: make(map[int32]*File)}
		m.procs[pid] = p
		m.recentProc[uint32(pid)%uint32(len(m.recentProc))] = p
	}
	return p
}

// proc returns the process pid, nil when unknown.
func (m *Machine) proc(pid PID) *Process {
	r := &m.recentProc[uint32(pid)%uint32(len(m.recentProc))]
	if p := *r; p != nil && p.PID == pid {
		return p
	}
	p := m.procs[pid]
	if p != nil {
		*r = p
	}
	return p
}

// current returns the thread running on c, or nil when unknown.
func (m *Machine) current(c *CPUState) *Thread {
	if c == nil || c.Current == NoTID {
		return nil
	}
	if i := int(c.ID); i >= 0 && i < len(m.cur) {
		if t := m.cur[i]; t != nil && t.TID == c.Current {
			return t
		}
	} else if i >= 0 && i < 1<<16 {
		m.cur = append(m.cur, make([]*Thread, i+1-len(m.cur))...)
	}
	t := m.thread(c.Current)
	if i := int(c.ID); i >= 0 && i < len(m.cur) {
		m.cur[i] = t
	}
	return t
}

// OnCPU returns the thread running on CPU c (nil when unknown or before
// the CPU's first sched_switch).
func (m *Machine) OnCPU(c CPU) *Thread {
	if c < 0 || int(c) >= len(m.cpus) || m.cpus[c] == nil || m.cpus[c].Current == NoTID {
		return nil
	}
	return m.threads[m.cpus[c].Current]
}

// OpenFDs is the number of file descriptors open in the processes alive
// now.
func (m *Machine) OpenFDs() int {
	n := 0
	for _, p := range m.procs {
		if p.PID > 0 && p.Died == 0 {
			n += len(p.Files)
		}
	}
	return n
}

// streamSource is a source that lists its data streams (ctf.Reader, the
// top's Tail).
type streamSource interface{ Streams() []*ctf.Stream }

// SetStreams tells the model the trace's data streams: each stream with a
// cpu_id in its packet context is one CPU of the machine, known before any
// of its events, and its time coverage says when that CPU was online
// (a stream that starts late or ends early: CPU hotplug). Call it again
// when a live source adds streams; the slice is kept, not copied.
func (m *Machine) SetStreams(streams []*ctf.Stream) {
	m.streams = streams
	for _, s := range streams {
		if s.CPU >= 0 {
			m.cpuState(CPU(s.CPU))
		}
	}
}

// SetStreamsOf calls SetStreams with src's streams when it lists them.
func (m *Machine) SetStreamsOf(src ctf.Source) {
	if s, ok := src.(streamSource); ok {
		m.SetStreams(s.Streams())
	}
}

// OnlineIn reports whether CPU c was online during some of [t1, t2[: its
// streams cover part of it, or nothing says otherwise.
func (m *Machine) OnlineIn(c CPU, t1, t2 int64) bool {
	known := false
	for _, s := range m.streams {
		if s.CPU != int(c) {
			continue
		}
		b, e, ok := s.Span()
		if !ok {
			return true
		}
		known = true
		if b < t2 && e >= t1 {
			return true
		}
	}
	return !known
}

package state

import (
	"bytes"
	"path"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/meta"
)

// Linux constants the model needs.
const (
	cloneThread     = 0x00010000
	oCloexec        = 0x80000
	fDupFD          = 0
	fDupFDCloexec   = 1030
	closeRangeCloex = 1 << 2
	taskRunningMask = 0xff // prev_state bits that mean "not runnable"
	taskUninterrupt = 2
)

func (m *Machine) onSwitch(ev *ctf.Event, ci *classInfo, c *CPUState) {
	if c == nil {
		return
	}
	ts := ev.NS
	ptid, _ := ci.int(ev, fPrevTID)
	ntid, _ := ci.int(ev, fNextTID)
	pstate, _ := ci.int(ev, fPrevState)
	prev := m.thread(TID(ptid))
	next := m.thread(TID(ntid))
	if b, ok := ci.text(ev, fPrevComm); ok && prev.TID != 0 {
		setString(&prev.Comm, b)
	}
	if b, ok := ci.text(ev, fNextComm); ok && next.TID != 0 {
		setString(&next.Comm, b)
	}
	if p, ok := ci.int(ev, fNextPrio); ok {
		next.Prio = int32(p)
	}
	if c.Current == NoTID {
		// Nothing said what ran before: it is prev, since the trace began.
		c.Since = m.begin
	}
	m.account(c, prev, ts)
	m.obs.Ran(prev, c.ID, c.Since, ts)
	// A thread switched out here after it was switched in on another CPU
	// (the other CPU's clock a few µs behind this one's: the events are
	// in time order, not in the order they happened) runs there now.
	elsewhere := prev.Status == StatusRunning && prev.Switches > 0 && prev.CPU != c.ID
	// Else prev ran until now whatever the model thought (a statedump's
	// runnable or blocked thread that was running on another CPU): its
	// state starts now.
	if prev.TID != 0 && !elsewhere && prev.Status != StatusZombie && prev.Status != StatusDead {
		switch {
		case pstate&taskRunningMask == 0:
			prev.Status, prev.Reason = StatusRunnable, ""
		default:
			prev.Status = StatusBlocked
			switch {
			case prev.Syscall.Name != "":
				prev.Reason = prev.Syscall.Name
			case pstate&taskUninterrupt != 0:
				prev.Reason = "D"
			default:
				prev.Reason = ""
			}
		}
		prev.Since = ts
	}
	if !elsewhere {
		prev.CPU = c.ID
	}
	if next.TID != 0 && (next.Status == StatusRunnable || next.Status == StatusBlocked) {
		m.obs.Waited(next, next.Status, next.Since, ts)
	}
	if next.Status != StatusZombie && next.Status != StatusDead {
		next.Status, next.Reason, next.Since = StatusRunning, "", ts
	}
	next.CPU = c.ID
	next.Switches++
	c.Current = next.TID
	c.Since = ts
	m.obs.Switched(prev, next, c.ID, ts)
}

func (m *Machine) onWakeup(ev *ctf.Event, ci *classInfo, c *CPUState) {
	tid, ok := ci.int(ev, fTID)
	if !ok {
		return
	}
	t := m.thread(TID(tid))
	if b, ok := ci.text(ev, fComm); ok && t.TID != 0 {
		setString(&t.Comm, b)
	}
	if p, ok := ci.int(ev, fPrio); ok {
		t.Prio = int32(p)
	}
	if t.Status != StatusRunning && t.Status != StatusZombie && t.Status != StatusDead {
		if t.Status == StatusBlocked && t.TID != 0 {
			m.obs.Waited(t, StatusBlocked, t.Since, ev.NS)
		}
		if t.Status != StatusRunnable {
			// A runnable thread woken again (woken while still queued)
			// has been waiting since it became runnable.
			t.Since = ev.NS
		}
		t.Status, t.Reason = StatusRunnable, ""
	}
	if cpu, ok := ci.int(ev, fTargetCPU); ok && cpu >= 0 && t.Status != StatusRunning {
		t.CPU = CPU(cpu)
	}
}

// onWaking only fills in names: sched_wakeup follows.
func (m *Machine) onWaking(ev *ctf.Event, ci *classInfo, c *CPUState) {
	tid, ok := ci.int(ev, fTID)
	if !ok {
		return
	}
	t := m.thread(TID(tid))
	if b, ok := ci.text(ev, fComm); ok && t.TID != 0 && t.Comm == "" {
		setString(&t.Comm, b)
	}
}

func (m *Machine) onMigrate(ev *ctf.Event, ci *classInfo, c *CPUState) {
	tid, ok := ci.int(ev, fTID)
	if !ok {
		return
	}
	t := m.thread(TID(tid))
	from, _ := ci.int(ev, fOrigCPU)
	to, ok := ci.int(ev, fDestCPU)
	if !ok {
		return
	}
	if t.Status != StatusRunning {
		t.CPU = CPU(to)
	}
	m.obs.Migrated(t, CPU(from), CPU(to), ev.NS)
}

func (m *Machine) onFork(ev *ctf.Event, ci *classInfo, c *CPUState) {
	ts := ev.NS
	ptid, _ := ci.int(ev, fParentTID)
	ctid, _ := ci.int(ev, fChildTID)
	parent := m.thread(TID(ptid))
	if ppid, ok := ci.int(ev, fParentPID); ok && ppid > 0 {
		parent.PID = PID(ppid)
	}
	if parent.PID == 0 && parent.TID > 0 {
		// Unknown: a thread group leader is the best guess.
		parent.PID = PID(parent.TID)
	}
	child := m.threads[TID(ctid)]
	if child != nil {
		// tid reuse: start over.
		*child = Thread{TID: child.TID, CPU: NoCPU, Syscall: Syscall{FD: -1}}
	} else {
		child = m.thread(TID(ctid))
	}
	child.Born, child.Since = ts, ts
	child.Status = StatusRunnable
	child.Prio = parent.Prio
	if b, ok := ci.text(ev, fChildComm); ok {
		setString(&child.Comm, b)
	} else {
		child.Comm = parent.Comm
	}
	cpid, ok := ci.int(ev, fChildPID)
	if !ok || cpid <= 0 {
		// Old tracers: tell a thread from a process by the clone flags.
		if parent.Syscall.Name == "clone" && parent.Syscall.Flags&cloneThread != 0 {
			cpid = int64(parent.PID)
		} else {
			cpid = ctid
		}
	}
	child.PID = PID(cpid)
	// Namespaces: vtids lists the child's tid at each level, the last in
	// its own namespace.
	child.VTID, child.VPID = child.TID, child.PID
	level := 0
	if i := ci.f[fVTIDs]; i >= 0 {
		if v := ev.Field(meta.ScopeEventPayload, i); v != nil && v.N > 0 &&
			(v.Class.Kind == meta.KindSequence || v.Class.Kind == meta.KindArray) {
			level = int(v.N) - 1
			child.VTID = TID(ev.Child(v, int(v.N-1)).Int())
		}
	}
	var cns, pns uint64
	if n, ok := ci.int(ev, fChildNS); ok {
		cns = uint64(n)
	}
	if n, ok := ci.int(ev, fParentNS); ok {
		pns = uint64(n)
	}
	child.NS = cns
	if cns != 0 {
		ns := m.ns[cns]
		if ns == nil {
			ns = &Namespace{Inode: cns, Level: level}
			m.ns[cns] = ns
		}
		if pns != 0 && pns != cns && ns.Parent == 0 {
			ns.Parent = pns
			if m.ns[pns] == nil && level > 0 {
				m.ns[pns] = &Namespace{Inode: pns, Level: level - 1}
			}
		}
		if child.VTID == 1 && child.PID == PID(child.TID) {
			ns.Init = child.PID
		}
	}
	if parent.NS == 0 && pns != 0 {
		parent.NS = pns
	}
	var proc *Process
	if child.PID == PID(child.TID) {
		// A new process: it inherits a copy of the parent's fd table.
		proc = m.proc(child.PID)
		if proc != nil {
			*proc = Process{PID: proc.PID, Files: make(map[int32]*File)}
		} else {
			proc = m.process(child.PID)
		}
		proc.PPID = parent.PID
		proc.Comm = child.Comm
		proc.Born = ts
		proc.NS = cns
		proc.VPID = PID(child.VTID)
		if pp := m.proc(parent.PID); pp != nil {
			proc.Path = pp.Path
			if proc.NS == pp.NS || pp.NS == 0 {
				proc.VPPID = pp.VPID
			}
			for fd, f := range pp.Files {
				nf := *f
				nf.Read, nf.Written = 0, 0
				proc.Files[fd] = &nf
			}
		}
		child.VPID = proc.VPID
	} else {
		proc = m.process(child.PID)
		if pp := m.proc(child.PID); pp != nil && pp.VPID != 0 {
			child.VPID = pp.VPID
		} else if parent.VPID != 0 {
			child.VPID = parent.VPID
		}
	}
	m.obs.Born(child, parent, ts)
}

func (m *Machine) onExit(ev *ctf.Event, ci *classInfo, c *CPUState) {
	tid, ok := ci.int(ev, fTID)
	if !ok {
		return
	}
	t := m.thread(TID(tid))
	t.Status, t.Reason, t.Since, t.Died = StatusZombie, "", ev.NS, ev.NS
	if t.PID == PID(t.TID) {
		if p := m.proc(t.PID); p != nil {
			p.Died = ev.NS
		}
	}
	m.obs.Exited(t, ev.NS)
}

func (m *Machine) onFree(ev *ctf.Event, ci *classInfo, c *CPUState) {
	tid, ok := ci.int(ev, fTID)
	if !ok {
		return
	}
	t := m.thread(TID(tid))
	if t.Died == 0 {
		t.Died = ev.NS
	}
	t.Status, t.Since = StatusDead, ev.NS
}

func (m *Machine) onExec(ev *ctf.Event, ci *classInfo, c *CPUState) {
	tid, ok := ci.int(ev, fTID)
	if !ok {
		if t := m.current(c); t != nil {
			tid = int64(t.TID)
		} else {
			return
		}
	}
	t := m.thread(TID(tid))
	if t.PID == 0 {
		t.PID = PID(t.TID)
	}
	p := m.process(t.PID)
	if b, ok := ci.text(ev, fFilename); ok {
		setString(&p.Path, b)
		base := path.Base(p.Path)
		if len(base) > 15 {
			base = base[:15]
		}
		t.Comm = base
		p.Comm = base
	}
	for fd, f := range p.Files {
		if f.CloExec {
			delete(p.Files, fd)
			m.obs.Closed(t, p, f, ev.NS)
		}
	}
	m.obs.Exec(t, p, ev.NS)
}

func (m *Machine) onStatedumpProcess(ev *ctf.Event, ci *classInfo, c *CPUState) {
	tid, ok := ci.int(ev, fSDTID)
	if !ok {
		return
	}
	t := m.thread(TID(tid))
	pid, _ := ci.int(ev, fSDPID)
	if pid > 0 {
		t.PID = PID(pid)
	}
	if b, ok := ci.text(ev, fSDName); ok && t.TID != 0 {
		setString(&t.Comm, b)
	}
	if cpu, ok := ci.int(ev, fSDCPU); ok && t.CPU == NoCPU {
		t.CPU = CPU(cpu)
	}
	if v, ok := ci.int(ev, fSDVTID); ok {
		t.VTID = TID(v)
	}
	if v, ok := ci.int(ev, fSDVPID); ok {
		t.VPID = PID(v)
	}
	if t.Status == StatusUnknown {
		// status: 1 wait cpu (runnable), 2 wait (blocked), 5 run? lttng:
		// LTTNG_UNNAMED=0, WAIT_FORK, WAIT_CPU, EXIT, ZOMBIE, WAIT, RUN, DEAD.
		if st, ok := ci.int(ev, fSDStatus); ok {
			switch st {
			case 2:
				t.Status = StatusRunnable
			case 4:
				t.Status = StatusZombie
			case 5:
				t.Status = StatusBlocked
			case 6:
				t.Status = StatusRunning
			case 7:
				t.Status = StatusDead
			}
		}
	}
	if t.TID == 0 || t.PID == 0 {
		return
	}
	p := m.process(t.PID)
	if t.TID == PID(t.PID).tid() {
		if b, ok := ci.text(ev, fSDName); ok {
			setString(&p.Comm, b)
		}
	}
	if ppid, ok := ci.int(ev, fSDPPID); ok && p.PPID == 0 {
		p.PPID = PID(ppid)
	}
	if v, ok := ci.int(ev, fSDVPID); ok {
		p.VPID = PID(v)
	}
	if v, ok := ci.int(ev, fSDVPPID); ok {
		p.VPPID = PID(v)
	}
	if inum, ok := ci.int(ev, fSDNSInum); ok && inum != 0 {
		level, _ := ci.int(ev, fSDNSLevel)
		m.nsAt(uint64(inum), int(level))
		t.NS = uint64(inum)
		if t.TID == PID(t.PID).tid() {
			p.NS = uint64(inum)
		}
	}
	if addr, ok := ci.int(ev, fSDFileTable); ok && addr != 0 {
		if m.fdTables == nil {
			m.fdTables = make(map[uint64]PID)
		}
		if _, seen := m.fdTables[uint64(addr)]; !seen {
			m.fdTables[uint64(addr)] = t.PID
		}
	}
}

func (p PID) tid() TID { return TID(p) }

// nsAt returns the namespace with inode inum, created at level.
func (m *Machine) nsAt(inum uint64, level int) *Namespace {
	ns := m.ns[inum]
	if ns == nil {
		ns = &Namespace{Inode: inum, Level: level}
		m.ns[inum] = ns
	}
	return ns
}

// onStatedumpPidNS reads 2.13's per-namespace statedump events: one per
// level of each thread's pid namespace nesting, outermost first.
func (m *Machine) onStatedumpPidNS(ev *ctf.Event, ci *classInfo, c *CPUState) {
	tid, ok := ci.int(ev, fSDTID)
	if !ok {
		return
	}
	inum, _ := ci.int(ev, fSDNSInum)
	level, _ := ci.int(ev, fSDNSLevel)
	if inum == 0 {
		return
	}
	t := m.thread(TID(tid))
	ns := m.nsAt(uint64(inum), int(level))
	if level > 0 && t.NS != 0 && t.NS != uint64(inum) {
		if outer := m.ns[t.NS]; outer != nil && outer.Level == int(level)-1 && ns.Parent == 0 {
			ns.Parent = outer.Inode
		}
	}
	if t.NS == 0 || m.ns[t.NS] == nil || m.ns[t.NS].Level <= int(level) {
		t.NS = uint64(inum)
		if v, ok := ci.int(ev, fSDVTID); ok {
			t.VTID = TID(v)
		}
		if v, ok := ci.int(ev, fSDVPID); ok {
			t.VPID = PID(v)
		}
		if t.PID != 0 && t.TID == t.PID.tid() {
			p := m.process(t.PID)
			p.NS, p.VPID = t.NS, t.VPID
			if v, ok := ci.int(ev, fSDVPPID); ok {
				p.VPPID = PID(v)
			}
			if t.VPID == 1 {
				ns.Init = t.PID
			}
		}
	}
}

func (m *Machine) onStatedumpFD(ev *ctf.Event, ci *classInfo, c *CPUState) {
	var pid PID
	if v, ok := ci.int(ev, fFDPID); ok {
		pid = PID(v)
	} else if addr, ok := ci.int(ev, fFDTable); ok {
		pid = m.fdTables[uint64(addr)]
	}
	fd, ok := ci.int(ev, fFDFD)
	if pid <= 0 || !ok {
		return
	}
	p := m.process(pid)
	f := &File{FD: int32(fd)}
	if b, ok := ci.text(ev, fFDName); ok {
		f.Name = string(b)
	}
	f.Kind = kindOf(f.Name)
	if fl, ok := ci.int(ev, fFDFlags); ok {
		f.CloExec = fl&oCloexec != 0
	}
	if old := p.Files[f.FD]; old != nil {
		f.Read, f.Written = old.Read, old.Written
	}
	p.Files[f.FD] = f
}

func (m *Machine) onCPUTopology(ev *ctf.Event, ci *classInfo, c *CPUState) {
	if n, ok := ci.int(ev, fSDCPU); ok {
		m.cpuState(CPU(n))
	}
}

// kindOf guesses what a file name designates.
func kindOf(name string) FileKind {
	switch {
	case name == "":
		return FileUnknown
	case len(name) >= 7 && name[:7] == "socket:", name == "socket":
		return FileSocket
	case len(name) >= 5 && name[:5] == "pipe:", name == "pipe":
		return FilePipe
	case len(name) >= 5 && name[:5] == "/dev/":
		return FileDevice
	case len(name) >= 11 && name[:11] == "anon_inode:":
		return FileAnon
	case name[0] == '/':
		return FileRegular
	}
	return FileUnknown
}

// Syscalls.

func (m *Machine) onSyscallEntry(ev *ctf.Event, ci *classInfo, c *CPUState) {
	t := m.current(c)
	if t == nil || t.TID == 0 {
		return
	}
	s := &t.Syscall
	*s = Syscall{Name: ci.sysName, Entry: ev.NS, FD: -1, Arg: -1}
	if v, ok := ci.int(ev, fSysFD); ok {
		s.FD = int32(v)
	}
	if v, ok := ci.int(ev, fSysFD2); ok {
		s.Arg = v
	} else if v, ok := ci.int(ev, fSysArg); ok {
		s.Arg = v
	}
	if v, ok := ci.int(ev, fSysFlags); ok {
		s.Flags = uint64(v)
	}
	if b, ok := ci.text(ev, fSysPath); ok {
		s.Path = string(b)
	}
}

func (m *Machine) onSyscallExit(ev *ctf.Event, ci *classInfo, c *CPUState) {
	t := m.current(c)
	if t == nil || t.TID == 0 {
		return
	}
	s := &t.Syscall
	if s.Name == "" || (ci.sysName != "" && ci.sysName != s.Name) {
		s.Name = ""
		return
	}
	ret, _ := ci.int(ev, fRet)
	ts := ev.NS
	pid := t.PID
	if pid == 0 {
		pid = PID(t.TID)
	}
	switch s.Name {
	case "read", "readv", "pread64", "preadv", "preadv2", "recvfrom", "recvmsg", "pread":
		if ret > 0 {
			m.io(t, pid, s.FD, IORead, uint64(ret), ts)
		}
	case "write", "writev", "pwrite64", "pwritev", "pwritev2", "sendto", "sendmsg", "pwrite":
		if ret > 0 {
			m.io(t, pid, s.FD, IOWrite, uint64(ret), ts)
		}
	case "splice", "sendfile", "sendfile64":
		if ret > 0 {
			m.io(t, pid, s.FD, IORead, uint64(ret), ts)
			m.io(t, pid, int32(s.Arg), IOWrite, uint64(ret), ts)
		}
	case "open", "openat", "openat2", "creat":
		if ret >= 0 {
			m.open(t, pid, int32(ret), s.Path, s.Flags&oCloexec != 0, ts)
		}
	case "socket", "accept", "accept4":
		if ret >= 0 {
			m.open(t, pid, int32(ret), "socket", false, ts)
		}
	case "pipe", "pipe2":
		if ret == 0 {
			if i := ci.f[fFildes]; i >= 0 {
				if v := ev.Field(meta.ScopeEventPayload, i); v != nil && v.N == 2 &&
					(v.Class.Kind == meta.KindArray || v.Class.Kind == meta.KindSequence) {
					cl := s.Flags&oCloexec != 0
					m.open(t, pid, int32(ev.Child(v, 0).Int()), "pipe", cl, ts)
					m.open(t, pid, int32(ev.Child(v, 1).Int()), "pipe", cl, ts)
				}
			}
		}
	case "dup", "dup2", "dup3":
		if ret >= 0 {
			m.dup(t, pid, s.FD, int32(ret), s.Name == "dup3" && s.Flags&oCloexec != 0, ts)
		}
	case "fcntl":
		if ret >= 0 && (s.Flags == fDupFD || s.Flags == fDupFDCloexec) {
			m.dup(t, pid, s.FD, int32(ret), s.Flags == fDupFDCloexec, ts)
		}
	case "close":
		if ret == 0 {
			m.close(t, pid, s.FD, ts)
		}
	case "close_range":
		if ret == 0 {
			m.closeRange(t, pid, s, ts)
		}
	}
	m.obs.SyscallDone(t, s, ret, ts)
	s.Name = ""
	s.Entry = 0
}

func (m *Machine) io(t *Thread, pid PID, fd int32, dir IODir, n uint64, ts int64) {
	p := m.process(pid)
	f := p.Files[fd]
	if f == nil && fd >= 0 {
		// Open before the trace and not in a statedump.
		f = &File{FD: fd}
		p.Files[fd] = f
	}
	if f != nil {
		if dir == IORead {
			f.Read += n
		} else {
			f.Written += n
		}
	}
	m.obs.IO(t, fd, f, dir, n, ts)
}

func (m *Machine) open(t *Thread, pid PID, fd int32, name string, cloexec bool, ts int64) {
	p := m.process(pid)
	if old := p.Files[fd]; old != nil {
		// Missed a close (before the trace, or events lost).
		m.obs.Closed(t, p, old, ts)
	}
	f := &File{FD: fd, Name: name, Kind: kindOf(name), Opened: ts, CloExec: cloexec}
	if name == "socket" {
		f.Kind = FileSocket
	} else if name == "pipe" {
		f.Kind = FilePipe
	}
	p.Files[fd] = f
	m.obs.Opened(t, p, f, ts)
}

func (m *Machine) dup(t *Thread, pid PID, oldfd, newfd int32, cloexec bool, ts int64) {
	p := m.process(pid)
	name := ""
	if f := p.Files[oldfd]; f != nil {
		name = f.Name
	}
	if newfd == oldfd {
		return
	}
	if old := p.Files[newfd]; old != nil {
		delete(p.Files, newfd)
		m.obs.Closed(t, p, old, ts)
	}
	f := &File{FD: newfd, Name: name, Kind: kindOf(name), Opened: ts, CloExec: cloexec}
	if of := p.Files[oldfd]; of != nil {
		f.Kind = of.Kind
	}
	p.Files[newfd] = f
	m.obs.Opened(t, p, f, ts)
}

func (m *Machine) close(t *Thread, pid PID, fd int32, ts int64) {
	p := m.process(pid)
	f := p.Files[fd]
	if f == nil {
		f = &File{FD: fd}
	} else {
		delete(p.Files, fd)
	}
	m.obs.Closed(t, p, f, ts)
}

func (m *Machine) closeRange(t *Thread, pid PID, s *Syscall, ts int64) {
	p := m.process(pid)
	lo, hi := int64(s.FD), s.Arg
	if lo < 0 {
		return
	}
	if hi < 0 {
		hi = 1<<31 - 1
	}
	for fd, f := range p.Files {
		if int64(fd) < lo || int64(fd) > hi {
			continue
		}
		if s.Flags&closeRangeCloex != 0 {
			f.CloExec = true
			continue
		}
		delete(p.Files, fd)
		m.obs.Closed(t, p, f, ts)
	}
}

// Block layer: bytes are credited at completion to the thread that
// issued the request.

type blockKey struct {
	dev    uint32
	sector uint64
}

func (m *Machine) onBlockIssue(ev *ctf.Event, ci *classInfo, c *CPUState) {
	dev, _ := ci.int(ev, fBlkDev)
	sector, _ := ci.int(ev, fBlkSector)
	var tid TID = NoTID
	if v, ok := ci.int(ev, fBlkTID); ok {
		tid = TID(v)
	} else if t := m.current(c); t != nil {
		tid = t.TID
	}
	if m.blocks == nil {
		m.blocks = make(map[blockKey]TID)
	}
	if len(m.blocks) > 1<<16 {
		clear(m.blocks) // completions lost: do not grow without bound
	}
	m.blocks[blockKey{uint32(dev), uint64(sector)}] = tid
}

func (m *Machine) onBlockComplete(ev *ctf.Event, ci *classInfo, c *CPUState) {
	dev, _ := ci.int(ev, fBlkDev)
	sector, _ := ci.int(ev, fBlkSector)
	k := blockKey{uint32(dev), uint64(sector)}
	var n uint64
	if v, ok := ci.int(ev, fBlkNrSector); ok {
		n = uint64(v) * 512
	} else if v, ok := ci.int(ev, fBlkBytes); ok {
		n = uint64(v)
	}
	if n == 0 {
		delete(m.blocks, k)
		return
	}
	dir := IORead
	if v, ok := ci.int(ev, fBlkRWBS); ok {
		if v&1 != 0 {
			dir = IOWrite
		}
	} else if b, ok := ci.text(ev, fBlkRWBS); ok && bytes.IndexByte(b, 'W') >= 0 {
		dir = IOWrite
	}
	var t *Thread
	if tid, ok := m.blocks[k]; ok {
		delete(m.blocks, k)
		if tid > 0 {
			t = m.thread(tid)
		}
	}
	m.obs.Block(t, uint32(dev), dir, n, ev.NS)
}

// Perf counters from event contexts: perf_thread_* values belong to the
// thread the event is about (the CPU's current thread), perf_cpu_* to the
// CPU, and their growth is credited to the current thread.
func (m *Machine) applyPerf(ev *ctf.Event, ci *classInfo, c *CPUState) {
	t := m.current(c)
	if t == nil {
		return
	}
	for _, pf := range ci.perf {
		v := ev.Field(pf.scope, pf.field)
		if v == nil {
			continue
		}
		idx := m.perfIndex(pf.name)
		val := v.Bits
		perCPU := len(pf.name) > 9 && pf.name[:9] == "perf_cpu_"
		var last *uint64
		if perCPU {
			for len(m.cpuPerf) <= int(c.ID) {
				m.cpuPerf = append(m.cpuPerf, nil)
			}
			for len(m.cpuPerf[c.ID]) <= idx {
				m.cpuPerf[c.ID] = append(m.cpuPerf[c.ID], 0)
			}
			last = &m.cpuPerf[c.ID][idx]
		} else {
			for len(t.Perf) <= idx {
				t.Perf = append(t.Perf, 0)
			}
			last = &t.Perf[idx]
		}
		if *last != 0 && val > *last && t.TID != 0 {
			m.obs.PerfDelta(t, idx, val-*last, ev.NS)
		}
		*last = val
		if perCPU && t.TID != 0 {
			for len(t.Perf) <= idx {
				t.Perf = append(t.Perf, 0)
			}
			t.Perf[idx] = val
		}
	}
}

func (m *Machine) perfIndex(name string) int {
	for i, n := range m.perfNames {
		if n == name {
			return i
		}
	}
	m.perfNames = append(m.perfNames, name)
	return len(m.perfNames) - 1
}

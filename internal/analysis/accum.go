package analysis

import (
	"cmp"
	"slices"
	"sort"
	"strings"

	"github.com/tracetop/tracetop/internal/state"
)

// threadAcc is what one thread did in the window so far.
type threadAcc struct {
	cpu            int64
	runnable, blk  int64 // ns waiting for a CPU, sleeping (Waited)
	switches       uint64
	migrations     uint64
	born, died     bool
	read, wrote    uint64
	bread, bwrite  uint64
	opened, closed int
	perf           []uint64
	// syscalls are the thread's calls by name, in the order first seen
	// (held by value: one allocation for a thread's first few);
	// sysIndex finds them by name once there are more than a few.
	syscalls []SyscallFigures
	sysIndex map[string]int32
	// files holds the I/O per file: the newest file of each fd, and the
	// files whose fd was reused for another one in the window (few).
	// file0 is the thread's only file while it has one (files is nil):
	// most threads that do I/O use one file.
	file0      *FileFigures
	files      map[int32]*FileFigures
	oldFiles   map[fileKey]*FileFigures
	nsys, nerr uint64
	// the last syscall and file of the thread, which the next event is
	// most often about again (saves hashing their names)
	lastSys  *SyscallFigures // in syscalls
	lastFile *FileFigures
}

type fileKey struct {
	fd   int32
	name string
}

// acc accumulates the window [begin, end[ as a state.Observer.
type acc struct {
	begin, end        int64
	incl              bool // the last window of a finished trace counts its end (its last event)
	threads           map[state.TID]*threadAcc
	cpus              []CPUFigures
	disks             map[uint32]*DiskFigures
	born, died        int
	opened, closed    int
	read, wrote       uint64
	lost, lostPackets uint64
	events0           uint64
	// recent caches threads by tid modulo its size (entries are never
	// removed from threads): most events are about a thread seen a moment
	// ago, and a map look-up costs a cache miss or two.
	recent [256]struct {
		tid state.TID
		ta  *threadAcc
	}
}

func newAcc(begin, end int64) *acc {
	return &acc{begin: begin, end: end, threads: make(map[state.TID]*threadAcc),
		disks: make(map[uint32]*DiskFigures)}
}

func (a *acc) thread(tid state.TID) *threadAcc {
	r := &a.recent[uint32(tid)%uint32(len(a.recent))]
	if r.ta != nil && r.tid == tid {
		return r.ta
	}
	t := a.threads[tid]
	if t == nil {
		t = &threadAcc{}
		a.threads[tid] = t
	}
	r.tid, r.ta = tid, t
	return t
}

func (a *acc) cpu(c state.CPU) *CPUFigures {
	if c < 0 || c > 1<<16 {
		return nil
	}
	for int(c) >= len(a.cpus) {
		a.cpus = append(a.cpus, CPUFigures{CPU: state.CPU(len(a.cpus))})
	}
	return &a.cpus[c]
}

// clip returns the part of [from, to[ inside the window.
func (a *acc) clip(from, to int64) int64 {
	from = max(from, a.begin)
	to = min(to, a.end)
	if to <= from {
		return 0
	}
	return to - from
}

func (a *acc) in(at int64) bool { return at >= a.begin && (at < a.end || a.incl && at == a.end) }

func (a *acc) Ran(t *state.Thread, c state.CPU, from, to int64) {
	d := a.clip(from, to)
	if d == 0 {
		return
	}
	if cf := a.cpu(c); cf != nil {
		if t.TID == 0 {
			cf.Idle += d
		} else {
			cf.Busy += d
		}
	}
	if t.TID != 0 {
		a.thread(t.TID).cpu += d
	}
}

func (a *acc) Switched(prev, next *state.Thread, c state.CPU, at int64) {
	if !a.in(at) {
		return
	}
	if cf := a.cpu(c); cf != nil {
		cf.Switches++
	}
	if next.TID != 0 {
		a.thread(next.TID).switches++
	}
}

func (a *acc) Waited(t *state.Thread, s state.Status, from, to int64) {
	d := a.clip(from, to)
	if d == 0 || t.TID == 0 {
		return
	}
	ta := a.thread(t.TID)
	if s == state.StatusRunnable {
		ta.runnable += d
	} else {
		ta.blk += d
	}
}

func (a *acc) Migrated(t *state.Thread, from, to state.CPU, at int64) {
	if a.in(at) && t.TID != 0 {
		a.thread(t.TID).migrations++
	}
}

func (a *acc) SyscallDone(t *state.Thread, s *state.Syscall, ret int64, at int64) {
	if !a.in(at) {
		return
	}
	ta := a.thread(t.TID)
	sf := ta.lastSys
	if sf == nil || sf.Name != s.Name {
		sf = ta.syscall(s.Name)
		ta.lastSys = sf
	}
	sf.Count++
	ta.nsys++
	if ret < 0 && ret > -4096 {
		sf.Errors++
		ta.nerr++
	}
	if s.Entry > 0 {
		d := at - s.Entry
		sf.Total += d
		if sf.Min < 0 || d < sf.Min {
			sf.Min = d
		}
		if d > sf.Max {
			sf.Max = d
		}
	}
}

func (a *acc) IO(t *state.Thread, fd int32, f *state.File, dir state.IODir, n uint64, at int64) {
	if !a.in(at) {
		return
	}
	ta := a.thread(t.TID)
	k := fileKey{fd: fd}
	kind := state.FileUnknown
	if f != nil {
		k.name = f.Name
		kind = f.Kind
	}
	ff := ta.lastFile
	if ff == nil || ff.FD != fd || ff.Name != k.name {
		ff = ta.file(fd, k.name, kind)
		ta.lastFile = ff
	}
	if dir == state.IORead {
		ta.read += n
		ff.Read += n
		a.read += n
	} else {
		ta.wrote += n
		ff.Written += n
		a.wrote += n
	}
}

// syscall returns the figures of the thread's calls of name.
// The pointer is valid until the next call (the slice may grow).
func (ta *threadAcc) syscall(name string) *SyscallFigures {
	if ta.sysIndex != nil {
		if i, ok := ta.sysIndex[name]; ok {
			return &ta.syscalls[i]
		}
	} else {
		for i := range ta.syscalls {
			if ta.syscalls[i].Name == name {
				return &ta.syscalls[i]
			}
		}
	}
	if ta.syscalls == nil {
		ta.syscalls = make([]SyscallFigures, 0, 4)
	}
	ta.syscalls = append(ta.syscalls, SyscallFigures{Name: name, Min: -1})
	n := len(ta.syscalls)
	switch {
	case ta.sysIndex != nil:
		ta.sysIndex[name] = int32(n - 1)
	case n > 8:
		ta.sysIndex = make(map[string]int32, 2*n)
		for i := range ta.syscalls {
			ta.sysIndex[ta.syscalls[i].Name] = int32(i)
		}
	}
	return &ta.syscalls[n-1]
}

// file returns the figures of fd as file name.
func (ta *threadAcc) file(fd int32, name string, kind state.FileKind) *FileFigures {
	if ta.files == nil {
		if ta.file0 == nil {
			ta.file0 = &FileFigures{FD: fd, Name: name, Kind: kind}
			return ta.file0
		}
		if ta.file0.FD == fd && ta.file0.Name == name {
			return ta.file0
		}
		ta.files = map[int32]*FileFigures{ta.file0.FD: ta.file0}
		ta.file0 = nil
	}
	ff := ta.files[fd]
	if ff != nil && ff.Name == name {
		return ff
	}
	// The fd now names another file (or a file of an fd not seen yet).
	k := fileKey{fd: fd, name: name}
	old := ta.oldFiles[k]
	if old != nil {
		delete(ta.oldFiles, k)
	} else {
		old = &FileFigures{FD: fd, Name: name, Kind: kind}
	}
	if ff != nil {
		// Keep the one it named.
		if ta.oldFiles == nil {
			ta.oldFiles = make(map[fileKey]*FileFigures)
		}
		ta.oldFiles[fileKey{fd: fd, name: ff.Name}] = ff
	}
	ta.files[fd] = old
	return old
}

// hasFiles says whether the thread moved bytes through any file.
func (ta *threadAcc) hasFiles() bool { return ta.file0 != nil || len(ta.files) > 0 }

// eachFile calls fn with each file of the thread; (fd, name) pairs are
// unique: files holds each fd's newest file, oldFiles the others.
func (ta *threadAcc) eachFile(fn func(*FileFigures)) {
	if ta.file0 != nil {
		fn(ta.file0)
	}
	for _, ff := range ta.files {
		fn(ff)
	}
	for _, ff := range ta.oldFiles {
		fn(ff)
	}
}

func (a *acc) Opened(t *state.Thread, p *state.Process, f *state.File, at int64) {
	if !a.in(at) {
		return
	}
	a.opened++
	if t != nil {
		a.thread(t.TID).opened++
	}
}

func (a *acc) Closed(t *state.Thread, p *state.Process, f *state.File, at int64) {
	if !a.in(at) {
		return
	}
	a.closed++
	if t != nil {
		a.thread(t.TID).closed++
	}
}

func (a *acc) Born(t *state.Thread, parent *state.Thread, at int64) {
	if !a.in(at) {
		return
	}
	a.born++
	a.thread(t.TID).born = true
}

func (a *acc) Exited(t *state.Thread, at int64) {
	if !a.in(at) {
		return
	}
	a.died++
	a.thread(t.TID).died = true
}

func (a *acc) Exec(t *state.Thread, p *state.Process, at int64) {}

func (a *acc) Block(t *state.Thread, dev uint32, dir state.IODir, n uint64, at int64) {
	if !a.in(at) {
		return
	}
	d := a.disks[dev]
	if d == nil {
		d = &DiskFigures{Dev: dev}
		a.disks[dev] = d
	}
	if dir == state.IORead {
		d.Read += n
	} else {
		d.Writes += n
	}
	if t != nil && t.TID > 0 {
		ta := a.thread(t.TID)
		if dir == state.IORead {
			ta.bread += n
		} else {
			ta.bwrite += n
		}
	}
}

func (a *acc) PerfDelta(t *state.Thread, idx int, d uint64, at int64) {
	if !a.in(at) || t.TID == 0 {
		return
	}
	ta := a.thread(t.TID)
	for len(ta.perf) <= idx {
		ta.perf = append(ta.perf, 0)
	}
	ta.perf[idx] += d
}

func (a *acc) Lost(n uint64, packets bool, at int64) {
	if !a.in(at) {
		return
	}
	if packets {
		a.lostPackets += n
	} else {
		a.lost += n
	}
}

// figures builds the window's figures from what was accumulated and the
// machine state at the window end.
func (a *acc) figures(m *state.Machine) *Figures {
	f := &Figures{
		Begin: a.begin, End: a.end, NumCPU: m.NumCPU(),
		PerfNames: append([]string(nil), m.PerfNames()...),
		Born:      a.born, Died: a.died, Opened: a.opened, Closed: a.closed,
		Read: a.read, Written: a.wrote, Lost: a.lost, LostPackets: a.lostPackets,
		Events: m.Events() - a.events0,
	}
	f.FDs = m.OpenFDs()
	for i, c := range m.CPUs() {
		cf := a.cpu(state.CPU(i))
		if cf != nil && c != nil {
			cf.Online = c.Online && m.OnlineIn(c.ID, a.begin, a.end)
		}
	}
	if len(a.cpus) > f.NumCPU {
		f.NumCPU = len(a.cpus)
	}
	for _, c := range a.cpus {
		if c.Online {
			f.OnlineCPUs++
		}
	}
	f.CPUs = append(f.CPUs, a.cpus...)

	threads := m.Threads()
	procs := make(map[state.PID]*ProcessFigures, len(threads)/2)
	merge := make(map[state.PID]*threadsMerge)
	if len(threads) > 0 {
		f.Threads = make([]ThreadFigures, 0, len(threads)) // nil when none (JSON null)
	}
	proc := func(pid state.PID) *ProcessFigures {
		pf := procs[pid]
		if pf == nil {
			pf = &ProcessFigures{PID: pid}
			if p := m.Process(pid); p != nil {
				pf.PPID, pf.VPID, pf.Comm, pf.Path = p.PPID, p.VPID, p.Comm, p.Path
				pf.Container = m.Container(pid)
				pf.Born = p.Born >= a.begin && p.Born < a.end && p.Born != 0
				pf.Died = p.Died >= a.begin && p.Died < a.end && p.Died != 0
			}
			procs[pid] = pf
		}
		return pf
	}
	for _, t := range threads {
		alive := t.Status != state.StatusDead && t.Status != state.StatusZombie
		ta := a.threads[t.TID]
		if ta == nil && !alive {
			if t.Status == state.StatusDead && a.in(t.Since) {
				f.Reaped = append(f.Reaped, t.TID)
			}
			continue
		}
		if alive {
			f.Running++
		}
		tf := ThreadFigures{TID: t.TID, PID: t.PID, VTID: t.VTID, VPID: t.VPID, Comm: t.Comm,
			Status: t.Status, Reason: t.Reason, CPU: t.CPU, Prio: t.Prio}
		pid := t.PID
		if pid == 0 {
			pid = state.PID(t.TID)
		}
		if p := m.Process(pid); p != nil {
			tf.PPID = p.PPID
			tf.Container = m.Container(pid)
		}
		pf := proc(pid)
		if pf.Comm == "" {
			pf.Comm = t.Comm
		}
		pf.Threads++
		// The current wait, since t.Since, counts too.
		switch t.Status {
		case state.StatusRunnable:
			tf.Runnable = a.clip(t.Since, a.end)
		case state.StatusBlocked:
			tf.Blocked = a.clip(t.Since, a.end)
		}
		if ta != nil {
			tf.Runnable += ta.runnable
			tf.Blocked += ta.blk
			tf.CPUTime, tf.Switches, tf.Migrations = ta.cpu, ta.switches, ta.migrations
			tf.Born, tf.Died, tf.Read, tf.Written = ta.born, ta.died, ta.read, ta.wrote
			tf.Perf = ta.perf
			pf.CPUTime += ta.cpu
			pf.Read += ta.read
			pf.Written += ta.wrote
			pf.BlockRead += ta.bread
			pf.BlockWrite += ta.bwrite
			pf.Opened += ta.opened
			pf.Closed += ta.closed
			pf.SyscallsN += ta.nsys
			pf.SyscallErrs += ta.nerr
			if len(ta.syscalls) > 0 || ta.hasFiles() {
				pm := merge[pid]
				if pm == nil {
					pm = &threadsMerge{}
					merge[pid] = pm
				}
				pm.add(ta)
			}
		}
		f.Threads = append(f.Threads, tf)
	}
	slices.Sort(f.Reaped)
	for pid, pm := range merge {
		pm.figures(proc(pid))
	}
	if len(procs) > 0 {
		f.Processes = make([]ProcessFigures, 0, len(procs))
	}
	for _, pf := range procs {
		f.Processes = append(f.Processes, *pf)
	}
	f.Threads = sortThreads(f.Threads)
	f.Processes = sortProcesses(f.Processes)
	// Containers: every non-initial namespace, with the CPU time of its
	// processes, summed up the namespace tree.
	cont := make(map[uint64]*ContainerFigures)
	for _, n := range m.Namespaces() {
		if n.Level == 0 {
			continue
		}
		cont[n.Inode] = &ContainerFigures{Inode: n.Inode, Parent: n.Parent, Level: n.Level, Init: n.Init}
	}
	addProcesses(cont, f.Processes)
	for _, c := range cont {
		c.TotalCPUTime += c.CPUTime
		seen := 0
		for p := cont[c.Parent]; p != nil && seen < 64; p = cont[p.Parent] {
			p.TotalCPUTime += c.CPUTime
			seen++
		}
	}
	for _, c := range cont {
		if c.Parent != 0 && cont[c.Parent] == nil {
			c.Parent = 0
		}
		f.Containers = append(f.Containers, *c)
	}
	sort.Slice(f.Containers, func(i, j int) bool {
		a, b := &f.Containers[i], &f.Containers[j]
		if a.TotalCPUTime != b.TotalCPUTime {
			return a.TotalCPUTime > b.TotalCPUTime
		}
		return a.Inode < b.Inode
	})
	for _, d := range a.disks {
		f.Disks = append(f.Disks, *d)
	}
	sort.Slice(f.Disks, func(i, j int) bool { return f.Disks[i].Dev < f.Disks[j].Dev })
	f.VMs = vmsOf(f.Threads, f.Processes)
	return f
}

// threadsMerge gathers the syscalls and files of the threads of one process.
// Most processes have one thread with any: its figures are copied once,
// and maps merge them only from the second thread on.
type threadsMerge struct {
	sys, file *threadAcc // the only thread with syscalls (files) so far
	sysM      map[string]*SyscallFigures
	fileM     map[fileKey]*FileFigures
}

func (pm *threadsMerge) add(ta *threadAcc) {
	if len(ta.syscalls) > 0 {
		switch {
		case pm.sys == nil && pm.sysM == nil:
			pm.sys = ta
		default:
			if pm.sysM == nil {
				pm.sysM = make(map[string]*SyscallFigures)
				mergeSyscalls(pm.sysM, pm.sys)
				pm.sys = nil
			}
			mergeSyscalls(pm.sysM, ta)
		}
	}
	if ta.hasFiles() {
		switch {
		case pm.file == nil && pm.fileM == nil:
			pm.file = ta
		default:
			if pm.fileM == nil {
				pm.fileM = make(map[fileKey]*FileFigures)
				mergeFiles(pm.fileM, pm.file)
				pm.file = nil
			}
			mergeFiles(pm.fileM, ta)
		}
	}
}

func mergeSyscalls(m map[string]*SyscallFigures, ta *threadAcc) {
	for i := range ta.syscalls {
		s := &ta.syscalls[i]
		x := m[s.Name]
		if x == nil {
			c := *s
			m[s.Name] = &c
			continue
		}
		x.Count += s.Count
		x.Errors += s.Errors
		x.Total += s.Total
		if s.Min >= 0 && (x.Min < 0 || s.Min < x.Min) {
			x.Min = s.Min
		}
		x.Max = max(x.Max, s.Max)
	}
}

func mergeFiles(m map[fileKey]*FileFigures, ta *threadAcc) {
	add := func(ff *FileFigures) {
		k := fileKey{fd: ff.FD, name: ff.Name}
		x := m[k]
		if x == nil {
			c := *ff
			m[k] = &c
			return
		}
		x.Read += ff.Read
		x.Written += ff.Written
	}
	ta.eachFile(add)
}

// figures sets the process's sorted syscalls and files.
func (pm *threadsMerge) figures(pf *ProcessFigures) {
	switch {
	case pm.sys != nil:
		pf.Syscalls = append([]SyscallFigures(nil), pm.sys.syscalls...)
	case pm.sysM != nil:
		pf.Syscalls = make([]SyscallFigures, 0, len(pm.sysM))
		for _, s := range pm.sysM {
			pf.Syscalls = append(pf.Syscalls, *s)
		}
	}
	for i := range pf.Syscalls {
		if pf.Syscalls[i].Min < 0 {
			pf.Syscalls[i].Min = 0
		}
	}
	// Names are unique: the order is total, whatever the sort.
	slices.SortFunc(pf.Syscalls, func(a, b SyscallFigures) int {
		if a.Count != b.Count {
			return cmp.Compare(b.Count, a.Count)
		}
		return strings.Compare(a.Name, b.Name)
	})
	switch {
	case pm.file != nil:
		// A thread's (fd, name) pairs are unique.
		pf.Files = make([]FileFigures, 0, 1+len(pm.file.files)+len(pm.file.oldFiles))
		pm.file.eachFile(func(ff *FileFigures) { pf.Files = append(pf.Files, *ff) })
	case pm.fileM != nil:
		pf.Files = make([]FileFigures, 0, len(pm.fileM))
		for _, ff := range pm.fileM {
			pf.Files = append(pf.Files, *ff)
		}
	}
	pf.Files = sortedFiles(pf.Files)
}

// sortedFiles orders files by decreasing bytes, then fd, then name. (fd,
// name) is unique: the order is total, whatever the sort. It sorts small
// keys and moves each (large) element once: a process can have thousands
// of files with the same bytes and fd.
func sortedFiles(fs []FileFigures) []FileFigures {
	if len(fs) < 2 {
		return fs
	}
	type key struct {
		bytes uint64
		fd    int32
		i     int32
	}
	keys := make([]key, len(fs))
	for i := range fs {
		keys[i] = key{fs[i].Read + fs[i].Written, fs[i].FD, int32(i)}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.bytes != b.bytes {
			return cmp.Compare(b.bytes, a.bytes)
		}
		if a.fd != b.fd {
			return cmp.Compare(a.fd, b.fd)
		}
		return strings.Compare(fs[a.i].Name, fs[b.i].Name)
	})
	out := make([]FileFigures, len(fs))
	for k, x := range keys {
		out[k] = fs[x.i]
	}
	return out
}

package analysis

import (
	"cmp"
	"slices"
	"sort"

	"github.com/tracetop/tracetop/internal/state"
)

// Merge returns the figures of the window made of consecutive windows
// (parts[i].End == parts[i+1].Begin), as if it had been accumulated in
// one pass: sums of the additive figures (CPU time, switches, bytes,
// syscalls, perf deltas, births and deaths, lost events), the state at
// the end (thread states, Running, FDs) from the last part. A thread is
// listed when it is alive at the end (the last part lists it) or did
// something in one of the parts, as a window accumulated in one pass
// lists it.
// The parts are not changed; one part is returned as it is.
func Merge(parts []*Figures) *Figures {
	switch len(parts) {
	case 0:
		return nil
	case 1:
		return parts[0]
	}
	last := parts[len(parts)-1]
	f := &Figures{
		Begin: parts[0].Begin, End: last.End, Clipped: last.Clipped,
		PerfNames: last.PerfNames,
		Running:   last.Running, FDs: last.FDs,
	}
	threads := make(map[state.TID]int, len(last.Threads))
	seenIn := make(map[state.TID]int, len(last.Threads)) // the part a thread's state comes from
	procs := make(map[state.PID]*procMerge, len(last.Processes))
	conts := make(map[uint64]*ContainerFigures)
	disks := make(map[uint32]int)
	var waits map[state.TID][2]int64 // of threads idle in a part
	for pi, p := range parts {
		isLast := pi == len(parts)-1
		f.NumCPU = max(f.NumCPU, p.NumCPU)
		f.Born += p.Born
		f.Died += p.Died
		f.Opened += p.Opened
		f.Closed += p.Closed
		f.Read += p.Read
		f.Written += p.Written
		f.Lost += p.Lost
		f.LostPackets += p.LostPackets
		f.Events += p.Events
		for _, c := range p.CPUs {
			for int(c.CPU) >= len(f.CPUs) {
				f.CPUs = append(f.CPUs, CPUFigures{CPU: state.CPU(len(f.CPUs))})
			}
			x := &f.CPUs[c.CPU]
			x.Busy += c.Busy
			x.Idle += c.Idle
			x.Switches += c.Switches
			x.Online = x.Online || c.Online
		}
		for i := range p.Threads {
			t := &p.Threads[i]
			if !isLast && !t.active() {
				// alive and idle in this part: listed by a later part if
				// still alive, with its waits in this part
				if t.Runnable != 0 || t.Blocked != 0 {
					if waits == nil {
						waits = make(map[state.TID][2]int64)
					}
					w := waits[t.TID]
					waits[t.TID] = [2]int64{w[0] + t.Runnable, w[1] + t.Blocked}
				}
				continue
			}
			seenIn[t.TID] = pi
			j, ok := threads[t.TID]
			if !ok {
				threads[t.TID] = len(f.Threads)
				c := *t
				c.Perf = append([]uint64(nil), t.Perf...)
				f.Threads = append(f.Threads, c)
				continue
			}
			x := &f.Threads[j]
			x.PID, x.PPID, x.VTID, x.VPID, x.Comm, x.Container = t.PID, t.PPID, t.VTID, t.VPID, t.Comm, t.Container
			x.Status, x.Reason, x.CPU, x.Prio = t.Status, t.Reason, t.CPU, t.Prio
			x.CPUTime += t.CPUTime
			x.Runnable += t.Runnable
			x.Blocked += t.Blocked
			x.Switches += t.Switches
			x.Migrations += t.Migrations
			x.Born = x.Born || t.Born
			x.Died = x.Died || t.Died
			x.Read += t.Read
			x.Written += t.Written
			for len(x.Perf) < len(t.Perf) {
				x.Perf = append(x.Perf, 0)
			}
			for k, v := range t.Perf {
				x.Perf[k] += v
			}
		}
		for i := range p.Processes {
			pp := &p.Processes[i]
			m := procs[pp.PID]
			if m == nil {
				m = &procMerge{ProcessFigures: ProcessFigures{PID: pp.PID}}
				procs[pp.PID] = m
			}
			m.add(pp)
		}
		for _, c := range p.Containers {
			x := conts[c.Inode]
			if x == nil {
				x = &ContainerFigures{}
				conts[c.Inode] = x
			}
			*x = ContainerFigures{Inode: c.Inode, Parent: c.Parent, Level: c.Level, Init: c.Init}
		}
		for _, d := range p.Disks {
			j, ok := disks[d.Dev]
			if !ok {
				disks[d.Dev] = len(f.Disks)
				f.Disks = append(f.Disks, d)
				continue
			}
			f.Disks[j].Read += d.Read
			f.Disks[j].Writes += d.Writes
		}
	}
	// A thread that exited in a part and was reaped in a later one in
	// which it did nothing else is dead at the end.
	for pi, p := range parts {
		for _, tid := range p.Reaped {
			j, ok := threads[tid]
			if !ok {
				f.Reaped = append(f.Reaped, tid)
				continue
			}
			if seenIn[tid] < pi {
				f.Threads[j].Status = state.StatusDead
			}
		}
	}
	sort.Slice(f.Reaped, func(i, j int) bool { return f.Reaped[i] < f.Reaped[j] })
	for tid, w := range waits {
		if j, ok := threads[tid]; ok {
			f.Threads[j].Runnable += w[0]
			f.Threads[j].Blocked += w[1]
		}
	}
	for _, c := range f.CPUs {
		if c.Online {
			f.OnlineCPUs++
		}
	}
	// The processes listed are those of the threads listed.
	nthreads := make(map[state.PID]int, len(procs))
	for i := range f.Threads {
		t := &f.Threads[i]
		pid := t.PID
		if pid == 0 {
			pid = state.PID(t.TID)
		}
		nthreads[pid]++
	}
	for pid, n := range nthreads {
		m := procs[pid]
		if m == nil {
			continue
		}
		pf := m.finish()
		pf.Threads = n
		f.Processes = append(f.Processes, pf)
	}
	f.Threads = sortThreads(f.Threads)
	f.Processes = sortProcesses(f.Processes)
	addProcesses(conts, f.Processes)
	f.Containers = containerList(conts)
	sort.Slice(f.Disks, func(i, j int) bool { return f.Disks[i].Dev < f.Disks[j].Dev })
	f.VMs = vmsOf(f.Threads, f.Processes)
	return f
}

// active says the thread did something in the window (a thread that did
// nothing is listed only while alive at the window's end).
func (t *ThreadFigures) active() bool {
	if t.CPUTime != 0 || t.Switches != 0 || t.Migrations != 0 || t.Born || t.Died || t.Read != 0 || t.Written != 0 {
		return true
	}
	if t.Status == state.StatusDead || t.Status == state.StatusZombie {
		return true // listed though dead: it did something
	}
	for _, v := range t.Perf {
		if v != 0 {
			return true
		}
	}
	return false
}

// procMerge sums one process over several windows.
type procMerge struct {
	ProcessFigures
	sys   map[string]*SyscallFigures
	files map[fileKey]*FileFigures
}

func (m *procMerge) add(p *ProcessFigures) {
	x := &m.ProcessFigures
	x.PPID, x.VPID, x.Comm, x.Path, x.Container = p.PPID, p.VPID, p.Comm, p.Path, p.Container
	x.Born = x.Born || p.Born
	x.Died = x.Died || p.Died
	x.CPUTime += p.CPUTime
	x.Read += p.Read
	x.Written += p.Written
	x.BlockRead += p.BlockRead
	x.BlockWrite += p.BlockWrite
	x.Opened += p.Opened
	x.Closed += p.Closed
	x.SyscallsN += p.SyscallsN
	x.SyscallErrs += p.SyscallErrs
	for _, s := range p.Syscalls {
		if m.sys == nil {
			m.sys = make(map[string]*SyscallFigures)
		}
		y := m.sys[s.Name]
		if y == nil {
			c := s
			m.sys[s.Name] = &c
			continue
		}
		y.Count += s.Count
		y.Errors += s.Errors
		y.Total += s.Total
		// Min and Max are 0 in a window whose calls all had no known
		// entry (they began before the trace): those do not count.
		switch {
		case s.Min == 0 && s.Max == 0:
		case y.Min == 0 && y.Max == 0:
			y.Min = s.Min
		default:
			y.Min = min(y.Min, s.Min)
		}
		y.Max = max(y.Max, s.Max)
	}
	for _, fl := range p.Files {
		if m.files == nil {
			m.files = make(map[fileKey]*FileFigures)
		}
		k := fileKey{fd: fl.FD, name: fl.Name}
		y := m.files[k]
		if y == nil {
			c := fl
			m.files[k] = &c
			continue
		}
		y.Kind = fl.Kind
		y.Read += fl.Read
		y.Written += fl.Written
	}
}

func (m *procMerge) finish() ProcessFigures {
	pf := m.ProcessFigures
	pf.Syscalls, pf.Files = nil, nil
	for _, s := range m.sys {
		pf.Syscalls = append(pf.Syscalls, *s)
	}
	sortSyscalls(pf.Syscalls)
	for _, fl := range m.files {
		pf.Files = append(pf.Files, *fl)
	}
	sortFiles(pf.Files)
	return pf
}

func sortSyscalls(s []SyscallFigures) {
	sort.Slice(s, func(i, j int) bool {
		a, b := s[i], s[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Name < b.Name
	})
}

func sortFiles(f []FileFigures) { copy(f, sortedFiles(f)) }

// containerList sums the CPU time of nested containers up the tree and
// lists the containers by decreasing total.
func containerList(cont map[uint64]*ContainerFigures) []ContainerFigures {
	for _, c := range cont {
		c.TotalCPUTime += c.CPUTime
		seen := 0
		for p := cont[c.Parent]; p != nil && seen < 64; p = cont[p.Parent] {
			p.TotalCPUTime += c.CPUTime
			seen++
		}
	}
	var out []ContainerFigures
	for _, c := range cont {
		if c.Parent != 0 && cont[c.Parent] == nil {
			c.Parent = 0
		}
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.TotalCPUTime != b.TotalCPUTime {
			return a.TotalCPUTime > b.TotalCPUTime
		}
		return a.Inode < b.Inode
	})
	return out
}

// sortThreads orders threads by decreasing CPU time, then tid. It sorts
// indexes and moves each (large) element once.
func sortThreads(ts []ThreadFigures) []ThreadFigures {
	// The keys sorted are small and contiguous (tids are unique: the
	// order is total).
	type key struct {
		cpu int64
		tid state.TID
		i   int32
	}
	keys := make([]key, len(ts))
	for i := range ts {
		keys[i] = key{ts[i].CPUTime, ts[i].TID, int32(i)}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.cpu != b.cpu {
			return cmp.Compare(b.cpu, a.cpu)
		}
		return cmp.Compare(a.tid, b.tid)
	})
	out := make([]ThreadFigures, len(ts))
	for k, x := range keys {
		out[k] = ts[x.i]
	}
	return out
}

// sortProcesses orders processes by decreasing CPU time, then pid.
func sortProcesses(ps []ProcessFigures) []ProcessFigures {
	idx := make([]int32, len(ps))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(i, j int32) int {
		a, b := &ps[i], &ps[j]
		if a.CPUTime != b.CPUTime {
			return cmp.Compare(b.CPUTime, a.CPUTime)
		}
		return cmp.Compare(a.PID, b.PID)
	})
	return permute(ps, idx)
}

// permute returns s[idx[0]], s[idx[1]], ...
func permute[T any](s []T, idx []int32) []T {
	out := make([]T, len(s))
	for k, i := range idx {
		out[k] = s[i]
	}
	return out
}

// addProcesses counts each process of a container (a pid namespace) and
// its CPU time in the container's figures, adding the containers not in
// conts yet.
func addProcesses(conts map[uint64]*ContainerFigures, procs []ProcessFigures) {
	for i := range procs {
		pf := &procs[i]
		if pf.Container == 0 {
			continue
		}
		c := conts[pf.Container]
		if c == nil {
			c = &ContainerFigures{Inode: pf.Container}
			conts[pf.Container] = c
		}
		c.CPUTime += pf.CPUTime
		c.Processes++
	}
}

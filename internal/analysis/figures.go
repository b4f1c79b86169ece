package analysis

import "github.com/tracetop/tracetop/internal/state"

// Figures are the exact figures of the window [Begin, End[ (ns from the
// clock origin). Slices are sorted by decreasing CPU time (CPUs by
// number). Durations are in ns.
type Figures struct {
	Begin, End int64
	// NumCPU is the number of CPUs of the machine: its per-CPU streams,
	// its statedump's CPU topology and the CPUs events were seen on.
	NumCPU int
	// OnlineCPUs is the number of CPUs online during some of the window
	// (a CPU whose stream starts late or ends early was offline before or
	// after: hotplug); MachineShare divides by it.
	OnlineCPUs int
	// Clipped says the window was asked to end after the trace's last
	// event: End is that event's time.
	Clipped bool `json:",omitempty"`

	CPUs       []CPUFigures
	Threads    []ThreadFigures
	Processes  []ProcessFigures
	Containers []ContainerFigures
	Disks      []DiskFigures // block_rq_* events, empty without them

	// PerfNames names the perf counters of ThreadFigures.Perf.
	PerfNames []string

	// Header counts.
	Running int // threads known alive at End
	Born    int // threads born in the window
	Died    int // threads that exited in the window
	Opened  int // file descriptors opened in the window
	Closed  int // file descriptors closed in the window
	// FDs is the number of file descriptors open at End in processes
	// alive at End.
	FDs     int
	Read    uint64
	Written uint64
	// Lost is the number of events the tracer discarded in the window,
	// LostPackets the number of packets lost.
	Lost        uint64
	LostPackets uint64
	Events      uint64 // messages applied in the window
	// Reaped lists the threads reaped in the window (sched_process_free)
	// that are not in Threads: they did nothing else in it.
	Reaped []state.TID `json:",omitempty"`
	// VMs are the virtual machines seen in the window (VMM processes with
	// vCPU threads), by decreasing CPU time; none on most hosts.
	VMs []VMFigures `json:",omitempty"`
}

// Duration is End - Begin in ns.
func (f *Figures) Duration() int64 { return f.End - f.Begin }

// CoreShare is ns as a percentage of one core over the window (100 = one
// core busy the whole window; lttng-cputop's per-TID figure).
func (f *Figures) CoreShare(ns int64) float64 {
	d := f.Duration()
	if d <= 0 {
		return 0
	}
	return float64(ns) * 100 / float64(d)
}

// MachineShare is ns as a percentage of all CPUs over the window.
func (f *Figures) MachineShare(ns int64) float64 {
	n := f.OnlineCPUs
	if n <= 0 {
		n = f.NumCPU
	}
	if n <= 0 {
		return f.CoreShare(ns)
	}
	return f.CoreShare(ns) / float64(n)
}

// CPUFigures is one CPU over the window.
type CPUFigures struct {
	CPU      state.CPU
	Busy     int64 // ns running tasks other than idle
	Idle     int64
	Switches uint64
	Online   bool
}

// ThreadFigures is one thread over the window.
type ThreadFigures struct {
	TID        state.TID
	PID        state.PID
	PPID       state.PID
	VTID       state.TID
	VPID       state.PID
	Comm       string
	Container  uint64 // pid namespace inode, 0 for the host
	CPUTime    int64  // ns
	Switches   uint64 // switched in
	Migrations uint64
	Status     state.Status // at End
	Reason     string
	CPU        state.CPU // last CPU at End
	Prio       int32
	Born, Died bool // inside the window
	// Read and Written are the bytes its read-like and write-like
	// syscalls returned in the window.
	Read, Written uint64
	// Perf holds the counter deltas in the window, indexed like
	// Figures.PerfNames.
	Perf []uint64
	// Runnable and Blocked are the ns it spent waiting for a CPU
	// (preempted, or woken and not yet running) and sleeping. Not in the
	// JSON output: VMFigures shows them for vCPU threads.
	Runnable, Blocked int64 `json:"-"`
}

// ProcessFigures is one process over the window.
type ProcessFigures struct {
	PID         state.PID
	PPID        state.PID
	VPID        state.PID
	Comm        string
	Path        string
	Container   uint64
	CPUTime     int64 // ns, sum over its threads
	Threads     int   // threads known at End (alive or died in the window)
	Born, Died  bool
	Read        uint64 // bytes through read-like syscalls
	Written     uint64 // bytes through write-like syscalls
	BlockRead   uint64 // bytes the block layer read for it
	BlockWrite  uint64
	Opened      int // fds opened in the window
	Closed      int
	Syscalls    []SyscallFigures // sorted by count, decreasing
	Files       []FileFigures    // files with I/O in the window, by bytes
	SyscallsN   uint64           // total syscalls
	SyscallErrs uint64           // total errors (negative returns)
}

// SyscallFigures are the calls of one syscall by one process in the
// window (those that returned inside it).
type SyscallFigures struct {
	Name     string
	Count    uint64
	Errors   uint64 // returned a negative value
	Total    int64  // ns spent inside (entry to exit), summed
	Min, Max int64
}

// FileFigures is the I/O through one file descriptor in the window.
type FileFigures struct {
	FD      int32
	Name    string
	Kind    state.FileKind
	Read    uint64
	Written uint64
}

// ContainerFigures is one pid namespace other than the host's.
type ContainerFigures struct {
	Inode   uint64
	Parent  uint64 // parent namespace inode, 0 for the host
	Level   int
	Init    state.PID
	CPUTime int64 // ns, its own processes only
	// TotalCPUTime adds the processes of its nested containers.
	TotalCPUTime int64
	Processes    int
}

// DiskFigures is one block device in the window.
type DiskFigures struct {
	Dev          uint32
	Read, Writes uint64 // bytes
}

// Details describes one process at a time T (the end of a window), with
// its I/O over the window.
type Details struct {
	At       int64
	Process  state.Process // a copy; Files is a copy too
	Threads  []state.Thread
	Children []state.Process
	// Files are the open descriptors at At with their bytes in the
	// window (FileFigures by fd) and since open (File.Read/Written).
	Files   []OpenFile
	Figures ProcessFigures // the window's figures of this process
	// ThreadFigures are the window's figures of its threads.
	ThreadFigures []ThreadFigures
}

// OpenFile is an open descriptor of a process at Details.At.
type OpenFile struct {
	state.File
	// WindowRead and WindowWritten are the bytes moved in the window.
	WindowRead, WindowWritten uint64
}

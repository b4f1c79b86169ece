package tui

import "time"

// Source gives the figures of any interval of one trace, recorded or live.
// The top calls it from one goroutine at a time (it serialises the calls),
// never from its rendering path.
type Source interface {
	// Span returns the time of the first event and of the newest event
	// analysed so far, in nanoseconds from the clock's origin (the Unix
	// epoch for LTTng traces); ok is false until the first event. The
	// newest time grows while a live session runs, or while a recorded
	// trace is still being indexed.
	Span() (first, last int64, ok bool)
	// Frame computes the figures of the interval [t1, t2[ from the events
	// (not by resampling other intervals).
	Frame(t1, t2 int64) (*Frame, error)
	// Details returns the thread tid as it is at t2, with its figures over
	// [t1, t2[ and the files it has open at t2; nil when unknown.
	Details(tid TID, t1, t2 int64) (*Details, error)
	// Status says whether the source is live and how far behind it is.
	Status() Status
	Close() error
}

// TID and PID are kernel thread and process ids (the tid of the group
// leader); VTID and VPID are the same seen from the thread's pid namespace.
type (
	TID  int32
	PID  int32
	VTID int32
	VPID int32
)

// Status is what the header shows about the source itself.
type Status struct {
	// Live is true for a session being recorded (local or from a relay):
	// the top follows its newest events; false for a recorded trace, which
	// is replayed at the pace it happened.
	Live bool
	// Behind is true while the reader is catching up with the producer
	// (a live session read from its start, or a slow analysis).
	Behind bool
	// Done is true once a live session ended or a recorded trace was
	// read to its end (Span's last time is final).
	Done bool
	// Lost counts the events the tracer discarded and the events of lost
	// packets, so far.
	Lost uint64
	// Lag is how far the relay is behind real time (live from a relay).
	Lag time.Duration
	// Err is a fatal error of the source (shown, the screen stays usable).
	Err error
	// Step, for a live source, is the step its newest interval moves by:
	// intervals that end on multiples of Step from the first event are
	// answered from memory (0: the interval itself).
	Step time.Duration
}

// Frame is the figures of one interval [Start, End[.
type Frame struct {
	Start, End int64
	// CPUs is the number of CPUs of the traced machine.
	CPUs int
	// Threads alive during the interval, born in it and dead in it.
	Threads, NewThreads, DeadThreads int
	// FDs open at the end of the interval, opened and closed in it.
	FDs, OpenedFDs, ClosedFDs int
	// ReadBytes and WriteBytes transferred by all threads in the interval.
	ReadBytes, WriteBytes uint64
	// PerfNames are the perf counters found in the trace (perf_thread_*
	// and perf_cpu_* contexts), in the order of Task.Perf.
	PerfNames []string
	// Tasks holds every thread that existed during the interval,
	// including those born or dead in it.
	Tasks []Task
	// Files holds the I/O per file and socket in the interval.
	Files []FileIO
	// ContainerParent maps a container to the container it is nested in.
	ContainerParent map[string]string
	// VMs are the virtual machines seen in the interval, busiest first.
	VMs []VM
}

// VM is a virtual machine in an interval: a VMM process (QEMU) with
// threads named as vCPUs ("CPU 0/TCG", "CPU 1/KVM").
type VM struct {
	PID  PID
	Name string // the process name
	// CPU is the time on CPU of all its threads, Guest that of its vCPU
	// threads (ns); the difference is the VMM's overhead.
	CPU, Guest int64
	VCPUs      []VCPU // by index
}

// VCPU is one vCPU thread of a VM in an interval; times in ns.
type VCPU struct {
	Index int
	TID   TID
	// OnCPU: running; Preempted: runnable but not running (steal for the
	// guest); Blocked: sleeping (an idle vCPU).
	OnCPU, Preempted, Blocked int64
	HostCPU                   int // host CPU it last ran on
}

// Steal is the VM's vCPUs' preempted time over the interval times its
// vCPUs, in % (the guest's /proc/stat steal).
func (f *Frame) Steal(v *VM) float64 {
	d := f.End - f.Start
	if d <= 0 || len(v.VCPUs) == 0 {
		return 0
	}
	var pre int64
	for i := range v.VCPUs {
		pre += v.VCPUs[i].Preempted
	}
	return float64(pre) * 100 / float64(d) / float64(len(v.VCPUs))
}

// Task is one thread's figures in an interval.
type Task struct {
	TID  TID
	PID  PID
	PPID PID
	VTID VTID
	VPID VPID
	Name string
	// Container is the id of the container (pid namespace or cgroup)
	// the thread runs in, "" for the host.
	Container string
	// State is the thread's state at the end of the interval, ps-style:
	// R running, W waiting for a CPU, S sleeping, D uninterruptible,
	// Z dead.
	State byte
	// CPU is the time on CPU in the interval, in nanoseconds.
	CPU int64
	// Switches counts the context switches into the thread.
	Switches uint64
	// Born and Dead say that the thread was created or exited in the
	// interval.
	Born, Dead bool
	// Perf holds the counter deltas, indexed like Frame.PerfNames.
	Perf []int64
	// Read and Write are bytes transferred by the thread in the interval.
	Read, Write uint64
}

// FileIO is the I/O on one file or socket of one process in an interval.
type FileIO struct {
	PID    PID
	FD     int32
	Name   string
	Socket bool
	Read   uint64
	Write  uint64
}

// OpenFile is one file descriptor open at some time, with the bytes
// transferred through it during the interval shown.
type OpenFile struct {
	FD     int32
	Name   string
	Socket bool
	Read   uint64
	Write  uint64
}

// Details is a thread as it is at time At, with its process.
type Details struct {
	At   int64
	Task Task
	// ParentName is the name of the parent process ("" if unknown).
	ParentName string
	// Children are the processes whose parent is this thread's process.
	Children []Task
	// Threads are the threads of this thread's process.
	Threads []Task
	// Files are the files the process has open at At.
	Files []OpenFile
}

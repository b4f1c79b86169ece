package state

import "fmt"

// TID is a thread id as the kernel of the traced machine sees it (the
// initial pid namespace).
type TID int32

// PID is a process (thread group) id in the initial pid namespace.
type PID int32

// CPU is a CPU number; NoCPU when unknown.
type CPU int32

// NoCPU is the CPU of a thread never seen running.
const NoCPU CPU = -1

// NoTID is the current thread of a CPU before its first sched_switch.
const NoTID TID = -1

// Status is what a thread is doing.
type Status uint8

const (
	// StatusUnknown: the thread was named by an event but its state was
	// never seen.
	StatusUnknown Status = iota
	// StatusRunning: the thread is current on Thread.CPU.
	StatusRunning
	// StatusRunnable: preempted or woken up, waiting for a CPU.
	StatusRunnable
	// StatusBlocked: sleeping; Thread.Reason says on what when known.
	StatusBlocked
	// StatusZombie: exited, not yet reaped (sched_process_free not seen).
	StatusZombie
	// StatusDead: reaped; kept until the end of the window that saw it die.
	StatusDead
)

var statusNames = [...]string{"unknown", "running", "runnable", "blocked", "zombie", "dead"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "status?"
}

// Letter is the one-letter state that ps and top show (R, S, D, Z, X, ?).
func (s Status) Letter() byte { return "?RRSZX"[min(int(s), 5)] }

// Syscall is a system call in progress (or just finished, when passed to
// an Observer).
type Syscall struct {
	// Name is the syscall name without prefix ("read", "openat"); "" when
	// the thread is not in a syscall.
	Name  string
	Entry int64 // ns, entry time; 0 when the entry was not seen
	// FD is the file descriptor argument of fd-based calls, -1 otherwise.
	FD int32
	// Path is the file name argument of open-like calls.
	Path string
	// Flags holds the open flags, clone flags, fcntl command or dup3 flags.
	Flags uint64
	// Arg is a second integer argument: fcntl's arg, dup2's new fd,
	// close_range's last fd, the count of read/write.
	Arg int64
}

// FileKind says what a file descriptor refers to.
type FileKind uint8

const (
	FileUnknown FileKind = iota
	FileRegular          // a path on a file system
	FileSocket
	FilePipe
	FileDevice // /dev/...
	FileAnon   // anon_inode:[eventfd], [eventpoll], ...
)

var fileKindNames = [...]string{"unknown", "file", "socket", "pipe", "device", "anon"}

func (k FileKind) String() string {
	if int(k) < len(fileKindNames) {
		return fileKindNames[k]
	}
	return "kind?"
}

// File is an open file descriptor of a process.
type File struct {
	FD   int32
	Name string // path, "socket:[...]" style name, or "" when unknown
	Kind FileKind
	// Opened is when it was opened (ns); 0 when it was open before the
	// trace began (statedump or first use).
	Opened  int64
	CloExec bool
	// Read and Written count the bytes moved through this descriptor
	// since it was opened, or since the trace began.
	Read, Written uint64
}

// Thread is one kernel task.
type Thread struct {
	TID  TID
	PID  PID // thread group; 0 when unknown
	Comm string
	// VTID and VPID are the ids in the thread's own pid namespace; 0 when
	// unknown. NS is that namespace's inode number (0 when unknown).
	VTID TID
	VPID PID
	NS   uint64
	Prio int32

	CPU    CPU // CPU it runs on or last ran on
	Status Status
	// Reason is why a blocked thread waits, when known: the syscall it
	// sleeps in ("read", "futex"), or "D" for an uninterruptible sleep.
	Reason string
	// Since is when Status last changed (ns).
	Since int64

	// Born and Died are the times of its fork/clone and exit (ns), 0 when
	// outside the trace.
	Born, Died int64

	Syscall Syscall // the syscall in progress, Name "" when none

	// Switches counts the times it was switched in since the trace began.
	Switches uint64
	// Perf holds the last value seen of each perf counter of
	// Machine.PerfNames (from perf_* event contexts), 0 when never seen.
	Perf []uint64
}

// Process is a thread group.
type Process struct {
	PID  PID
	PPID PID // 0 when unknown
	// VPID and VPPID are the ids in the process's pid namespace.
	VPID, VPPID PID
	NS          uint64 // pid namespace inode, 0 when unknown
	Comm        string // comm of the thread-group leader
	Path        string // file of its last exec, "" when not seen
	Born, Died  int64  // ns, 0 when outside the trace
	// Files is the fd table, shared by all its threads.
	Files map[int32]*File
}

// Namespace is a pid namespace. A process is in a container when its
// namespace is not the initial one.
type Namespace struct {
	Inode  uint64
	Parent uint64 // parent namespace inode, 0 for the initial namespace or when unknown
	Level  int    // 0 for the initial namespace
	// Init is the host pid of the namespace's first process (vpid 1), 0 when unknown.
	Init PID
}

// CPUState is one CPU of the machine.
type CPUState struct {
	ID      CPU
	Current TID   // NoTID before its first sched_switch; 0 is the idle task
	Since   int64 // when Current started running
	Online  bool
	// Idle and Busy are the cumulative ns spent in the idle task and in
	// other tasks since the trace began (time before the first switch is
	// counted once the first switch tells what ran).
	Idle, Busy int64
}

// IODir says whether bytes were read or written.
type IODir uint8

const (
	IORead IODir = iota
	IOWrite
)

// Observer is told what happens as events are applied. Times are ns from
// the clock origin. The *Thread, *Process and *File passed in belong to the
// Machine: read them during the call, do not keep them.
type Observer interface {
	// Ran: t ran on cpu during [from, to[ (t.TID 0 is the idle task).
	// Called when t is switched out, and by Machine.Flush for running tasks.
	Ran(t *Thread, cpu CPU, from, to int64)
	// Switched: next was switched in on cpu at time at.
	Switched(prev, next *Thread, cpu CPU, at int64)
	// Waited: t was in status s (StatusRunnable: preempted or woken,
	// waiting for a CPU; StatusBlocked: sleeping) during [from, to[.
	// Called when it leaves that status (switched in, woken up); the
	// current wait of a thread is t.Status since t.Since.
	Waited(t *Thread, s Status, from, to int64)
	// Migrated: t moved to CPU to.
	Migrated(t *Thread, from, to CPU, at int64)
	// SyscallDone: t returned ret from s at time at.
	SyscallDone(t *Thread, s *Syscall, ret int64, at int64)
	// IO: t moved n bytes through file f (nil when the fd is unknown).
	IO(t *Thread, fd int32, f *File, dir IODir, n uint64, at int64)
	// Opened and Closed: process p opened or closed f.
	Opened(t *Thread, p *Process, f *File, at int64)
	Closed(t *Thread, p *Process, f *File, at int64)
	// Born: t was created; Exited: t exited (sched_process_exit).
	Born(t *Thread, parent *Thread, at int64)
	Exited(t *Thread, at int64)
	// Exec: process p executed path.
	Exec(t *Thread, p *Process, at int64)
	// Block: the block layer moved n bytes for t (nil when unknown) on
	// device dev.
	Block(t *Thread, dev uint32, dir IODir, n uint64, at int64)
	// PerfDelta: counter idx of Machine.PerfNames advanced by d for t.
	PerfDelta(t *Thread, idx int, d uint64, at int64)
	// Lost: n events were discarded or packets lost (packets true) in a stream.
	Lost(n uint64, packets bool, at int64)
}

// NopObserver ignores everything; embed it to implement part of Observer.
type NopObserver struct{}

func (NopObserver) Ran(*Thread, CPU, int64, int64)                 {}
func (NopObserver) Switched(*Thread, *Thread, CPU, int64)          {}
func (NopObserver) Waited(*Thread, Status, int64, int64)           {}
func (NopObserver) Migrated(*Thread, CPU, CPU, int64)              {}
func (NopObserver) SyscallDone(*Thread, *Syscall, int64, int64)    {}
func (NopObserver) IO(*Thread, int32, *File, IODir, uint64, int64) {}
func (NopObserver) Opened(*Thread, *Process, *File, int64)         {}
func (NopObserver) Closed(*Thread, *Process, *File, int64)         {}
func (NopObserver) Born(*Thread, *Thread, int64)                   {}
func (NopObserver) Exited(*Thread, int64)                          {}
func (NopObserver) Exec(*Thread, *Process, int64)                  {}
func (NopObserver) Block(*Thread, uint32, IODir, uint64, int64)    {}
func (NopObserver) PerfDelta(*Thread, int, uint64, int64)          {}
func (NopObserver) Lost(uint64, bool, int64)                       {}

// MarshalText writes the status name (JSON output).
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalText writes the kind name (JSON output).
func (k FileKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a status name (JSON input).
func (s *Status) UnmarshalText(b []byte) error {
	for i, n := range statusNames {
		if n == string(b) {
			*s = Status(i)
			return nil
		}
	}
	return fmt.Errorf("state: unknown status %q", b)
}

// UnmarshalText reads a kind name (JSON input).
func (k *FileKind) UnmarshalText(b []byte) error {
	for i, n := range fileKindNames {
		if n == string(b) {
			*k = FileKind(i)
			return nil
		}
	}
	return fmt.Errorf("state: unknown file kind %q", b)
}

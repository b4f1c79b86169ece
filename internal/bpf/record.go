package bpf

import (
	"encoding/binary"
	"strconv"
)

// Kind is what a Record describes.
type Kind uint16

const (
	KindSysEntry Kind = 1 // a system call starts: its number, arguments and strings
	KindSysExit  Kind = 2 // a system call returns: its number, return value and argument registers
	KindFork     Kind = 3 // a task was created: its ids in every pid namespace
	KindSwitch   Kind = 4 // a context switch, with both tasks' perf counter values
)

func (k Kind) String() string {
	switch k {
	case KindSysEntry:
		return "sys_entry"
	case KindSysExit:
		return "sys_exit"
	case KindFork:
		return "fork"
	case KindSwitch:
		return "switch"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// CPU is a processor number.
type CPU uint32

// TID is a thread id (the kernel's pid), PID a process id (its tgid).
type (
	TID int32
	PID int32
)

// MaxStrings is the number of user-space strings one system call records
// (mount has three).
const MaxStrings = 3

// MaxLevels is the deepest pid namespace whose ids a Fork holds, as
// lttng-modules' LTTNG_MAX_PID_NS_LEVEL.
const MaxLevels = 32

// StrMax is the longest user string recorded, with its NUL (PATH_MAX).
const StrMax = 4096

// MaxPerf is the number of perf counter contexts a Tracer reads.
const MaxPerf = 4

// Record sizes, in bytes (see docs/format/bpf-records.md).
const (
	hdrSize    = 24
	sysSize    = hdrSize + 8 + 8 + 6*8 + 2*MaxStrings + 2 + 8*MaxPerf // 128
	forkSize   = hdrSize + 8*4 + 16 + 16 + 4*MaxLevels                // 216
	switchSize = hdrSize + 4*2 + 8 + 4*2 + 16 + 16 + 2*8*MaxPerf      // 144
)

// Record is one decoded BPF record. Decode fills it in place; the Str views
// point into the bytes given to Decode and stay valid until those change.
type Record struct {
	Kind Kind
	CPU  CPU
	Time uint64 // CLOCK_MONOTONIC ns (bpf_ktime_get_ns), the tracefs "mono" clock
	TID  TID
	PID  PID

	// System calls.
	Syscall int64 // number; orig_ax at exit
	Ret     int64 // exit only
	Args    [6]uint64
	NStr    int                // strings recorded, in argument order
	Str     [MaxStrings][]byte // without the NUL
	Fault   [MaxStrings]bool   // the string could not be read (page not present)

	// Perf holds the perf counter contexts (Tracer.SetPerf) at the event:
	// for a switch, those of the previous task at switch-out.
	Perf [MaxPerf]uint64

	Fork   Fork
	Switch Switch
}

// Switch is a context switch as tracefs' sched_switch gives it; the
// Record's TID and PID are the previous task's.
type Switch struct {
	PrevTID, NextTID   TID
	PrevPrio, NextPrio int32 // task_struct.prio, as tracefs prints it
	PrevState          int64
	PrevComm, NextComm [16]byte
	// NextPerf holds the next task's perf counter contexts at switch-in.
	NextPerf [MaxPerf]uint64
}

// Fork describes a new task; the Record's TID and PID are its parent's.
type Fork struct {
	ChildTID     TID
	ChildPID     PID
	ParentNSInum uint32 // inode of the parent's pid namespace
	ChildNSInum  uint32
	VPID         PID // the child's process id in its own pid namespace
	VPPID        PID // its parent's process id there, 0 when not visible
	NLevels      int
	VTIDs        [MaxLevels]TID // the child's thread id at each level, root first
	ParentComm   [16]byte
	ChildComm    [16]byte
}

// VTID is the child's thread id in its own (deepest) pid namespace.
func (f *Fork) VTID() TID {
	if f.NLevels == 0 {
		return f.ChildTID
	}
	return f.VTIDs[f.NLevels-1]
}

var le = binary.LittleEndian

// Decode parses one ring-buffer sample into r. It never panics; a short or
// inconsistent sample gives a *FormatError with the offset of the fault.
func (r *Record) Decode(b []byte) error {
	if len(b) < hdrSize {
		return &FormatError{Off: int64(len(b)), Msg: "short record header (" + strconv.Itoa(len(b)) + " bytes, want 24)"}
	}
	r.Time = le.Uint64(b[0:])
	r.Kind = Kind(le.Uint16(b[8:]))
	size := int(le.Uint16(b[10:]))
	r.CPU = CPU(le.Uint32(b[12:]))
	r.TID = TID(le.Uint32(b[16:]))
	r.PID = PID(le.Uint32(b[20:]))
	if size > len(b) {
		return &FormatError{Off: 10, Msg: "record size " + strconv.Itoa(size) + " beyond sample of " + strconv.Itoa(len(b))}
	}
	switch r.Kind {
	case KindSysEntry, KindSysExit:
		return r.decodeSys(b[:size])
	case KindFork:
		return r.decodeFork(b[:size])
	case KindSwitch:
		return r.decodeSwitch(b[:size])
	}
	return &FormatError{Off: 8, Msg: "unknown record kind " + strconv.Itoa(int(r.Kind))}
}

func (r *Record) decodeSys(b []byte) error {
	if len(b) < sysSize {
		return &FormatError{Off: int64(len(b)), Msg: "short syscall record"}
	}
	r.Syscall = int64(le.Uint64(b[24:]))
	r.Ret = int64(le.Uint64(b[32:]))
	for i := range r.Args {
		r.Args[i] = le.Uint64(b[40+8*i:])
	}
	for i := range r.Perf {
		r.Perf[i] = le.Uint64(b[96+8*i:])
	}
	r.NStr = 0
	off := sysSize
	for i := 0; i < MaxStrings; i++ {
		r.Str[i], r.Fault[i] = nil, false
		n := int(le.Uint16(b[88+2*i:]))
		switch {
		case n == 0:
			continue
		case n == 0xffff:
			r.Fault[i] = true
		case n > StrMax || off+n > len(b):
			return &FormatError{Off: int64(88 + 2*i), Msg: "string " + strconv.Itoa(i) + " of " + strconv.Itoa(n) + " bytes beyond the record"}
		default:
			s := b[off : off+n]
			off += n
			if s[n-1] == 0 {
				s = s[:n-1]
			}
			r.Str[i] = s
		}
		r.NStr = i + 1
	}
	return nil
}

func (r *Record) decodeFork(b []byte) error {
	if len(b) < forkSize {
		return &FormatError{Off: int64(len(b)), Msg: "short fork record"}
	}
	f := &r.Fork
	f.ChildTID = TID(le.Uint32(b[24:]))
	f.ChildPID = PID(le.Uint32(b[28:]))
	f.ParentNSInum = le.Uint32(b[32:])
	f.ChildNSInum = le.Uint32(b[36:])
	f.VPID = PID(le.Uint32(b[40:]))
	f.VPPID = PID(le.Uint32(b[44:]))
	n := le.Uint32(b[48:])
	if n > MaxLevels {
		return &FormatError{Off: 48, Msg: "pid namespace levels " + strconv.FormatUint(uint64(n), 10) + " above 32"}
	}
	f.NLevels = int(n)
	copy(f.ParentComm[:], b[56:72])
	copy(f.ChildComm[:], b[72:88])
	for i := range f.VTIDs {
		f.VTIDs[i] = TID(le.Uint32(b[88+4*i:]))
	}
	return nil
}

func (r *Record) decodeSwitch(b []byte) error {
	if len(b) < switchSize {
		return &FormatError{Off: int64(len(b)), Msg: "short switch record"}
	}
	w := &r.Switch
	w.PrevTID = TID(le.Uint32(b[24:]))
	w.PrevPrio = int32(le.Uint32(b[28:]))
	w.PrevState = int64(le.Uint64(b[32:]))
	w.NextTID = TID(le.Uint32(b[40:]))
	w.NextPrio = int32(le.Uint32(b[44:]))
	copy(w.PrevComm[:], b[48:64])
	copy(w.NextComm[:], b[64:80])
	for i := range r.Perf {
		r.Perf[i] = le.Uint64(b[80+8*i:])
		w.NextPerf[i] = le.Uint64(b[80+8*MaxPerf+8*i:])
	}
	return nil
}

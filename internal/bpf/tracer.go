package bpf

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// DisableEnv names the environment variable that, set to 1, makes Open
// report BPF as missing: it shows what a session records on a kernel
// without BPF.
const DisableEnv = "TRACETOP_NO_BPF"

// DefaultRingSize is the BPF ring buffer size when Config.RingSize is 0.
const DefaultRingSize = 8 << 20

// Config chooses what a Tracer records.
type Config struct {
	// RingSize is the ring buffer size in bytes, a power of two of at
	// least one page; 0 means DefaultRingSize.
	RingSize int
	// IgnorePID is a process whose system calls are not recorded (the
	// recorder itself, so that reading the ring does not feed it); 0: none.
	IgnorePID PID
	// Fork attaches sched_process_fork for the pid-namespace ids of new tasks.
	Fork bool
	// NoSyscalls leaves the system call programs detached (a Tracer of
	// fork records only).
	NoSyscalls bool
}

// Tracer owns one loaded copy of the programs and their ring buffer. Each
// session has its own, so sessions never see each other's settings.
type Tracer struct {
	objs   tracetopObjects
	rd     *ringbuf.Reader
	fork   bool
	nosys  bool
	mu     sync.Mutex
	links  []link.Link
	raw    ringbuf.Record
	nslots int
	perf   bool // sched_switch attached for the perf contexts
	sw     bool // sched_switch attached to record every context switch
}

// PerfSlot is one perf counter context: the counter's file descriptor on
// each CPU (perf_event_open with pid -1), and whether the value is the
// current thread's (accumulated between context switches) or the CPU's.
type PerfSlot struct {
	PerThread bool
	FDs       map[int]int // cpu -> perf event fd
}

// SetPerf configures up to MaxPerf perf counter contexts, read at each
// record into Record.Perf; with switches, every context switch is recorded
// (KindSwitch) with both tasks' values. Call it before Start; the Tracer
// keeps no reference to the fds, which the caller keeps open until Close.
func (t *Tracer) SetPerf(slots []PerfSlot, switches bool) error {
	if len(slots) > MaxPerf {
		return fmt.Errorf("bpf: %d perf counter contexts, at most %d", len(slots), MaxPerf)
	}
	var conf tracetopPerfConf
	arrays := []*ebpf.Map{t.objs.PerfCounters0, t.objs.PerfCounters1, t.objs.PerfCounters2, t.objs.PerfCounters3}
	for i, sl := range slots {
		for cpu, fd := range sl.FDs {
			if err := arrays[i].Put(uint32(cpu), uint32(fd)); err != nil {
				return fmt.Errorf("bpf: perf counter %d on cpu %d: %w", i, cpu, err)
			}
		}
		if sl.PerThread {
			conf.ThreadMask |= 1 << i
		}
	}
	conf.Nperf = uint32(len(slots))
	if switches {
		conf.EmitSwitch = 1
	}
	if err := t.objs.Perfconf.Put(uint32(0), conf); err != nil {
		return fmt.Errorf("bpf: perf configuration: %w", err)
	}
	t.mu.Lock()
	t.perf = len(slots) > 0
	t.mu.Unlock()
	return nil
}

// SetSwitch makes a Tracer without perf counter contexts record every
// context switch (KindSwitch records, with zero counter values). tracefs
// can miss switches that the BPF program sees: on some kernels (6.18 seen
// here) a secondary CPU's idle task writes none of its process-context
// events to the tracefs ring buffer, so every switch away from idle is
// missing there. Call it before Start; SetPerf replaces the setting.
func (t *Tracer) SetSwitch(on bool) error {
	var conf tracetopPerfConf
	if on {
		conf.EmitSwitch = 1
	}
	if err := t.objs.Perfconf.Put(uint32(0), conf); err != nil {
		return fmt.Errorf("bpf: switch configuration: %w", err)
	}
	t.mu.Lock()
	t.sw = on
	t.mu.Unlock()
	return nil
}

// nrSlots mirrors NR_SLOTS of the C program; the last slot stands for
// every number above (syscall_entry_unknown).
const nrSlots = 1024

// SlotUnknown is the configuration slot for system call numbers without a
// slot of their own.
const SlotUnknown = nrSlots - 1

// Check reports, as a *FeatureError, the first thing this kernel or process
// lacks for the programs: privileges, kernel BTF, BTF tracepoints, the BPF
// ring buffer. nil means Open can work.
func Check() error {
	if os.Getenv(DisableEnv) == "1" {
		return &FeatureError{Name: "BPF", Hint: DisableEnv + "=1 is set; unset it to record system calls with their strings"}
	}
	if os.Geteuid() != 0 {
		return &FeatureError{Name: "BPF for this user", Hint: "run as root (or with CAP_BPF and CAP_PERFMON)"}
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return &FeatureError{Name: "kernel BTF (/sys/kernel/btf/vmlinux)", MinKernel: "5.5",
			Hint: "boot a kernel built with CONFIG_DEBUG_INFO_BTF=y", Err: err}
	}
	if err := features.HaveProgramType(ebpf.RawTracepoint); err != nil {
		return &FeatureError{Name: "BPF raw tracepoint programs", MinKernel: "4.17",
			Hint: "boot a kernel with CONFIG_BPF_SYSCALL=y and CONFIG_BPF_EVENTS=y", Err: err}
	}
	if err := features.HaveMapType(ebpf.RingBuf); err != nil {
		return &FeatureError{Name: "BPF ring buffer", MinKernel: "5.8", Hint: "boot a newer kernel", Err: err}
	}
	return nil
}

// Open checks the kernel, loads the programs and creates the ring buffer.
// Nothing is recorded until Start. Every system call is off until
// EnableSyscall turns it on.
func Open(cfg Config) (*Tracer, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK (set here,
	// not by cilium/ebpf/rlimit, whose package init probes the kernel in
	// every run of the program, BPF or not).
	_ = unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY})
	spec, err := loadTracetop()
	if err != nil {
		return nil, fmt.Errorf("bpf: %w", err)
	}
	size := cfg.RingSize
	if size == 0 {
		size = DefaultRingSize
	}
	if size < os.Getpagesize() || size&(size-1) != 0 {
		return nil, fmt.Errorf("bpf: ring buffer size %d is not a power of two of at least %d bytes", size, os.Getpagesize())
	}
	spec.Maps[tracetopMapEvents].MaxEntries = uint32(size)
	if err := spec.Variables[tracetopVarIgnoreTgid].Set(uint32(cfg.IgnorePID)); err != nil {
		return nil, fmt.Errorf("bpf: set ignore_tgid: %w", err)
	}
	if err := spec.Variables[tracetopVarWakeupBytes].Set(uint64(size / 8)); err != nil {
		return nil, fmt.Errorf("bpf: set wakeup_bytes: %w", err)
	}
	if switchHasState() {
		if err := spec.Variables[tracetopVarSwitchStateArg].Set(uint32(1)); err != nil {
			return nil, fmt.Errorf("bpf: set switch_state_arg: %w", err)
		}
	}
	t := &Tracer{fork: cfg.Fork, nosys: cfg.NoSyscalls, nslots: nrSlots}
	if err := spec.LoadAndAssign(&t.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("bpf: the kernel's verifier refused the programs: %+v", ve)
		}
		if errors.Is(err, os.ErrPermission) {
			return nil, &FeatureError{Name: "BPF for this user", Hint: "run as root (or with CAP_BPF and CAP_PERFMON)", Err: err}
		}
		return nil, fmt.Errorf("bpf: load programs: %w", err)
	}
	t.rd, err = ringbuf.NewReader(t.objs.Events)
	if err != nil {
		t.objs.Close()
		return nil, fmt.Errorf("bpf: ring buffer reader: %w", err)
	}
	return t, nil
}

// switchHasState tells whether the kernel's sched_switch tracepoint passes
// prev_state (Linux 5.18 and later): its BTF prototype
// btf_trace_sched_switch then has five parameters (the context, preempt,
// prev, next, prev_state).
func switchHasState() bool {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return false
	}
	var td *btf.Typedef
	if err := spec.TypeByName("btf_trace_sched_switch", &td); err != nil {
		return false
	}
	ptr, ok := td.Type.(*btf.Pointer)
	if !ok {
		return false
	}
	fp, ok := ptr.Target.(*btf.FuncProto)
	return ok && len(fp.Params) >= 5
}

// SyscallConf is what is recorded for one system call number.
type SyscallConf struct {
	Entry, Exit bool
	// Strings has bit i set when argument i is a user-space string to copy
	// at entry (at most MaxStrings bits are honoured).
	Strings uint8
}

func (c SyscallConf) word() uint32 {
	var w uint32
	if c.Entry {
		w |= 1
	}
	if c.Exit {
		w |= 2
	}
	return w | uint32(c.Strings&0x3f)<<8
}

// SetSyscall configures system call nr; nr == SlotUnknown configures every
// number without a slot (those above 1022, and x32 numbers).
func (t *Tracer) SetSyscall(nr int, c SyscallConf) error {
	if nr < 0 || nr >= t.nslots {
		return fmt.Errorf("bpf: system call number %d out of range [0, %d)", nr, t.nslots)
	}
	if err := t.objs.Sysconf.Put(uint32(nr), c.word()); err != nil {
		return fmt.Errorf("bpf: configure system call %d: %w", nr, err)
	}
	return nil
}

// SetFork chooses whether Start attaches sched_process_fork (records of
// KindFork); it has no effect on a started Tracer.
func (t *Tracer) SetFork(on bool) {
	t.mu.Lock()
	t.fork = on
	t.mu.Unlock()
}

// Start attaches the programs; records flow from now on.
func (t *Tracer) Start() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.links) > 0 {
		return nil
	}
	rawTracepoints := map[*ebpf.Program]string{
		t.objs.SysEnter: "sys_enter", t.objs.SysExit: "sys_exit", t.objs.SchedProcessFork: "sched_process_fork",
		t.objs.SchedSwitch: "sched_switch",
	}
	progs := []*ebpf.Program{t.objs.SysEnter, t.objs.SysExit}
	if t.nosys {
		progs = nil
	}
	if t.fork {
		progs = append(progs, t.objs.SchedProcessFork)
	}
	if t.perf || t.sw {
		progs = append(progs, t.objs.SchedSwitch)
	}
	for _, p := range progs {
		l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: rawTracepoints[p], Program: p})
		if err != nil {
			t.detach()
			return fmt.Errorf("bpf: attach %s: %w", p, err)
		}
		t.links = append(t.links, l)
	}
	return nil
}

// Stop detaches the programs. Records already in the ring stay readable.
func (t *Tracer) Stop() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.detach()
}

func (t *Tracer) detach() error {
	var first error
	for _, l := range t.links {
		if err := l.Close(); err != nil && first == nil {
			first = err
		}
	}
	t.links = t.links[:0]
	return first
}

// ReadInto waits for the next record and decodes it into r. The programs
// wake the reader only when an eighth of the ring is full, so a reader
// must set a deadline (a few tens of milliseconds) to see the records of a
// quiet period: the deadline's ReadInto returns them before
// os.ErrDeadlineExceeded. r's strings
// point into the Tracer's buffer until the next ReadInto. It returns
// os.ErrDeadlineExceeded after SetDeadline's time with nothing to read, and
// ErrClosed after Close. Only one goroutine may read.
func (t *Tracer) ReadInto(r *Record) error {
	if err := t.rd.ReadInto(&t.raw); err != nil {
		if errors.Is(err, ringbuf.ErrClosed) {
			return ErrClosed
		}
		return err
	}
	return r.Decode(t.raw.RawSample)
}

// ErrClosed is returned by ReadInto once the Tracer is closed.
var ErrClosed = errors.New("bpf: tracer closed")

// SetDeadline bounds how long ReadInto waits; the zero time waits forever.
func (t *Tracer) SetDeadline(d time.Time) { t.rd.SetDeadline(d) }

// Pending is the number of bytes waiting in the ring buffer.
func (t *Tracer) Pending() int { return t.rd.AvailableBytes() }

// Lost returns, per CPU, the records dropped because the ring was full.
func (t *Tracer) Lost() ([]uint64, error) {
	var per []uint64
	if err := t.objs.Lost.Lookup(uint32(0), &per); err != nil {
		return nil, fmt.Errorf("bpf: read lost counters: %w", err)
	}
	return per, nil
}

// Close detaches the programs, unblocks ReadInto and frees everything.
func (t *Tracer) Close() error {
	t.Stop()
	err := t.rd.Close()
	if e := t.objs.Close(); err == nil {
		err = e
	}
	return err
}

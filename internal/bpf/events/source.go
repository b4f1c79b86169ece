package events

import (
	"context"
	"fmt"
	"path"
	"sync"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/ftrace"
	"github.com/tracetop/tracetop/internal/bpf"
	"github.com/tracetop/tracetop/internal/perf"
	"github.com/tracetop/tracetop/internal/record"
)

// SourceConfig chooses what a Source records.
type SourceConfig struct {
	// Syscalls are lttng syscall names or globs ("openat", "*"); "*"
	// also records the numbers without a name as syscall_*_unknown.
	Syscalls []string
	// Fork records sched_process_fork with the child's ids in every pid
	// namespace (leave tracefs' sched_process_fork off then).
	Fork bool
	// Perf says the source is wanted for perf counter contexts (see
	// ProvidePerf), so it is made even when no system call is selected.
	Perf bool
	// IgnorePID is a process whose system calls are not recorded.
	IgnorePID bpf.PID
	// RingSize is the BPF ring buffer size (0: bpf.DefaultRingSize).
	RingSize int
}

// Source is a record.EventSource of BPF system call (and fork) events.
type Source struct {
	tr      *bpf.Tracer
	cfg     SourceConfig
	classes []*writer.EventClass
	entry   [MaxNR + 1]*writer.EventClass
	exit    [MaxNR + 1]*writer.EventClass
	unkEn   *writer.EventClass
	unkEx   *writer.EventClass
	fork    *writer.EventClass
	sw      *writer.EventClass // sched_switch, when the source records it

	perf      []bpf.PerfSlot
	perfFDs   []*perf.FD
	nperf     int
	perfSched bool // sched_switch attached for the perf contexts

	mu     sync.Mutex
	closed bool
}

var (
	_ record.EventSource     = (*Source)(nil)
	_ record.SyscallProvider = (*Source)(nil)

	_ record.TracepointProvider = (*Source)(nil)
	_ record.PerfProvider       = (*Source)(nil)
	_ record.Attacher           = (*Source)(nil)
)

// Match returns the system calls whose lttng name matches one of the
// patterns, and whether the unknown numbers match ("*" only).
func Match(patterns []string) (out []*Syscall, unknown bool, err error) {
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return nil, false, fmt.Errorf("bad syscall pattern %q: %w", p, err)
		}
		if p == "*" || p == "unknown" {
			unknown = true
		}
	}
	for _, s := range All() {
		for _, p := range patterns {
			if ok, _ := path.Match(p, s.Name); ok {
				out = append(out, s)
				break
			}
		}
	}
	return out, unknown, nil
}

// NewSource loads the BPF programs for cfg. A kernel or user without BPF
// gets an error matching bpf.ErrNotSupported that says what is missing.
func NewSource(cfg SourceConfig) (*Source, error) {
	sys, unknown, err := Match(cfg.Syscalls)
	if err != nil {
		return nil, err
	}
	if len(sys) == 0 && !unknown && !cfg.Fork && !cfg.Perf {
		return nil, fmt.Errorf("no system call matches %q", cfg.Syscalls)
	}
	tr, err := bpf.Open(bpf.Config{RingSize: cfg.RingSize, IgnorePID: cfg.IgnorePID, Fork: cfg.Fork})
	if err != nil {
		return nil, err
	}
	s := &Source{tr: tr, cfg: cfg}
	add := func(c *Class) *writer.EventClass {
		ec := &writer.EventClass{Name: c.Name, Fields: c.Fields}
		s.classes = append(s.classes, ec)
		return ec
	}
	for _, sc := range sys {
		s.entry[sc.NR] = add(&sc.Entry)
		s.exit[sc.NR] = add(&sc.Exit)
		if err := tr.SetSyscall(sc.NR, bpf.SyscallConf{Entry: true, Exit: true, Strings: sc.Strings}); err != nil {
			tr.Close()
			return nil, err
		}
	}
	if unknown {
		s.unkEn, s.unkEx = add(&EntryUnknown), add(&ExitUnknown)
		on := bpf.SyscallConf{Entry: true, Exit: true}
		for nr := 0; nr <= bpf.SlotUnknown; nr++ {
			if Lookup(int64(nr)) == nil {
				if err := tr.SetSyscall(nr, on); err != nil {
					tr.Close()
					return nil, err
				}
			}
		}
	}
	if cfg.Fork {
		s.fork = add(&Fork)
	}
	return s, nil
}

// ProvideTracepoints implements record.TracepointProvider: the source
// records sched_process_fork itself when the channel selects it, since
// the BPF record holds the child's ids in every pid namespace and its
// namespace inode, read at fork time, where tracefs has only the
// thread ids (a child that already exited when the recorder reads its
// record cannot be looked up in /proc any more).
//
// With perf counter contexts it also records sched_switch, whose context
// then holds the previous task's exact values at switch-out.
func (s *Source) ProvideTracepoints(names []string) []string {
	var out []string
	for _, n := range names {
		switch {
		case n == "sched_process_fork":
			if s.fork == nil {
				s.fork = &writer.EventClass{Name: Fork.Name, Fields: Fork.Fields}
				s.classes = append(s.classes, s.fork)
				s.tr.SetFork(true)
			}
			out = append(out, n)
		case n == "sched_switch" && s.nperf > 0:
			if s.sw == nil {
				s.sw = &writer.EventClass{Name: SchedSwitch.Name, Fields: SchedSwitch.Fields}
				s.classes = append(s.classes, s.sw)
			}
			out = append(out, n)
		}
	}
	return out
}

// SchedSwitch is sched_switch as the recorder writes it from tracefs
// (lttng-modules' fields; prev_prio and next_prio as tracefs gives them).
var SchedSwitch = Class{Name: "sched_switch", Fields: record.SwitchFields}

// ProvidePerf implements record.PerfProvider: it opens each counter on
// every online CPU for the programs to read at each record and context
// switch.
func (s *Source) ProvidePerf(specs []perf.Spec) error {
	if len(specs) > bpf.MaxPerf {
		return fmt.Errorf("%d perf counter contexts, at most %d", len(specs), bpf.MaxPerf)
	}
	cpus, err := ftrace.OnlineCPUs()
	if err != nil {
		return err
	}
	s.closePerf()
	for _, sp := range specs {
		slot := bpf.PerfSlot{PerThread: sp.PerThread, FDs: map[int]int{}}
		for _, c := range cpus {
			fd, err := perf.OpenCPU(sp.Counter, c)
			if err != nil {
				s.closePerf()
				return fmt.Errorf("context %s: %w", sp.Field(), err)
			}
			s.perfFDs = append(s.perfFDs, fd)
			slot.FDs[c] = fd.Int()
		}
		s.perf = append(s.perf, slot)
	}
	s.nperf = len(specs)
	return nil
}

func (s *Source) closePerf() {
	for _, fd := range s.perfFDs {
		fd.Close()
	}
	s.perfFDs, s.perf, s.nperf = nil, nil, 0
}

// Name implements record.EventSource.
func (s *Source) Name() string { return "bpf" }

// ProvidesSyscalls tells the recorder to leave tracefs' syscall events off.
func (s *Source) ProvidesSyscalls() bool { return true }

// Classes implements record.EventSource.
func (s *Source) Classes() []*writer.EventClass { return s.classes }

// Run attaches the programs and emits their records until ctx is done,
// then detaches them and emits what is left in the ring.
func (s *Source) Run(ctx context.Context, out *record.Emitter) error {
	if err := s.Attach(); err != nil {
		return err
	}
	var (
		pump record.BPFPump
		p    writer.Payload
	)
	err := pump.Run(ctx, s.tr, out, func(r *bpf.Record) {
		var ec *writer.EventClass
		p.Reset()
		switch r.Kind {
		case bpf.KindSysEntry, bpf.KindSysExit:
			c := ClassOf(r)
			switch {
			case c == &EntryUnknown:
				ec = s.unkEn
			case c == &ExitUnknown:
				ec = s.unkEx
			case r.Kind == bpf.KindSysEntry:
				ec = s.entry[r.Syscall]
			default:
				ec = s.exit[r.Syscall]
			}
			if ec != nil {
				c.Append(&p, r)
			}
		case bpf.KindFork:
			if ec = s.fork; ec != nil {
				record.AppendFork(&p, r)
			}
		case bpf.KindSwitch:
			if s.nperf == 0 {
				return
			}
			if ec = s.sw; ec != nil {
				record.AppendSwitch(&p, &r.Switch)
			}
			out.EmitPerf(record.CPU(r.CPU), pump.Time(r), int32(r.TID), ec, p.B, r.Perf[:s.nperf], r.Switch.NextPerf[:s.nperf])
			return
		}
		if ec == nil {
			return
		}
		if s.nperf > 0 {
			out.EmitPerf(record.CPU(r.CPU), pump.Time(r), int32(r.TID), ec, p.B, r.Perf[:s.nperf], r.Perf[:s.nperf])
			return
		}
		out.Emit(record.CPU(r.CPU), pump.Time(r), int32(r.TID), ec, p.B)
	})
	if err != nil {
		return fmt.Errorf("bpf source: %w", err)
	}
	return nil
}

// Attach implements record.Attacher: it attaches the programs (once), so
// records flow from when the recorder's Start returns.
func (s *Source) Attach() error {
	if s.nperf > 0 && !s.perfSched {
		// Every switch is recorded: the values of the task switched in
		// serve the tracefs events that follow on its CPU.
		if err := s.tr.SetPerf(s.perf, true); err != nil {
			return err
		}
		s.perfSched = true
	}
	return s.tr.Start()
}

// Close frees the programs and the ring buffer.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.tr.Close()
	s.closePerf()
	return err
}

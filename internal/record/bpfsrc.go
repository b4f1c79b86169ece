package record

import (
	"context"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/bpf"
)

// bpfSource records sched_process_fork and sched_switch with BPF programs
// of the recorder's own when the channel selects them and no channel
// source provides them:
//
//   - sched_process_fork: the BPF record holds the child's ids in every
//     pid namespace and its namespace inode, read at fork time, where
//     tracefs has thread ids only and /proc of a short-lived child is gone
//     by the time its record is read.
//   - sched_switch: tracefs can miss switches. On some kernels (6.18, seen
//     on a virtual machine) a secondary CPU's idle task writes none of its
//     process-context events to the tracefs ring buffers, so every switch
//     away from idle on that CPU is missing, and CPU figures credit the
//     idle time to the task that ran before. The BPF program on the same
//     tracepoint sees every switch.
type bpfSource struct {
	tr   *bpf.Tracer
	fork *writer.EventClass // nil: not recorded here
	sw   *writer.EventClass // nil: not recorded here
	// onSwitch is told the next task of every switch (the thread cache's
	// names and priorities), on the source's goroutine.
	onSwitch func(tid int32, comm []byte, prio int32)
}

// newBPFSource loads the programs for fork and/or switch; an error means
// BPF is missing (the tracefs conversion is used then).
func newBPFSource(fork, sw bool) (*bpfSource, error) {
	if err := bpf.Check(); err != nil {
		return nil, err
	}
	size := 1 << 20
	if sw {
		// A switch record is 144 bytes; the reader drains every 50 ms
		// or when an eighth of the ring is full: 8 MiB keeps tens of
		// thousands of switches per second without loss.
		size = bpf.DefaultRingSize
	}
	tr, err := bpf.Open(bpf.Config{Fork: fork, NoSyscalls: true, RingSize: size})
	if err != nil {
		return nil, err
	}
	s := &bpfSource{tr: tr}
	if fork {
		s.fork = &writer.EventClass{Name: "sched_process_fork", Fields: ForkFields}
	}
	if sw {
		if err := tr.SetSwitch(true); err != nil {
			tr.Close()
			return nil, err
		}
		s.sw = &writer.EventClass{Name: "sched_switch", Fields: SwitchFields}
	}
	return s, nil
}

func (s *bpfSource) Name() string { return "bpf-sched" }

func (s *bpfSource) Classes() []*writer.EventClass {
	var cs []*writer.EventClass
	for _, c := range []*writer.EventClass{s.fork, s.sw} {
		if c != nil {
			cs = append(cs, c)
		}
	}
	return cs
}

func (s *bpfSource) Attach() error { return s.tr.Start() }
func (s *bpfSource) Close() error  { return s.tr.Close() }

func (s *bpfSource) Run(ctx context.Context, out *Emitter) error {
	if err := s.tr.Start(); err != nil {
		return err
	}
	var (
		pump BPFPump
		p    writer.Payload
	)
	return pump.Run(ctx, s.tr, out, func(r *bpf.Record) {
		p.Reset()
		var class *writer.EventClass
		switch {
		case r.Kind == bpf.KindFork && s.fork != nil:
			class = s.fork
			AppendFork(&p, r)
		case r.Kind == bpf.KindSwitch && s.sw != nil:
			class = s.sw
			AppendSwitch(&p, &r.Switch)
			if s.onSwitch != nil {
				s.onSwitch(int32(r.Switch.NextTID), cString(r.Switch.NextComm[:]), r.Switch.NextPrio)
			}
		default:
			return
		}
		out.Emit(CPU(r.CPU), pump.Time(r), int32(r.TID), class, p.B)
	})
}

// cString is b up to its first NUL.
func cString(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

package record

import (
	"context"
	"errors"
	"os"
	"time"

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

// bpfInFlight bounds how long a record can sit between its timestamp and
// its commit to the ring: the watermark stays that far back.
const bpfInFlight = 20 * time.Millisecond

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
		s.fork = &writer.EventClass{Name: "sched_process_fork", Fields: forkFields}
	}
	if sw {
		if err := tr.SetSwitch(true); err != nil {
			tr.Close()
			return nil, err
		}
		s.sw = &writer.EventClass{Name: "sched_switch", Fields: switchFields}
	}
	return s, nil
}

// switchFields is sched_switch as the tracefs conversion writes it
// (lttng-modules' names; priorities as tracefs gives them).
var switchFields = []writer.Field{
	writer.Comm("prev_comm"), writer.I32("prev_tid"), writer.I32("prev_prio"), writer.I64("prev_state"),
	writer.Comm("next_comm"), writer.I32("next_tid"), writer.I32("next_prio")}

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
		r     bpf.Record
		p     writer.Payload
		last  = map[bpf.CPU]Timestamp{}
		lost  []uint64
		water Timestamp
	)
	emit := func() {
		p.Reset()
		var class *writer.EventClass
		switch {
		case r.Kind == bpf.KindFork && s.fork != nil:
			class = s.fork
			appendFork(&p, &r)
		case r.Kind == bpf.KindSwitch && s.sw != nil:
			class = s.sw
			appendSwitch(&p, &r.Switch)
			if s.onSwitch != nil {
				s.onSwitch(int32(r.Switch.NextTID), cString(r.Switch.NextComm[:]), r.Switch.NextPrio)
			}
		default:
			return
		}
		ts := max(Timestamp(r.Time), last[r.CPU], water)
		last[r.CPU] = ts
		out.Emit(CPU(r.CPU), ts, int32(r.TID), class, p.B)
	}
	drain := func() error {
		s.tr.SetDeadline(time.Now().Add(-time.Second))
		for {
			err := s.tr.ReadInto(&r)
			var fe *bpf.FormatError
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, bpf.ErrClosed):
				return nil
			case errors.As(err, &fe):
				continue
			case err != nil:
				return err
			}
			emit()
		}
	}
	reportLost := func() {
		per, err := s.tr.Lost()
		if err != nil {
			return
		}
		for cpu, n := range per {
			for cpu >= len(lost) {
				lost = append(lost, 0)
			}
			if n > lost[cpu] {
				out.Lost(CPU(cpu), n-lost[cpu])
				lost[cpu] = n
			}
		}
	}
	for ctx.Err() == nil {
		t0 := Now()
		if err := drain(); err != nil {
			s.tr.Stop()
			return err
		}
		if w := t0 - Timestamp(bpfInFlight); t0 > Timestamp(bpfInFlight) && w > water {
			water = w
			out.Watermark(water)
		}
		reportLost()
		s.tr.SetDeadline(time.Now().Add(50 * time.Millisecond))
		err := s.tr.ReadInto(&r)
		var fe *bpf.FormatError
		switch {
		case err == nil:
			emit()
		case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &fe):
		case errors.Is(err, bpf.ErrClosed):
			return nil
		default:
			s.tr.Stop()
			return err
		}
	}
	s.tr.Stop()
	err := drain()
	reportLost()
	out.Watermark(Now())
	return err
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

// appendSwitch writes a BPF switch record as switchFields.
func appendSwitch(p *writer.Payload, w *bpf.Switch) {
	p.Text(w.PrevComm[:], 16)
	p.I32(int32(w.PrevTID))
	p.I32(w.PrevPrio)
	p.I64(w.PrevState)
	p.Text(w.NextComm[:], 16)
	p.I32(int32(w.NextTID))
	p.I32(w.NextPrio)
}

// appendFork writes a BPF fork record as lttng-modules 2.13's
// sched_process_fork (forkFields).
func appendFork(p *writer.Payload, r *bpf.Record) {
	f := &r.Fork
	p.Text(f.ParentComm[:], 16)
	p.I32(int32(r.TID))
	p.I32(int32(r.PID))
	p.U32(f.ParentNSInum)
	p.Text(f.ChildComm[:], 16)
	p.I32(int32(f.ChildTID))
	if n := f.NLevels; n == 0 {
		p.U8(1)
		p.I32(int32(f.ChildTID))
	} else {
		p.U8(uint8(n))
		for _, v := range f.VTIDs[:n] {
			p.I32(int32(v))
		}
	}
	p.I32(int32(f.ChildPID))
	p.U32(f.ChildNSInum)
}

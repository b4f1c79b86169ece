package record

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/bpf"
)

// forkSource records sched_process_fork with a BPF program when no
// channel source provides it: the BPF record holds the child's ids in
// every pid namespace and its namespace inode, read at fork time, where
// tracefs has thread ids only and /proc of a short-lived child is gone by
// the time its record is read.
type forkSource struct {
	tr    *bpf.Tracer
	class *writer.EventClass
}

// forkInFlight bounds how long a record can sit between its timestamp and
// its commit to the ring: the watermark stays that far back.
const forkInFlight = 20 * time.Millisecond

// newForkSource loads the fork program; an error means BPF is missing
// (the tracefs conversion is used then).
func newForkSource() (*forkSource, error) {
	if err := bpf.Check(); err != nil {
		return nil, err
	}
	tr, err := bpf.Open(bpf.Config{Fork: true, NoSyscalls: true, RingSize: 1 << 20})
	if err != nil {
		return nil, err
	}
	return &forkSource{tr: tr, class: &writer.EventClass{Name: "sched_process_fork", Fields: forkFields}}, nil
}

func (s *forkSource) Name() string                  { return "bpf-fork" }
func (s *forkSource) Classes() []*writer.EventClass { return []*writer.EventClass{s.class} }
func (s *forkSource) Attach() error                 { return s.tr.Start() }
func (s *forkSource) Close() error                  { return s.tr.Close() }

func (s *forkSource) Run(ctx context.Context, out *Emitter) error {
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
		if r.Kind != bpf.KindFork {
			return
		}
		p.Reset()
		appendFork(&p, &r)
		ts := max(Timestamp(r.Time), last[r.CPU], water)
		last[r.CPU] = ts
		out.Emit(CPU(r.CPU), ts, int32(r.TID), s.class, p.B)
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
		if w := t0 - Timestamp(forkInFlight); t0 > Timestamp(forkInFlight) && w > water {
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

package record

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/bpf"
)

// BPFInFlight bounds how long a BPF record can sit between its timestamp
// and its commit to the ring (a preempted program): a BPFPump's watermark
// stays that far back.
const BPFInFlight = 20 * time.Millisecond

// BPFPump moves the records of a started bpf.Tracer into an Emitter, for
// the event sources built on BPF programs (the recorder's own fork and
// switch programs, the system call source). The ring is shared by every
// CPU: Time keeps each CPU's events in time order, and the watermark
// tells the recorder how far the ring is complete.
type BPFPump struct {
	last  []Timestamp // per CPU, the time of the last record emitted
	lost  []uint64    // per CPU, the ring's lost count already reported
	water Timestamp
}

// Time is the time to give r when it is emitted: its own, raised to the
// last time emitted on its CPU and to the watermark. Call it once per
// record emitted.
func (p *BPFPump) Time(r *bpf.Record) Timestamp {
	for int(r.CPU) >= len(p.last) {
		p.last = append(p.last, 0)
	}
	ts := max(Timestamp(r.Time), p.last[r.CPU], p.water)
	p.last[r.CPU] = ts
	return ts
}

// Run hands every record of tr to emit until ctx is done (a record that
// cannot be decoded is skipped), advancing the watermark and reporting the
// ring's lost records as it goes; then it stops tr and hands over what is
// left in the ring. The records wake the reader in batches, so Run wakes
// every 50 ms to see those of a quiet period.
func (p *BPFPump) Run(ctx context.Context, tr *bpf.Tracer, out *Emitter, emit func(r *bpf.Record)) error {
	var r bpf.Record
	drain := func() error {
		tr.SetDeadline(time.Now().Add(-time.Second))
		for {
			err := tr.ReadInto(&r)
			var fe *bpf.FormatError
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, bpf.ErrClosed):
				return nil
			case errors.As(err, &fe):
				continue
			case err != nil:
				return err
			}
			emit(&r)
		}
	}
	for ctx.Err() == nil {
		t0 := out.Now()
		if err := drain(); err != nil {
			tr.Stop()
			return err
		}
		if w := t0 - Timestamp(BPFInFlight); t0 > Timestamp(BPFInFlight) && w > p.water {
			p.water = w
			out.Watermark(w)
		}
		p.reportLost(tr, out)
		tr.SetDeadline(time.Now().Add(50 * time.Millisecond))
		err := tr.ReadInto(&r)
		var fe *bpf.FormatError
		switch {
		case err == nil:
			emit(&r)
		case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &fe):
		case errors.Is(err, bpf.ErrClosed):
			return nil
		default:
			tr.Stop()
			return err
		}
	}
	tr.Stop()
	err := drain()
	p.reportLost(tr, out)
	out.Watermark(out.Now())
	return err
}

func (p *BPFPump) reportLost(tr *bpf.Tracer, out *Emitter) {
	per, err := tr.Lost()
	if err != nil {
		return
	}
	for cpu, n := range per {
		for cpu >= len(p.lost) {
			p.lost = append(p.lost, 0)
		}
		if n > p.lost[cpu] {
			out.Lost(CPU(cpu), n-p.lost[cpu])
			p.lost[cpu] = n
		}
	}
}

// ForkFields is sched_process_fork as lttng-modules 2.13 lays it out.
var ForkFields = []writer.Field{
	writer.Comm("parent_comm"), writer.I32("parent_tid"), writer.I32("parent_pid"), writer.U32("parent_ns_inum"),
	writer.Comm("child_comm"), writer.I32("child_tid"),
	{Name: "vtids", Kind: writer.Sequence, Bits: 32, Signed: true, LenBits: 8},
	writer.I32("child_pid"), writer.U32("child_ns_inum"),
}

// SwitchFields is sched_switch as the recorder writes it, from tracefs or
// BPF (lttng-modules' names; priorities as tracefs gives them).
var SwitchFields = []writer.Field{
	writer.Comm("prev_comm"), writer.I32("prev_tid"), writer.I32("prev_prio"), writer.I64("prev_state"),
	writer.Comm("next_comm"), writer.I32("next_tid"), writer.I32("next_prio")}

// AppendFork appends a BPF fork record as ForkFields.
func AppendFork(p *writer.Payload, r *bpf.Record) {
	f := &r.Fork
	p.Text(f.ParentComm[:], 16)
	p.I32(int32(r.TID))
	p.I32(int32(r.PID))
	p.U32(f.ParentNSInum)
	p.Text(f.ChildComm[:], 16)
	p.I32(int32(f.ChildTID))
	if n := f.NLevels; n == 0 { // no pid struct read: the root level only
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

// AppendSwitch appends a BPF switch record as SwitchFields.
func AppendSwitch(p *writer.Payload, w *bpf.Switch) {
	p.Text(w.PrevComm[:], 16)
	p.I32(int32(w.PrevTID))
	p.I32(w.PrevPrio)
	p.I64(w.PrevState)
	p.Text(w.NextComm[:], 16)
	p.I32(int32(w.NextTID))
	p.I32(w.NextPrio)
}

package record

import (
	"encoding/binary"
	"fmt"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/perf"
)

// maxPerf is the number of perf counter contexts a channel can have (the
// BPF programs read at most that many counters).
const maxPerf = 4

// PerfProvider is implemented by sources that read perf counters at their
// events (the BPF source): the recorder gives them the channel's perf
// contexts before Classes, and they emit with Emitter.EmitPerf.
//
// Where the values come from: events of the provider (BPF system calls,
// and sched_switch, which the provider records itself when the channel
// selects it) carry the exact value at the event: the CPU's counter, or
// for perf:thread the thread's total over its time on CPUs up to the
// event. Events read from tracefs cannot carry a value of their own time:
// they get the value of the CPU's current thread as of the last provider
// event on that CPU (at worst its value when it was switched in), so
// values never go back on a thread.
type PerfProvider interface {
	ProvidePerf(specs []perf.Spec) error
}

// CheckContext checks an add-context type: isPerf says whether it is a
// perf counter (perf:cpu:NAME, perf:thread:NAME); err says why it cannot
// be recorded on this machine ("perf counter cpu-cycles is not available
// on this machine (no hardware PMU)"), or that the name is unknown. The
// session daemon calls it at add-context time.
func CheckContext(t string) (spec perf.Spec, isPerf bool, err error) {
	spec, isPerf, err = perf.ParseContext(t)
	if !isPerf || err != nil {
		return spec, isPerf, err
	}
	if err := spec.Check(); err != nil {
		return spec, true, fmt.Errorf("context %s: %w", t, err)
	}
	return spec, true, nil
}

// perfContexts are the perf counter contexts of a channel and where they
// lie in the stream event context.
type perfContexts struct {
	specs []perf.Spec
	off   []int // byte offset of each in the context
}

func (p *perfContexts) add(s perf.Spec, off int) {
	p.specs = append(p.specs, s)
	p.off = append(p.off, off)
}

// provide hands the contexts to the channel's PerfProvider.
func (p *perfContexts) provide(cfg Channel) error {
	if len(p.specs) > maxPerf {
		return fmt.Errorf("%d perf counter contexts, at most %d", len(p.specs), maxPerf)
	}
	for _, src := range cfg.Sources {
		if pp, ok := src.(PerfProvider); ok {
			return pp.ProvidePerf(p.specs)
		}
	}
	return fmt.Errorf("context %s: perf counter values are read by the eBPF event source, which this channel does not have (enable system calls with eBPF available)", p.specs[0].Field())
}

// set writes vals into the perf fields of the context bytes ctx.
func (p *perfContexts) set(ctx []byte, vals []uint64) {
	for i, off := range p.off {
		if i < len(vals) && off+8 <= len(ctx) {
			binary.LittleEndian.PutUint64(ctx[off:], vals[i])
		}
	}
}

// patchPerf fills the perf fields of an event's context just before it
// is written, in stream order: an event with values of its own (after
// not empty) keeps them and sets the CPU's current values; any other
// event gets the current values.
func (s *cpuStream) patchPerf(ctx, after []byte) {
	p := &s.ch.perf
	if len(after) == 0 {
		for i, off := range p.off {
			binary.LittleEndian.PutUint64(ctx[off:], s.lastPerf[i])
		}
		return
	}
	for i := range p.off {
		if 8*i+8 <= len(after) {
			s.lastPerf[i] = binary.LittleEndian.Uint64(after[8*i:])
		}
	}
}

// fieldSize is the byte size of a context field (all byte-aligned).
func fieldSize(f writer.Field) int {
	switch f.Kind {
	case writer.Text:
		return f.Len
	case writer.Int:
		return int(f.Bits) / 8
	}
	panic("record: context field " + f.Name + " of variable size")
}

// EmitPerf is Emit for an event with perf counter contexts: at holds the
// values at the event, in the order of the specs given to ProvidePerf;
// after the values of the thread that runs on cpu after the event (the
// next task of a context switch; at for any other event). A nil class
// writes no event: it only tells the values of the thread switched in
// (a context switch the channel does not record), for the tracefs events
// that follow on that CPU.
func (e *Emitter) EmitPerf(cpu CPU, ts Timestamp, tid int32, class *writer.EventClass, payload []byte, at, after []uint64) {
	e.ch.emitPerf(cpu, ts, tid, class, payload, at, after)
}

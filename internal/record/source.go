package record

import (
	"context"

	"github.com/tracetop/tracetop/ctf/writer"
)

// EventSource produces events that the recorder merges, in time order,
// into the per-CPU streams of one channel (for instance the eBPF syscall
// events with their decoded arguments and user strings).
//
// The recorder calls Classes once, before tracing starts, and assigns the
// ids; then Run in a goroutine of its own for as long as the recording
// runs. Run pushes events with Emitter.Emit and promises progress with
// Emitter.Watermark; it returns when ctx is cancelled (at Stop), after
// emitting what it has buffered. Events emitted after Run returned are
// dropped.
type EventSource interface {
	// Name names the source in errors and status ("bpf").
	Name() string
	// Classes returns the event classes the source emits, with their
	// LTTng names and typed fields (ids are set by the recorder; Stream is
	// ignored).
	Classes() []*writer.EventClass
	// Run emits events until ctx is done.
	Run(ctx context.Context, out *Emitter) error
}

// SyscallProvider is implemented by sources that record syscalls
// themselves: the recorder then leaves the tracefs syscall events off,
// whatever Channel.Syscalls says.
type SyscallProvider interface {
	ProvidesSyscalls() bool
}

// Attacher is implemented by sources that must be attached to the kernel
// before Start returns, so that a program started right after Start is
// seen from its first event (the BPF programs): Start calls Attach before
// it starts Run, and stops the recorder if it fails.
type Attacher interface {
	Attach() error
}

// TracepointProvider is implemented by sources that record some
// tracepoints themselves, with more than tracefs gives (the BPF fork
// record has the child's ids in every pid namespace, read at fork time).
type TracepointProvider interface {
	// ProvideTracepoints is called once, before Classes, with the LTTng
	// names of the tracepoints the channel selected. It returns those the
	// source will record, under the same names: their tracefs events are
	// left off.
	ProvideTracepoints(names []string) []string
}

// Emitter is the recorder side of an EventSource: it takes events and
// queues them for the CPU streams. Its methods are safe for concurrent use.
type Emitter struct {
	ch  *channel
	src int
}

// Emit queues one event of thread tid for cpu's stream. class is one of
// the classes returned by Classes (same pointer); payload holds its fields
// encoded in order (see writer.Payload) and is copied. tid serves the
// channel's contexts (pid, procname …). Events of one CPU must be
// emitted in time order; different CPUs may interleave freely. An event
// for an unknown or offline CPU is counted as lost.
func (e *Emitter) Emit(cpu CPU, ts Timestamp, tid int32, class *writer.EventClass, payload []byte) {
	e.ch.emit(cpu, ts, tid, class, payload)
}

// Watermark promises that no later Emit of this source, on any CPU, has a
// timestamp before ts. Streams write events only up to the lowest
// watermark of their sources, so a source that never calls Watermark holds
// its channel back until Stop.
func (e *Emitter) Watermark(ts Timestamp) { e.ch.watermark(e.src, ts) }

// Lost counts n events the source lost on cpu (its buffer was full); they
// show in the stream's events_discarded.
func (e *Emitter) Lost(cpu CPU, n uint64) { e.ch.lost(cpu, n) }

// Now returns the current trace-clock time (CLOCK_MONOTONIC ns).
func (e *Emitter) Now() Timestamp { return Now() }

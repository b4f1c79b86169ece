package ctf

import (
	"math"
	"unsafe"

	"github.com/tracetop/tracetop/ctf/meta"
)

// Kind says what a message read from a Source is.
type Kind uint8

const (
	// KindEvent is an event record: Class, times and Values are set.
	KindEvent Kind = iota + 1
	// KindDiscarded says the tracer discarded Count events in Stream
	// between Begin and End (babeltrace2's "Tracer discarded N events").
	KindDiscarded
	// KindLostPackets says Count packets of Stream were lost between Begin
	// and End (a packet_seq_num gap).
	KindLostPackets
)

// Trace is one CTF trace opened for reading: a folder with a metadata file,
// or a live session's trace.
type Trace struct {
	Path     string      // folder, or URL for a live trace
	Meta     *meta.Trace // what the metadata says
	Hostname string      // env.hostname, "" if none
	// Dirs are the folders of the trace: one, or several session rotation
	// chunks with the same trace UUID (Path is the first).
	Dirs []string
}

// Stream is one data stream instance of a trace (one per CPU and channel
// for LTTng), possibly spread over several files.
type Stream struct {
	Trace *Trace
	Class *meta.Stream
	// Name is the stream's file name (without a rotation suffix) or, live,
	// the relay's stream name.
	Name string
	// InstanceID is the stream_instance_id when the packet header has one,
	// else an index unique in its trace.
	InstanceID uint64
	// CPU is the packet context cpu_id, -1 when there is none.
	CPU int
	// Files are the data files of the stream in reading order (tracefile
	// rotation, session rotation chunks).
	Files []string

	reader *stream // the file reader's state, nil for a live stream
}

// Value is one decoded field. Compound values (struct, array, sequence,
// variant, optional) point at their children inside the same Event.Values:
// the members of one struct, or the elements of one array, are contiguous,
// so member i of a struct v is Values[v.Start+i]. Text and blobs point into
// Event.Text.
type Value struct {
	Class *meta.Class
	// Bits is the value of an integer, enum or variable-length integer
	// (two's complement for a signed one) and math.Float64bits of a float.
	Bits uint64
	// Start is the index in Values of the first child of a compound value
	// (a variant's one child is its selected option's value), or the offset
	// in Text of a string, text array or blob.
	Start int32
	// N is the number of children of a compound value, or the length in
	// bytes of a string (without its NUL) or blob.
	N int32
	// Opt is the index in Class.Fields of a variant's selected option.
	Opt int32
}

// Int returns a signed integer value.
func (v *Value) Int() int64 { return int64(v.Bits) }

// Uint returns an unsigned integer value.
func (v *Value) Uint() uint64 { return v.Bits }

// Float returns a floating-point value.
func (v *Value) Float() float64 { return math.Float64frombits(v.Bits) }

// Event is a message read from a Source, reused from call to call: the
// reader overwrites it, so keep what you need before the next read.
type Event struct {
	Kind   Kind
	Class  *meta.Event // KindEvent
	Stream *Stream

	// Cycles is the default clock value of the event (KindEvent) and
	// HasTime says whether the stream has a clock at all.
	Cycles  uint64
	HasTime bool
	// NS is the time in nanoseconds from the clock's origin, the key of
	// the time-ordered merge.
	NS int64

	// KindDiscarded, KindLostPackets: how many, and the time range
	// (nanoseconds from origin) they were lost in.
	Count      uint64
	BeginNS    int64
	EndNS      int64
	HasBounds  bool
	BeginCycle uint64
	EndCycle   uint64
	// CountUnknown (KindDiscarded) says how many events were discarded is
	// not known: the stream's first packet already had a nonzero
	// discarded-event counter, so Count is that counter, covering
	// whatever the tracer lost before the packet's end (babeltrace2:
	// "Tracer may have discarded events").
	CountUnknown bool

	// Values holds every decoded field of the event (and of its packet's
	// header and context); Root gives the index of each scope's root
	// struct in Values, -1 when the scope is absent.
	Values []Value
	Root   [7]int32 // indexed by meta.Scope
	Text   []byte

	// TimeOverflow says the time does not fit in an int64 (a clock offset
	// beyond 292 years, tracecompass/funky-trace): NS then holds the time
	// modulo 2^64, to be read as uint64(NS), as babeltrace 1 prints it.
	TimeOverflow bool

	stamp uint64 // which packet's values Values starts with (0: none)
}

// Scope returns the root value of a scope, or nil when the event has none.
func (e *Event) Scope(s meta.Scope) *Value {
	i := e.Root[s]
	if i < 0 {
		return nil
	}
	return &e.Values[i]
}

// Field returns member i of the root struct of scope s. Resolve i once per
// event class with the scope's Class.FieldIndex.
func (e *Event) Field(s meta.Scope, i int) *Value {
	r := e.Root[s]
	if r < 0 {
		return nil
	}
	root := &e.Values[r]
	if i < 0 || i >= int(root.N) {
		return nil
	}
	return &e.Values[int(root.Start)+i]
}

// Child returns child i of a compound value.
func (e *Event) Child(v *Value, i int) *Value { return &e.Values[int(v.Start)+i] }

// Bytes returns the bytes of a string, text array or blob value. They
// stay valid until the next read.
func (e *Event) Bytes(v *Value) []byte { return e.Text[v.Start : v.Start+v.N] }

// String returns a string value as a Go string (it allocates).
func (e *Event) String(v *Value) string { return string(e.Bytes(v)) }

// UnsafeString returns a string value without copying; it is valid only
// until the next read. Use it for map look-ups on hot paths.
func (e *Event) UnsafeString(v *Value) string {
	b := e.Bytes(v)
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Source is a sequence of messages in time order: a trace folder (several
// traces merged), or a live session. Analyses and the top read any Source.
type Source interface {
	// Read decodes the next message into ev; io.EOF at the end.
	Read(ev *Event) error
	// Traces returns the traces read so far (a live source may add some).
	Traces() []*Trace
	Close() error
}

package ctf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// ErrNoMetadata is returned by LiveStream.AddPacket when the stream's trace
// has no metadata yet: fetch the metadata first.
var ErrNoMetadata = errors.New("ctf: packet before any metadata")

// Feeder is called by a LiveReader that cannot deliver its next message:
// each stream in blocking has nothing decoded and no bound at or after
// the oldest message held by the other streams (or no bound at all).
// Feed must make progress (add packets, beacons, streams, end streams, or
// call EndStreams) or wait a little before returning; an error ends the
// reading and is returned by Read.
type Feeder interface {
	Feed(blocking []*LiveStream) error
}

// FeederFunc adapts a function to Feeder.
type FeederFunc func(blocking []*LiveStream) error

// Feed calls f.
func (f FeederFunc) Feed(b []*LiveStream) error { return f(b) }

// LiveReader merges, in time order, the streams of traces whose metadata
// and packets arrive over time (a live session). A stream that has nothing
// decoded holds the others back only until it has data, or until a bound
// (a beacon, the end of its last packet) says it has nothing older than
// the oldest pending message; a stream that has ended holds nothing back.
// It never delivers an event older than one already delivered: such a
// late event (the producer race of LTTng's live timer) is dropped and
// counted (Late).
//
// LiveReader implements Source (its Close does nothing: close what feeds
// it). It is not safe for concurrent use; the Feeder runs inside Read.
type LiveReader struct {
	feed     Feeder
	traces   []*Trace
	streams  []*LiveStream
	heap     liveHeap
	blocking []*LiveStream
	lastNS   int64
	haveLast bool
	ended    bool // no stream will be added any more
	late     uint64
	err      error
}

var _ Source = (*LiveReader)(nil)

// NewLiveReader returns a reader fed by feed.
func NewLiveReader(feed Feeder) *LiveReader {
	return &LiveReader{feed: feed}
}

// LiveTrace is one trace of a live reader: its metadata grows over time.
type LiveTrace struct {
	r    *LiveReader
	pub  *Trace
	tp   *tracePlan
	mlen int
	strs []*LiveStream
}

// LiveStream is one data stream of a live trace: whole packets are added
// as they arrive, beacons raise its bound.
type LiveStream struct {
	t        *LiveTrace
	st       stream
	name     string
	seq      int
	ended    bool
	hasBound bool
	bound    int64 // ns: the stream has nothing older than this
	inHeap   bool
}

// AddTrace adds a trace named path (a URL and trace path for a live
// session); its metadata comes with SetMetadata.
func (r *LiveReader) AddTrace(path string) *LiveTrace {
	t := &LiveTrace{r: r, pub: &Trace{Path: path, Dirs: []string{path}}}
	r.traces = append(r.traces, t.pub)
	return t
}

// Trace returns the public trace.
func (t *LiveTrace) Trace() *Trace { return t.pub }

// MetadataLen returns the number of metadata bytes in use.
func (t *LiveTrace) MetadataLen() int { return t.mlen }

// SetMetadata sets the whole metadata received so far (it only grows:
// LTTng appends event classes as applications register them). Longer
// metadata is parsed and compiled again and every stream of the trace
// decodes its next events with it. Shorter or equal metadata is ignored.
func (t *LiveTrace) SetMetadata(b []byte) error {
	if len(b) <= t.mlen {
		return nil
	}
	mt, err := parseMetadata(b)
	if err != nil {
		return &MetadataError{Path: t.pub.Path, Err: err}
	}
	tp, err := compileTrace(mt)
	if err != nil {
		return &MetadataError{Path: t.pub.Path, Err: err}
	}
	for _, ls := range t.strs {
		s := &ls.st
		if s.sp == nil {
			continue
		}
		sp := tp.byID[s.sp.class.ID]
		if sp == nil {
			return &MetadataError{Path: t.pub.Path, Err: fmt.Errorf("stream class %d of stream %q is gone from the new metadata", s.sp.class.ID, ls.name)}
		}
		s.tp, s.sp = tp, sp
		s.pub.Class = sp.class
	}
	t.tp, t.mlen = tp, len(b)
	t.pub.Meta = mt
	t.pub.Hostname, _ = mt.EnvString("hostname")
	return nil
}

// AddStream adds a data stream to the trace. Until it gets a packet or a
// beacon it holds every other stream back.
func (t *LiveTrace) AddStream(name string) *LiveStream {
	r := t.r
	ls := &LiveStream{t: t, name: name}
	ls.st.order = len(r.streams)
	ls.st.done = true // no packet yet
	r.streams = append(r.streams, ls)
	t.strs = append(t.strs, ls)
	return ls
}

// Name returns the stream's name.
func (ls *LiveStream) Name() string { return ls.name }

// Stream returns the public stream, nil before the first packet.
func (ls *LiveStream) Stream() *Stream { return ls.st.pub }

// Trace returns the stream's trace.
func (ls *LiveStream) Trace() *LiveTrace { return ls.t }

// Ended says End was called.
func (ls *LiveStream) Ended() bool { return ls.ended }

// Bound returns the time (ns from the clock origin) before which the
// stream will deliver nothing more, when known.
func (ls *LiveStream) Bound() (int64, bool) { return ls.bound, ls.hasBound }

// Pending says the stream holds a decoded message not yet delivered.
func (ls *LiveStream) Pending() bool { return ls.inHeap }

// AddPacket adds one whole packet (or several back to back) of the
// stream, in the tracer's byte order, padding included or not. The bytes
// are kept until the packet is decoded; the caller must not modify them.
func (ls *LiveStream) AddPacket(data []byte) error {
	t := ls.t
	if t.tp == nil {
		return ErrNoMetadata
	}
	if ls.ended {
		return fmt.Errorf("ctf: packet added to the ended stream %q", ls.name)
	}
	s := &ls.st
	name := t.pub.Path + "/" + ls.name + " packet " + strconv.Itoa(ls.seq)
	ls.seq++
	fi, err := indexData(name, bytes.NewReader(data), int64(len(data)), t.tp, Options{NoIndex: true})
	if err != nil {
		return err
	}
	if len(fi.packets) == 0 {
		return fi.err
	}
	if s.tailErr != nil {
		return s.tailErr // nothing after the damage
	}
	// Damage after the first good packet: the good ones are delivered,
	// then reading reports the damage, as for a file.
	s.tailErr = fi.err
	if s.sp == nil {
		s.tp, s.sp = t.tp, fi.sp
		p0 := fi.packets[0]
		s.pub = &Stream{Trace: t.pub, Class: fi.sp.class, Name: ls.name, CPU: fi.cpu, InstanceID: uint64(s.order)}
		if p0.HasInstance {
			s.pub.InstanceID = p0.Instance
		}
	} else if fi.sp != s.sp {
		return &FormatError{File: name, Msg: fmt.Sprintf("packet of stream class %d in a stream of class %d", fi.packets[0].StreamID, s.sp.class.ID)}
	}
	// Forget the packets already decoded (their bytes were copied).
	if !s.inPacket && s.pi >= len(s.packets) {
		clear(s.files)
		s.files, s.packets, s.pi = s.files[:0], s.packets[:0], 0
	}
	fno := len(s.files)
	s.files = append(s.files, streamFile{path: name, size: int64(len(data)), mem: bytes.NewReader(data)})
	for _, p := range fi.packets {
		p.File = fno
		s.packets = append(s.packets, p)
		if p.HasTimes && s.sp.clock != nil {
			if ns, ok := s.sp.clock.ns(p.End); ok {
				ls.raise(ns)
			}
		}
	}
	if s.done {
		s.done = false
	}
	if !ls.inHeap {
		ls.fill()
	}
	return nil
}

// fill decodes the stream's next message and puts the stream in the heap
// when there is one.
func (ls *LiveStream) fill() {
	s := &ls.st
	s.advance()
	if s.err != nil {
		if ls.t.r.err == nil {
			ls.t.r.err = s.err
		}
		return
	}
	if s.valid {
		ls.t.r.heap.push(ls)
	}
}

// Beacon says the stream, of CTF stream class classID, has nothing older
// than the clock value cycles (LTTng's INACTIVE index). It is ignored
// before the trace has metadata.
func (ls *LiveStream) Beacon(classID, cycles uint64) {
	if ns, ok := ls.NS(classID, cycles); ok {
		ls.raise(ns)
	}
}

// NS converts a clock value of the stream (of CTF stream class classID
// when the stream has had no packet yet) to nanoseconds from the clock
// origin; ok is false without metadata or clock.
func (ls *LiveStream) NS(classID, cycles uint64) (ns int64, ok bool) {
	sp := ls.st.sp
	if sp == nil && ls.t.tp != nil {
		sp = ls.t.tp.byID[classID]
	}
	if sp == nil || sp.clock == nil {
		return 0, false
	}
	return sp.clock.ns(cycles)
}

// SetBound says the stream has nothing older than ns (nanoseconds from the
// clock origin).
func (ls *LiveStream) SetBound(ns int64) { ls.raise(ns) }

func (ls *LiveStream) raise(ns int64) {
	if !ls.hasBound || ns > ls.bound {
		ls.bound, ls.hasBound = ns, true
	}
}

// End says no packet will be added to the stream any more; what it holds
// is still delivered.
func (ls *LiveStream) End() { ls.ended = true }

// EndStreams says no stream will be added any more: once every stream
// has ended and delivered everything, Read returns io.EOF.
func (r *LiveReader) EndStreams() { r.ended = true }

// Streams returns every stream added so far.
func (r *LiveReader) Streams() []*LiveStream { return r.streams }

// Traces returns the traces added so far.
func (r *LiveReader) Traces() []*Trace { return r.traces }

// Late returns the number of events dropped because they were older than
// an event already delivered.
func (r *LiveReader) Late() uint64 { return r.late }

// Watermark returns the time (ns) up to which every message was delivered:
// no message older than it will come. ok is false while a stream has no
// known bound.
func (r *LiveReader) Watermark() (ns int64, ok bool) {
	ns = math.MaxInt64
	for _, ls := range r.streams {
		switch {
		case ls.inHeap:
			ns = min(ns, ls.st.key)
		case ls.ended:
		case !ls.hasBound:
			return 0, false
		default:
			ns = min(ns, ls.bound)
		}
	}
	if r.haveLast {
		ns = max(ns, r.lastNS)
	}
	return ns, true
}

// Close does nothing: the reader owns no file.
func (r *LiveReader) Close() error { return nil }

// Read decodes the next message, in time order over all streams, into ev:
// it calls the Feeder while some stream holds the others back. io.EOF once
// EndStreams was called and every stream has ended and been drained.
func (r *LiveReader) Read(ev *Event) error {
	for {
		if r.err != nil {
			return r.err
		}
		var top *LiveStream
		if len(r.heap) > 0 {
			top = r.heap[0]
		}
		r.blocking = r.blocking[:0]
		for _, ls := range r.streams {
			if ls.inHeap || ls.ended {
				continue
			}
			if top != nil && ls.hasBound && ls.bound >= top.st.key {
				continue
			}
			r.blocking = append(r.blocking, ls)
		}
		if top != nil && len(r.blocking) == 0 {
			if r.emit(top, ev) {
				return nil
			}
			continue
		}
		if top == nil && len(r.blocking) == 0 && r.ended {
			return io.EOF
		}
		if err := r.feed.Feed(r.blocking); err != nil {
			if r.err == nil {
				r.err = err
			}
		}
	}
}

// emit moves the head of ls into ev, or drops it when it is late.
func (r *LiveReader) emit(ls *LiveStream, ev *Event) bool {
	s := &ls.st
	late := s.head.Kind == KindEvent && s.head.HasTime && r.haveLast && s.key < r.lastNS
	if late {
		r.late++
	} else {
		*ev, s.head = s.head, *ev
		if ev.Kind == KindEvent && ev.HasTime {
			r.lastNS, r.haveLast = ev.NS, true
		}
	}
	s.advance()
	switch {
	case s.err != nil:
		// Deliver what came before the damage; the next Read reports it.
		r.err = s.err
		r.heap.remove0()
	case s.valid:
		r.heap.fix0()
	default:
		r.heap.remove0()
	}
	return !late
}

// liveHeap is a min-heap of live streams keyed by their next message's
// time; ties are broken as the file reader does (trace path, then stream
// name in natural order) so that both print the same.
type liveHeap []*LiveStream

func (h liveHeap) less(i, j int) bool {
	a, b := h[i], h[j]
	if a.st.key != b.st.key {
		return a.st.key < b.st.key
	}
	if pa, pb := a.t.pub.Path, b.t.pub.Path; pa != pb {
		return pa < pb
	}
	if a.name != b.name {
		return naturalLess(a.name, b.name)
	}
	return a.st.order < b.st.order
}

func (h liveHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (h liveHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (h *liveHeap) push(ls *LiveStream) {
	ls.inHeap = true
	*h = append(*h, ls)
	h.up(len(*h) - 1)
}

func (h liveHeap) fix0() { h.down(0) }

func (h *liveHeap) remove0() {
	old := *h
	old[0].inHeap = false
	n := len(old) - 1
	old[0] = old[n]
	old[n] = nil
	*h = old[:n]
	h.down(0)
}

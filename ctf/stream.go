package ctf

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/tracetop/tracetop/ctf/meta"
)

// PacketInfo describes one packet of a stream, from the LTTng index file
// when there is one, else from the packet's header and context.
type PacketInfo struct {
	File      int    // index in the stream's Files
	Offset    int64  // bytes from the start of the file
	Size      int64  // bytes, padding included
	Content   uint64 // bits of header, context and events
	Begin     uint64 // timestamp_begin (cycles), 0 when HasTimes is false
	End       uint64 // timestamp_end (cycles)
	HasTimes  bool
	Discarded uint64 // events_discarded snapshot
	HasDisc   bool
	SeqNum    uint64 // packet_seq_num
	HasSeq    bool
	StreamID  uint64 // stream class id
	// Instance is the stream_instance_id, when HasInstance.
	Instance    uint64
	HasInstance bool
	fromIndex   bool
	// declared is, for the last packet of a file that ends inside it,
	// the packet's size in bytes by its packet_size (Size is then what
	// the file holds); 0 otherwise.
	declared int64
}

// streamFile is one data file of a stream.
type streamFile struct {
	path string
	size int64
	f    *os.File
	mem  io.ReaderAt // in-memory data (fuzzing), instead of the file
}

// stream reads the messages of one data stream, packet after packet. It
// keeps the next message decoded in head for the merge.
type stream struct {
	pub     *Stream
	tp      *tracePlan
	sp      *streamPlan
	files   []streamFile
	packets []PacketInfo
	order   int // position in the reader, for deterministic ties

	pi int // packet being read (index in packets)
	// A packet larger than maxPacketBuf is read through a window of its
	// bytes: buf holds bytes [base, base+bufLen) of the packet, and the
	// decoder's offsets are relative to base (a multiple of 4096 bytes,
	// so alignments hold).
	base       uint64
	bufLen     int
	contentAbs uint64 // content size of the packet, bits
	// declContent is the content size the packet context declares, bits
	// (larger than contentAbs when the file ends inside the packet).
	declContent uint64
	windowed    bool
	loads       int // packets decoded so far (tests check seeking)
	inPacket    bool
	buf         []byte
	dec         decoder
	pktVals     []Value
	pktText     []byte
	pktRoot     [3]int32
	pktStamp    uint64

	prevDisc uint64
	prevSeq  uint64
	prevEnd  uint64
	havePrev bool
	pendDisc uint64 // discarded events to report before the next event
	// discUnknown says pendDisc is only the first packet's counter.
	discUnknown bool
	pendLost    uint64
	discBegin   uint64
	discEnd     uint64
	lostBegin   uint64
	lostEnd     uint64

	// tailErr is the damage found after the last indexed packet.
	tailErr error

	head Event
	// spare holds event buffers of this stream handed back by Read (see
	// Reader.Read): a buffer that last held this stream's event already
	// starts with its packet's values most of the time.
	spareVals  []Value
	spareText  []byte
	spareStamp uint64
	hasSpare   bool
	key        int64 // merge key of head
	err        error // sticky: the stream cannot go on
	done       bool
	valid      bool // head holds a message
}

// stampSeq numbers decoded packets, process-wide, so that an event buffer
// can tell whether it already holds a packet's values.
var stampSeq atomic.Uint64

// maxPacketBuf is the largest packet read into memory whole; a larger one
// is read through a sliding window, so memory stays bounded whatever the
// packet size (a stream without packet_size is one packet).
var maxPacketBuf = 4 << 20

func (s *stream) fileName() string { return s.files[s.packets[s.pi].File].path }

func (s *stream) formatErr(bit uint64, msg string) error {
	p := s.packets[s.pi]
	return &FormatError{File: s.files[p.File].path, Off: p.Offset + int64(s.base) + int64(bit/8), Msg: msg}
}

// loadPacket reads packet s.pi and decodes its header and context.
func (s *stream) loadPacket() error {
	p := &s.packets[s.pi]
	f := &s.files[p.File]
	n := int(p.Size)
	s.loads++
	s.base = 0
	s.windowed = p.Size > int64(maxPacketBuf)
	if s.windowed {
		n = maxPacketBuf
	}
	s.bufLen = n
	if cap(s.buf) < n+bufPad {
		s.buf = make([]byte, n+bufPad)
	}
	s.buf = s.buf[:n+bufPad]
	clear(s.buf[n:])
	if err := f.open(); err != nil {
		return err
	}
	var ra io.ReaderAt = f.f
	if f.mem != nil {
		ra = f.mem
	}
	if _, err := ra.ReadAt(s.buf[:n], p.Offset); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("ctf: read packet at byte %#x of %s: %w", p.Offset, f.path, err)
	}
	d := &s.dec
	d.buf = s.buf
	d.end = uint64(n) * 8
	d.off = 0
	d.err = nil
	d.empty = 0
	d.vals = s.pktVals[:0]
	d.text = s.pktText[:0]
	var root [7]int32
	d.root = &root
	info, err := decodeHead(d, s.tp, p.Size)
	s.pktVals, s.pktText = d.vals, d.text
	if err != nil && !(p.declared > 0 && info.cut) {
		bit := d.errBit()
		var de *decodeError
		if errors.As(err, &de) {
			bit = de.bit // (checks made after decoding, like the magic's, say where)
		}
		return s.formatErr(bit, err.Error())
	}
	if info.sp != s.sp {
		return s.formatErr(0, fmt.Sprintf("packet of stream class %d in a stream of class %d", info.StreamID, s.sp.class.ID))
	}
	if p.fromIndex && (uint64(p.Size)*8 != info.size || p.Content != info.Content) {
		return s.formatErr(0, fmt.Sprintf("packet of %d bits with %d bits of content, but the index says %d and %d",
			info.size, info.Content, p.Size*8, p.Content))
	}
	s.declContent = info.Content
	s.contentAbs = min(info.Content, uint64(p.Size)*8)
	d.end = min(s.contentAbs, uint64(n)*8)
	s.pktRoot = [3]int32{-1, root[meta.ScopePacketHeader], root[meta.ScopePacketContext]}
	s.pktStamp = stampSeq.Add(1)
	// Discarded events (counter snapshots) and lost packets (sequence gaps).
	if info.HasDisc {
		delta := info.Discarded - s.prevDisc
		if info.Discarded < s.prevDisc && d.discBits < 64 {
			delta = info.Discarded + (1 << d.discBits) - s.prevDisc
		}
		if delta > 0 {
			s.pendDisc = delta
			// The stream's first packet already counts discarded events:
			// how many were lost before it is unknown (babeltrace2:
			// "Tracer may have discarded events").
			s.discUnknown = !s.havePrev
			s.discBegin, s.discEnd = info.Begin, info.End
			if s.havePrev {
				s.discBegin = s.prevEnd
			}
		}
		s.prevDisc = info.Discarded
	}
	if info.HasSeq {
		if s.havePrev && info.SeqNum > s.prevSeq+1 {
			s.pendLost = info.SeqNum - s.prevSeq - 1
			s.lostBegin, s.lostEnd = s.prevEnd, info.Begin
		}
		s.prevSeq = info.SeqNum
	}
	s.prevEnd = info.End
	s.havePrev = true
	d.last = info.Begin
	return nil
}

func (d *decoder) errBit() uint64 {
	if d.err != nil {
		return d.err.bit
	}
	return d.off
}

// headInfo is what a packet header and context say.
type headInfo struct {
	PacketInfo
	sp   *streamPlan
	size uint64 // packet size in bits
	// cut says the packet goes past the end of the file (the error
	// returned then says so; the other fields are set).
	cut bool
}

// decodeHead decodes the packet header and context at d.off = 0. avail is
// the number of bytes from the packet start to the end of the file.
func decodeHead(d *decoder, tp *tracePlan, avail int64) (headInfo, error) {
	var h headInfo
	d.got = 0
	d.last = 0
	d.scope(meta.ScopePacketHeader, tp.packetHeader)
	if d.err != nil {
		return h, d.err
	}
	if d.got&meta.RolePacketMagic != 0 && d.magic != 0xC1FC1FC1 {
		return h, &decodeError{bit: 0, msg: fmt.Sprintf("bad packet magic %#x (want 0xc1fc1fc1)", d.magic)}
	}
	// The packet uuid is not checked against the trace's: babeltrace2
	// reads traces whose streams carry another uuid (intersection-*).
	if d.got&meta.RoleStreamClassID != 0 {
		h.StreamID = d.streamID
		h.sp = tp.byID[d.streamID]
	} else if len(tp.streams) == 1 {
		h.sp = tp.streams[0]
		h.StreamID = h.sp.class.ID
	}
	if h.sp == nil {
		return h, &decodeError{bit: 0, msg: fmt.Sprintf("packet of unknown stream class %d", h.StreamID)}
	}
	if d.got&meta.RoleStreamInstanceID != 0 {
		h.Instance, h.HasInstance = d.instID, true
	}
	d.scope(meta.ScopePacketContext, h.sp.packetContext)
	if d.err != nil {
		return h, d.err
	}
	h.size = uint64(avail) * 8
	if d.got&meta.RolePacketSize != 0 {
		h.size = d.pktSize
		if h.size%8 != 0 || h.size == 0 {
			return h, &decodeError{bit: 0, msg: fmt.Sprintf("packet size of %d bits is not a positive number of bytes", h.size)}
		}
		if h.size/8 > uint64(avail) {
			h.cut = true
		}
	}
	h.Content = h.size
	if d.got&meta.RoleContentSize != 0 {
		h.Content = d.content
		if h.Content > h.size {
			return h, &decodeError{bit: 0, msg: fmt.Sprintf("content size of %d bits is larger than the packet size of %d bits", h.Content, h.size)}
		}
	}
	if d.off > h.Content {
		return h, &decodeError{bit: d.off, msg: fmt.Sprintf("packet header and context (%d bits) are larger than the packet content (%d bits)", d.off, h.Content)}
	}
	h.Size = int64(h.size / 8)
	if d.got&meta.RoleTimestampBegin != 0 {
		h.Begin, h.HasTimes = d.tsBegin, true
		h.End = h.Begin
	}
	if d.got&meta.RoleTimestampEnd != 0 {
		h.End = d.tsEnd
		h.HasTimes = true
	}
	if d.got&meta.RoleEventsDiscarded != 0 {
		h.Discarded, h.HasDisc = d.discarded, true
	}
	if d.got&meta.RolePacketSeqNum != 0 {
		h.SeqNum, h.HasSeq = d.seq, true
	}
	if h.cut {
		return h, &decodeError{bit: 0, msg: fmt.Sprintf("packet of %d bytes goes past the end of the file (%d bytes left)", h.size/8, avail)}
	}
	return h, nil
}

func (f *streamFile) open() error {
	if f.f != nil || f.mem != nil {
		return nil
	}
	fh, err := os.Open(f.path)
	if err != nil {
		return fmt.Errorf("ctf: %w", err)
	}
	f.f = fh
	return nil
}

func (f *streamFile) close() {
	if f.f != nil {
		f.f.Close()
		f.f = nil
	}
}

var errEndOfStream = errors.New("end of stream")

// advance decodes the next message of the stream into s.head.
func (s *stream) advance() {
	s.valid = false
	if s.err != nil || s.done {
		return
	}
	for {
		if !s.inPacket {
			if s.pi >= len(s.packets) {
				if s.tailErr != nil {
					s.err = s.tailErr
					return
				}
				s.done = true
				for i := range s.files {
					s.files[i].close()
				}
				return
			}
			if err := s.loadPacket(); err != nil {
				s.err = err
				return
			}
			s.inPacket = true
		}
		if s.pendDisc > 0 || s.pendLost > 0 {
			s.message()
			return
		}
		if s.dec.off < s.contentAbs-s.base*8 {
			if s.windowed && s.dec.end-s.dec.off < uint64(maxPacketBuf)*2 && !s.windowAtEnd() {
				if err := s.slide(maxPacketBuf); err != nil {
					s.err = err
					return
				}
			}
			if err := s.decodeEvent(); err != nil {
				s.err = err
				return
			}
			s.valid = true
			return
		}
		s.inPacket = false
		s.pi++
	}
}

// message fills head with a pending discarded-events or lost-packets
// message (babeltrace2 reports discarded events first).
func (s *stream) message() {
	ev := &s.head
	ev.Class = nil
	ev.Stream = s.pub
	ev.Values = ev.Values[:0]
	ev.Text = ev.Text[:0]
	ev.Root = [7]int32{-1, -1, -1, -1, -1, -1, -1}
	ev.stamp = 0
	var b, e uint64
	if s.pendDisc > 0 {
		ev.Kind, ev.Count = KindDiscarded, s.pendDisc
		ev.CountUnknown = s.discUnknown
		b, e = s.discBegin, s.discEnd
		s.pendDisc = 0
	} else {
		ev.CountUnknown = false
		ev.Kind, ev.Count = KindLostPackets, s.pendLost
		b, e = s.lostBegin, s.lostEnd
		s.pendLost = 0
	}
	p := &s.packets[s.pi]
	ev.HasBounds = p.HasTimes && s.sp.clock != nil
	ev.BeginCycle, ev.EndCycle = b, e
	ev.HasTime = s.sp.clock != nil
	if ev.HasBounds {
		ev.BeginNS, _ = s.sp.clock.ns(b)
		ev.EndNS, _ = s.sp.clock.ns(e)
		s.key = ev.BeginNS
	}
	ev.NS = s.key
	ev.Cycles = b
	s.valid = true
}

// decodeEvent decodes the event at the cursor into s.head; in a windowed
// packet, an event that fails before the window reaches the end of the
// content is decoded again with a wider window.
func (s *stream) decodeEvent() error {
	d := &s.dec
	for {
		start, last, empty := d.off, d.last, d.empty
		err, decErr := s.decodeEventOnce()
		if err == nil || !decErr || !s.windowed || s.windowAtEnd() {
			return err
		}
		d.off, d.last, d.empty, d.err = start, last, empty, nil
		if err := s.slide(2 * s.bufLen); err != nil {
			return err
		}
	}
}

func (s *stream) windowAtEnd() bool {
	return (s.base+uint64(s.bufLen))*8 >= s.contentAbs
}

// slide moves the window of a large packet to start at the 4096-byte
// boundary before the cursor and fills it with (at least) want bytes.
func (s *stream) slide(want int) error {
	p := &s.packets[s.pi]
	f := &s.files[p.File]
	d := &s.dec
	cur := int(d.off/8) &^ 4095
	keep := s.bufLen - cur
	total := max(want, keep)
	if rest := int(p.Size - int64(s.base) - int64(cur)); total > rest {
		total = rest
	}
	if cap(s.buf) < total+bufPad {
		nb := make([]byte, total+bufPad)
		copy(nb, s.buf[cur:cur+keep])
		s.buf = nb
	} else {
		s.buf = s.buf[:total+bufPad]
		copy(s.buf, s.buf[cur:cur+keep])
	}
	clear(s.buf[total:])
	var ra io.ReaderAt = f.f
	if f.mem != nil {
		ra = f.mem
	}
	at := p.Offset + int64(s.base) + int64(cur) + int64(keep)
	if _, err := ra.ReadAt(s.buf[keep:total], at); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("ctf: read packet at byte %#x of %s: %w", at, f.path, err)
	}
	s.base += uint64(cur)
	s.bufLen = total
	d.off -= uint64(cur) * 8
	d.buf = s.buf
	d.end = min(s.contentAbs-s.base*8, uint64(total)*8)
	return nil
}

func (s *stream) decodeEventOnce() (err error, decErr bool) {
	d := &s.dec
	ev := &s.head
	if ev.stamp == s.pktStamp && len(ev.Values) >= len(s.pktVals) && len(ev.Text) >= len(s.pktText) {
		// This buffer already starts with the values of this packet.
		d.vals = ev.Values[:len(s.pktVals)]
		d.text = ev.Text[:len(s.pktText)]
	} else {
		d.vals = append(ev.Values[:0], s.pktVals...)
		d.text = append(ev.Text[:0], s.pktText...)
	}
	ev.stamp = 0
	ev.Root = [7]int32{s.pktRoot[0], s.pktRoot[1], s.pktRoot[2], -1, -1, -1, -1}
	d.root = &ev.Root
	d.got = 0
	start := d.off
	sp := s.sp
	if h := sp.header; h == nil || noFastPaths || !d.header(h) {
		d.scope(meta.ScopeEventHeader, sp.eventHeader)
	}
	if d.err != nil {
		ev.Values, ev.Text = d.vals, d.text
		return s.eventErr(start), true
	}
	var ep *eventPlan
	if d.got&meta.RoleEventClassID != 0 {
		ep = sp.event(d.id)
		if ep == nil {
			return s.formatErr(start, fmt.Sprintf("unknown event class id %d in stream class %d", d.id, sp.class.ID)), false
		}
	} else if ep = sp.single; ep == nil {
		if ep = sp.event(0); ep == nil {
			return s.formatErr(start, "event header has no event class id and the stream has several event classes"), false
		}
	}
	d.scope(meta.ScopeEventCommonContext, sp.eventContext)
	d.scope(meta.ScopeEventSpecificContext, ep.context)
	d.scope(meta.ScopeEventPayload, ep.payload)
	if d.err != nil {
		return s.eventErr(start), true
	}
	if d.off == start {
		return s.formatErr(start, "event of 0 bits (the stream would never end)"), false
	}
	ev.Values, ev.Text = d.vals, d.text
	ev.Kind = KindEvent
	ev.Class = ep.class
	ev.Stream = s.pub
	ev.Count = 0
	ev.HasBounds = false
	ev.stamp = s.pktStamp
	ev.Cycles = d.last
	if d.got&meta.RoleTimestamp != 0 {
		ev.Cycles = d.ts
	}
	ev.HasTime = sp.clock != nil
	ev.TimeOverflow = false
	if ev.HasTime {
		var ok bool
		ev.NS, ok = sp.clock.ns(ev.Cycles)
		if !ok {
			ev.NS = sp.clock.wrappedNS(ev.Cycles)
			ev.TimeOverflow = true
		}
		s.key = ev.NS
	} else {
		ev.NS = 0
	}
	return nil, false
}

func (s *stream) eventErr(start uint64) error {
	d := &s.dec
	msg := d.err.msg
	bit := d.err.bit
	end := d.err.end
	d.err = nil
	p := &s.packets[s.pi]
	at := p.Offset + int64(s.base) + int64(start/8)
	if end && p.declared > 0 && s.contentAbs < s.declContent {
		// The event needs bytes the file does not hold.
		return &FormatError{File: s.files[p.File].path, Off: p.Offset + p.Size,
			Msg: fmt.Sprintf("file ends inside the event at byte %#x (the packet at byte %#x has %d bytes by its packet_size, the file holds %d)",
				at, p.Offset, p.declared, p.Size)}
	}
	return s.formatErr(bit, fmt.Sprintf("event at byte %#x: %s", at, msg))
}

package writer

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// PacketMagic starts every data packet (CTF 1.8 packet header magic).
const PacketMagic = 0xC1FC1FC1

// PacketHeaderSize is the size of the packet header plus the LTTng kernel
// packet context: magic, uuid, stream_id, stream_instance_id,
// timestamp_begin, timestamp_end, content_size, packet_size,
// packet_seq_num, events_discarded, cpu_id.
const PacketHeaderSize = 4 + 16 + 4 + 8 + 8*6 + 4

// pageSize is the granule packets are padded to, as lttng-consumerd pads
// flushed sub-buffers.
const pageSize = 4096

// byte offsets of the packet context fields patched when a packet closes
const (
	offTSBegin   = 32
	offTSEnd     = 40
	offContent   = 48
	offPacket    = 56
	offSeq       = 64
	offDiscarded = 72
	offCPU       = 80
)

// compactMaxID is the largest id the 5-bit compact event header holds.
const compactMaxID = 30

// ErrClosed is returned by a Stream used after Close.
var ErrClosed = errors.New("stream closed")

// StreamConfig describes one data stream (one CPU of one channel).
type StreamConfig struct {
	Name        string // file name, e.g. "channel0_1"
	StreamClass uint32 // stream class (channel) id
	InstanceID  uint64 // stream_instance_id, unique within the trace
	CPU         uint32
	PacketSize  int // largest packet in bytes (the sub-buffer size); rounded up to 4 KiB
	UUID        [16]byte
}

// Stream packs events into CTF packets and hands whole packets to a Sink.
// It is not safe for concurrent use: one goroutine owns a stream.
type Stream struct {
	cfg       StreamConfig
	sink      Sink
	buf       []byte // open packet; len(buf) == 0 when none is open
	begin     uint64
	last      uint64 // timestamp of the last event (or packet bound) written
	seq       uint64
	discarded uint64
	events    int
	closed    bool
}

// NewStream makes the writer of one stream. Nothing is written until the
// first event, flush or beacon.
func NewStream(cfg StreamConfig, sink Sink) (*Stream, error) {
	if cfg.PacketSize < pageSize {
		cfg.PacketSize = pageSize
	}
	cfg.PacketSize = (cfg.PacketSize + pageSize - 1) &^ (pageSize - 1)
	if cfg.Name == "" {
		return nil, fmt.Errorf("stream: empty name")
	}
	return &Stream{cfg: cfg, sink: sink, buf: make([]byte, 0, cfg.PacketSize)}, nil
}

// Name returns the stream's file name.
func (s *Stream) Name() string { return s.cfg.Name }

// Last returns the latest timestamp written (events are clamped to it).
func (s *Stream) Last() uint64 { return s.last }

// Events returns how many events were appended.
func (s *Stream) Events() int { return s.events }

// AddDiscarded counts n events lost by the tracer before the next event;
// the count goes into the events_discarded field of the packets.
func (s *Stream) AddDiscarded(n uint64) { s.discarded += n }

// Discarded returns the running count of discarded events.
func (s *Stream) Discarded() uint64 { return s.discarded }

func (s *Stream) open(ts uint64) {
	b := s.buf[:PacketHeaderSize]
	clear(b)
	binary.LittleEndian.PutUint32(b[0:], PacketMagic)
	copy(b[4:20], s.cfg.UUID[:])
	binary.LittleEndian.PutUint32(b[20:], s.cfg.StreamClass)
	binary.LittleEndian.PutUint64(b[24:], s.cfg.InstanceID)
	binary.LittleEndian.PutUint32(b[offCPU:], s.cfg.CPU)
	s.buf = b
	s.begin = ts
}

// eventSize returns the size of an event with payload n and header for id/delta.
func headerSize(id uint32, delta uint64) int {
	if id <= compactMaxID && delta < 1<<27 {
		return 4
	}
	return 13
}

// Append writes one event: the class id, the timestamp (monotonic ns), the
// stream event context bytes (nil without add-context) and the payload.
// A timestamp earlier than the previous event is raised to it, since a
// CTF stream must not go back in time. An event larger than a packet is
// an error.
func (s *Stream) Append(ts uint64, id uint32, ctx, payload []byte) error {
	if s.closed {
		return ErrClosed
	}
	if ts < s.last {
		ts = s.last
	}
	if len(s.buf) == 0 {
		s.open(ts)
		s.last = ts
	}
	need := headerSize(id, ts-s.last) + len(ctx) + len(payload)
	if len(s.buf)+need > s.cfg.PacketSize {
		if PacketHeaderSize+13+len(ctx)+len(payload) > s.cfg.PacketSize {
			return fmt.Errorf("stream %s: event of %d bytes does not fit a %d-byte packet", s.cfg.Name, len(ctx)+len(payload), s.cfg.PacketSize)
		}
		if err := s.Flush(s.last); err != nil {
			return err
		}
		s.open(s.last)
		need = headerSize(id, ts-s.last) + len(ctx) + len(payload)
	}
	b := s.buf
	if need-len(ctx)-len(payload) == 4 {
		b = binary.LittleEndian.AppendUint32(b, id|uint32(ts&(1<<27-1))<<5)
	} else {
		b = append(b, 31)
		b = binary.LittleEndian.AppendUint32(b, id)
		b = binary.LittleEndian.AppendUint64(b, ts)
	}
	b = append(b, ctx...)
	b = append(b, payload...)
	s.buf = b
	s.last = ts
	s.events++
	return nil
}

// Flush closes the open packet, if any, with timestamp_end = max(end, last
// event) and hands it to the sink. The packet is padded to a 4 KiB multiple.
func (s *Stream) Flush(end uint64) error {
	if s.closed {
		return ErrClosed
	}
	if len(s.buf) == 0 {
		return nil
	}
	return s.emit(end)
}

func (s *Stream) emit(end uint64) error {
	if end < s.last {
		end = s.last
	}
	content := len(s.buf)
	size := (content + pageSize - 1) &^ (pageSize - 1)
	b := s.buf[:size]
	clear(b[content:])
	binary.LittleEndian.PutUint64(b[offTSBegin:], s.begin)
	binary.LittleEndian.PutUint64(b[offTSEnd:], end)
	binary.LittleEndian.PutUint64(b[offContent:], uint64(content)*8)
	binary.LittleEndian.PutUint64(b[offPacket:], uint64(size)*8)
	binary.LittleEndian.PutUint64(b[offSeq:], s.seq)
	binary.LittleEndian.PutUint64(b[offDiscarded:], s.discarded)
	e := IndexEntry{
		PacketSize:       uint64(size) * 8,
		ContentSize:      uint64(content) * 8,
		TimestampBegin:   s.begin,
		TimestampEnd:     end,
		EventsDiscarded:  s.discarded,
		StreamID:         uint64(s.cfg.StreamClass),
		StreamInstanceID: s.cfg.InstanceID,
		PacketSeqNum:     s.seq,
	}
	s.seq++
	s.last = end
	s.buf = s.buf[:0]
	if err := s.sink.WritePacket(s.cfg.Name, b, e); err != nil {
		return fmt.Errorf("stream %s: write packet %d: %w", s.cfg.Name, e.PacketSeqNum, err)
	}
	return nil
}

// Beacon writes an empty packet covering [last, ts] when no packet is open,
// so that a live reader learns the stream has nothing before ts (LTTng's
// inactivity beacon); with an open packet it flushes it up to ts.
func (s *Stream) Beacon(ts uint64) error {
	if s.closed {
		return ErrClosed
	}
	if len(s.buf) == 0 {
		if ts < s.last {
			ts = s.last
		}
		s.open(s.last)
	}
	return s.emit(ts)
}

// Close flushes the open packet with timestamp_end = end and tells the
// sink the stream has ended. A stream that never got an event still gets
// one empty packet, as every LTTng stream file holds at least one.
func (s *Stream) Close(end uint64) error {
	if s.closed {
		return nil
	}
	var err error
	if len(s.buf) > 0 || s.seq == 0 {
		if len(s.buf) == 0 {
			if end < s.last {
				end = s.last
			}
			s.open(end)
		}
		err = s.emit(end)
	}
	s.closed = true
	if cerr := s.sink.CloseStream(s.cfg.Name); err == nil {
		err = cerr
	}
	return err
}

package relaysink

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/record"
	"github.com/tracetop/tracetop/internal/relay/client"
	"github.com/tracetop/tracetop/internal/relay/proto"
)

// DefaultPath is where LTTng's kernel consumer puts kernel streams in a
// trace chunk.
const DefaultPath = "kernel/"

// Options describes the relay session to create.
type Options struct {
	Control, Data string // relay addresses, host:port
	Session       string // session name
	Hostname      string // default: this machine's
	// NameHasTime tells the relay that Session already holds its
	// creation time (auto-YYYYmmdd-HHMMSS): the session folder then gets
	// no second date.
	NameHasTime bool
	Created     time.Time     // session creation time; default now
	LiveTimer   time.Duration // 0: not a live session
	Path        string        // stream path in the chunk; default DefaultPath
	// SessiondUUID identifies the session daemon (random when zero) and
	// SessionID the session within it, as lttng-sessiond sends them.
	SessiondUUID [16]byte
	SessionID    uint64
}

// Sink streams one trace to a relay: it implements writer.Sink, and its
// Live method is a record.LiveHook. Its methods are safe for concurrent
// use (the recorder writes from one goroutine per stream).
type Sink struct {
	c    *client.Client
	o    Options
	sid  proto.SessionID
	dir  string
	meta proto.StreamID

	ctlMu   sync.Mutex // control connection and stream table
	dataMu  sync.Mutex // data connection
	streams map[string]*stream
	order   []*stream
	opened  bool
	closed  bool
	err     error // first control error: the relay connection is unusable
}

// stream is one relay stream; its fields are guarded by Sink.ctlMu.
type stream struct {
	name    string
	id      proto.StreamID
	next    proto.SeqNum // next network sequence number
	sent    proto.SeqNum // last packet whose index went out (NoSeq: none)
	ctfSeq  uint64       // CTF packet_seq_num of the last packet
	ctfID   uint64       // CTF stream class id
	fresh   bool         // a packet went out since the last live tick
	bound   uint64       // latest packet end or beacon time sent
	rank    int          // position among the streams
	ended   bool         // CLOSE_STREAM sent
	packets int
}

// Dial connects to the relay and creates the session, as lttng-sessiond
// does when the session's first channel is created: live viewers may
// attach from then on. Open starts the trace.
func Dial(ctx context.Context, o Options) (*Sink, error) {
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if o.Created.IsZero() {
		o.Created = time.Now()
	}
	if o.Path == "" {
		o.Path = DefaultPath
	}
	if o.SessiondUUID == ([16]byte{}) {
		o.SessiondUUID = NewUUID()
	}
	c, err := client.Dial(ctx, o.Control, o.Data)
	if err != nil {
		return nil, err
	}
	s := &Sink{c: c, o: o, streams: map[string]*stream{}}
	cs := proto.CreateSession{SessionName: o.Session, Hostname: o.Hostname,
		LiveTimer: uint32(o.LiveTimer / time.Microsecond), NameContainsCreationTime: o.NameHasTime,
		SessiondUUID: o.SessiondUUID, SessiondSessionID: o.SessionID, CreationTime: uint64(o.Created.Unix())}
	if s.sid, s.dir, err = c.CreateSession(cs); err != nil {
		c.Close()
		return nil, fmt.Errorf("relay %s: %w", o.Control, err)
	}
	return s, nil
}

// Open starts the trace, as lttng-consumerd does at the session's first
// start: trace chunk 0, one relay stream per data stream named (more are
// announced at their first packet) and the metadata stream.
func (s *Sink) Open(streams []string) error {
	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	if s.opened || s.closed {
		return fmt.Errorf("relay session %s: %w", s.o.Session, errOpen)
	}
	if err := s.open(streams); err != nil {
		return s.fail(fmt.Errorf("relay %s: %w", s.o.Control, err))
	}
	s.opened = true
	return nil
}

var errOpen = errors.New("opened twice or after close")

func (s *Sink) open(streams []string) error {
	if err := s.c.CreateTraceChunk(0, uint64(time.Now().Unix()), ""); err != nil {
		return err
	}
	for _, name := range streams {
		if _, err := s.addStream(name); err != nil {
			return err
		}
	}
	var err error
	if s.meta, err = s.c.AddStream("metadata", s.o.Path, 0); err != nil {
		return err
	}
	return s.c.StreamsSent()
}

// addStream announces a data stream; ctlMu held (or during setup).
func (s *Sink) addStream(name string) (*stream, error) {
	id, err := s.c.AddStream(name, s.o.Path, 0)
	if err != nil {
		return nil, err
	}
	st := &stream{name: name, id: id, sent: proto.NoSeq, rank: len(s.order)}
	s.streams[name] = st
	s.order = append(s.order, st)
	return st, nil
}

// NewUUID returns a random version 4 UUID (a session daemon's identity).
func NewUUID() [16]byte {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		u[0] = 1 // never all zero: the relay refuses it
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// SessionDir returns the session's folder relative to the relay's output
// folder (HOSTNAME/SESSION-DATE-TIME).
func (s *Sink) SessionDir() string { return s.dir }

// SessionID returns the relay's id of the session.
func (s *Sink) SessionID() proto.SessionID { return s.sid }

// fail remembers the first error; ctlMu held.
func (s *Sink) fail(err error) error {
	if err != nil && s.err == nil {
		s.err = err
	}
	return err
}

// WriteMetadata implements writer.Sink: the bytes go to the metadata
// stream on the control connection.
func (s *Sink) WriteMetadata(b []byte) error {
	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	if s.err != nil {
		return s.err
	}
	if !s.opened {
		return fmt.Errorf("relay session %s: metadata before Open", s.o.Session)
	}
	return s.fail(s.c.SendMetadata(s.meta, b, 0))
}

// WritePacket implements writer.Sink: the packet's content goes on the
// data connection (its padding as a count of zero bytes), then its index
// on the control connection.
func (s *Sink) WritePacket(name string, packet []byte, e writer.IndexEntry) error {
	content := (e.ContentSize + 7) / 8
	if content > uint64(len(packet)) || e.PacketSize/8 != uint64(len(packet)) {
		return fmt.Errorf("relay stream %s: packet of %d bytes with content %d bits, size %d bits", name, len(packet), e.ContentSize, e.PacketSize)
	}
	s.ctlMu.Lock()
	if s.err != nil {
		s.ctlMu.Unlock()
		return s.err
	}
	if !s.opened {
		s.ctlMu.Unlock()
		return fmt.Errorf("relay stream %s: packet before Open", name)
	}
	st := s.streams[name]
	if st == nil {
		var err error
		if st, err = s.addStream(name); err == nil {
			err = s.c.StreamsSent()
		}
		if err != nil {
			s.ctlMu.Unlock()
			return s.fail(fmt.Errorf("relay stream %s: %w", name, err))
		}
	}
	if st.ended {
		s.ctlMu.Unlock()
		return fmt.Errorf("relay stream %s: %w", name, writer.ErrClosed)
	}
	seq := st.next
	st.next++
	s.ctlMu.Unlock()

	s.dataMu.Lock()
	err := s.c.SendPacket(st.id, seq, packet[:content], uint32(uint64(len(packet))-content))
	s.dataMu.Unlock()

	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	if err != nil {
		return s.fail(err)
	}
	err = s.c.SendIndex(proto.SendIndex{RelayStreamID: st.id, NetSeqNum: seq, PacketSize: e.PacketSize,
		ContentSize: e.ContentSize, TimestampBegin: e.TimestampBegin, TimestampEnd: e.TimestampEnd,
		EventsDiscarded: e.EventsDiscarded, StreamID: e.StreamID, StreamInstanceID: e.StreamInstanceID,
		PacketSeqNum: proto.SeqNum(e.PacketSeqNum)})
	if err != nil {
		return s.fail(err)
	}
	st.sent, st.ctfSeq, st.ctfID, st.fresh = seq, e.PacketSeqNum, e.StreamID, true
	st.bound = max(st.bound, e.TimestampEnd)
	st.packets++
	return nil
}

// Live is the recorder's live-timer hook (a record.LiveHook): a stream
// that sent no packet during the period gets a beacon saying it has
// nothing before complete.
func (s *Sink) Live(name string, complete record.Timestamp) {
	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	st := s.streams[name]
	if st == nil || s.err != nil {
		return
	}
	if st.fresh {
		st.fresh = false
		return
	}
	s.beacon(st, uint64(complete))
}

// beacon sends an index-only beacon; ctlMu held.
func (s *Sink) beacon(st *stream, ts uint64) {
	// A relay ignores the beacons of a stream without packets.
	if st.ended || st.packets == 0 {
		return
	}
	// Streams share their beacon time when a source's watermark bounds
	// them all; babeltrace2 then warns that it cannot order the identical
	// inactivity messages. Each stream's beacon is made a few ns earlier
	// (an earlier bound is still true), never earlier than what the
	// stream already told.
	if d := uint64(st.rank); ts-st.bound > d && ts > d {
		ts -= d
	}
	ts = max(ts, st.bound)
	st.bound = ts
	s.fail(s.c.SendBeacon(st.id, st.sent, st.ctfID, ts))
}

// Beacons sends a beacon at ts on every open stream, for the periods
// when the recorder does not run (a stopped live session), so that live
// viewers reach the end of what was recorded, as LTTng's live timer
// goes on until destroy. ts must not be earlier than any packet sent.
func (s *Sink) Beacons(ts uint64) error {
	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	if s.err != nil {
		return s.err
	}
	for _, st := range s.order {
		s.beacon(st, ts)
	}
	return s.err
}

// CloseStream implements writer.Sink: the relay closes the stream once
// its packets are in.
func (s *Sink) CloseStream(name string) error {
	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	st := s.streams[name]
	if st == nil || st.ended {
		return nil
	}
	st.ended = true
	if s.err != nil {
		return s.err
	}
	return s.fail(s.c.CloseStream(st.id, st.sent))
}

// Wait runs data-pending rounds, as `lttng stop` does, until the relay
// holds every packet sent, or ctx ends.
func (s *Sink) Wait(ctx context.Context) error {
	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	return s.wait(ctx)
}

func (s *Sink) wait(ctx context.Context) error {
	if s.err != nil {
		return s.err
	}
	if !s.opened {
		return nil
	}
	var pend []client.Pending
	for _, st := range s.order {
		if !st.ended && st.sent != proto.NoSeq {
			pend = append(pend, client.Pending{Stream: st.id, LastSeq: st.sent})
		}
	}
	for {
		pending, err := s.c.DataPending(s.sid, pend, []proto.StreamID{s.meta})
		if err != nil {
			return s.fail(err)
		}
		if !pending {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("relay still misses data: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Close implements writer.Sink: it ends the session as `lttng destroy`
// does (data pending, streams rotated to no chunk, chunk closed, streams
// closed) and closes the connections.
func (s *Sink) Close() error {
	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.end()
	if cerr := s.c.Close(); err == nil && s.err == nil {
		err = cerr
	}
	return err
}

func (s *Sink) end() error {
	if !s.opened || s.err != nil {
		return s.err // a session never started has no chunk to close
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.wait(ctx); err != nil {
		return err
	}
	var pos []proto.RotatePosition
	for _, st := range s.order {
		if !st.ended {
			next := proto.SeqNum(0)
			if st.packets > 0 {
				next = proto.SeqNum(st.ctfSeq + 1)
			}
			pos = append(pos, proto.RotatePosition{StreamID: st.id, RotateAtSeqNum: next})
		}
	}
	if len(pos) > 0 {
		if err := s.c.RotateStreams(proto.RotateStreams{Positions: pos}); err != nil {
			return s.fail(err)
		}
	}
	if err := s.c.RotateStreams(proto.RotateStreams{Positions: []proto.RotatePosition{{StreamID: s.meta}}}); err != nil {
		return s.fail(err)
	}
	if _, err := s.c.CloseTraceChunk(0, uint64(time.Now().Unix()), nil); err != nil {
		return s.fail(err)
	}
	if err := s.c.CloseStream(s.meta, proto.NoSeq); err != nil {
		return s.fail(err)
	}
	for _, st := range s.order {
		if !st.ended {
			st.ended = true
			if err := s.c.CloseStream(st.id, st.sent); err != nil {
				return s.fail(err)
			}
		}
	}
	return nil
}

var _ writer.Sink = (*Sink)(nil)
var _ record.LiveHook = (*Sink)(nil).Live

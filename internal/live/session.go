package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/relay/proto"
)

// Options tune Open.
type Options struct {
	// Beginning attaches from the oldest packet the relay still holds;
	// by default only packets received after attaching are read, as
	// babeltrace2 does (streams that appear later are always read from
	// their beginning).
	Beginning bool
	// Poll is the wait between two rounds of requests that brought
	// nothing new (default 20 ms; babeltrace2 waits 100 ms).
	Poll time.Duration
	// Timeout bounds the wait for each reply (default 10 s).
	Timeout time.Duration
	// Reconnect is how long to keep trying to reconnect after the
	// connection dropped (default 30 s; negative: fail at once).
	Reconnect time.Duration
	// WaitSession keeps polling the relay while the session is not
	// listed (babeltrace2's default); otherwise Open fails.
	WaitSession bool
	// Idle, if set, is called before waiting for the relay (flush output).
	Idle func()
	// Logf, if set, receives notes on reconnections and waits.
	Logf func(format string, args ...any)
	// Dial, if set, replaces the TCP connection to the relay (tests,
	// tunnels).
	Dial func(ctx context.Context, addr string) (net.Conn, error)
}

// Stats count what a session received.
type Stats struct {
	Packets    int64 // data packets
	Bytes      int64 // data packet bytes
	Beacons    int64 // INACTIVE indexes
	Skipped    int64 // packets skipped after a reconnection (already read)
	Reconnects int64
	Requests   int64 // GET_NEXT_INDEX requests
	Late       int64 // events dropped, older than one already delivered (ctf.LiveReader.Late)
}

// Session is a live session read from a relay: a ctf.Source whose Read
// blocks until the next event in time order is known (every stream has
// data or a beacon past it), and returns io.EOF when the session ends (or
// the context given to Open is cancelled: the session is then detached).
// Close detaches. Read and Close must not be called concurrently; cancel
// the context to stop a Read in progress.
type Session struct {
	*ctf.LiveReader
	url    URL
	opt    Options
	ctx    context.Context
	cancel context.CancelFunc
	c      *Client

	rsess  []*relaySession
	traces map[traceKey]*traceState
	byID   map[proto.StreamID]*streamState
	byLS   map[*ctf.LiveStream]*streamState
	byKey  map[streamKey]*streamState
	done   bool
	stats  Stats

	connMu sync.Mutex
	conn   net.Conn // the connection dialed last, cut short on cancellation
}

// cancelGrace is how long a reply in progress may still take once the
// context is cancelled: a relay that stopped answering does not hold a
// Ctrl-C up for the reply timeout.
const cancelGrace = 500 * time.Millisecond

// detachTimeout bounds the wait for each DETACH_SESSION reply.
const detachTimeout = 2 * time.Second

var _ ctf.Source = (*Session)(nil)

type relaySession struct {
	id  proto.SessionID
	hup bool // GET_NEW_STREAMS said HUP: no new stream, the producer is gone
}

type traceKey struct {
	sid  proto.SessionID
	path string
}

type traceState struct {
	lt      *ctf.LiveTrace
	metaID  proto.StreamID
	hasMeta bool
	closed  bool // the relay said ERR: no more metadata
	meta    []byte
	skip    int // metadata bytes to drop (sent again after a reconnection)
	dirty   bool
	metaErr error
}

type streamKey struct {
	sid           proto.SessionID
	path, channel string
}

type streamState struct {
	ls       *ctf.LiveStream
	tr       *traceState
	id       proto.StreamID
	rs       *relaySession
	hup      bool
	retries  int       // replies without an entry in a row since the session's HUP
	last     [3]uint64 // end, begin, offset of the last packet received
	hasLast  bool
	skipping bool // after a reconnection: skip what was received
}

// Open attaches to the live session named by a URL
// net://HOST[:PORT]/host/HOSTNAME/SESSION: every relay session of that
// hostname and name (one per consumer: kernel, UST 32 and 64 bits).
func Open(ctx context.Context, rawURL string, opt Options) (*Session, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Session == "" {
		return nil, fmt.Errorf("live URL %q names no session (net://HOST[:PORT]/host/HOSTNAME/SESSION); list them with %s", rawURL, u.base())
	}
	if opt.Poll <= 0 {
		opt.Poll = 20 * time.Millisecond
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Reconnect == 0 {
		opt.Reconnect = 30 * time.Second
	}
	s := &Session{url: u, opt: opt, traces: map[traceKey]*traceState{},
		byID: map[proto.StreamID]*streamState{}, byLS: map[*ctf.LiveStream]*streamState{},
		byKey: map[streamKey]*streamState{}}
	s.ctx, s.cancel = context.WithCancel(ctx)
	context.AfterFunc(s.ctx, s.cutShort)
	s.LiveReader = ctf.NewLiveReader(s)
	if err := s.attach(); err != nil {
		s.cancel()
		if s.c != nil {
			s.c.Close()
		}
		return nil, err
	}
	return s, nil
}

// URL returns the session's URL.
func (s *Session) URL() URL { return s.url }

// Stats returns what was received so far.
func (s *Session) Stats() Stats {
	st := s.stats
	st.Late = int64(s.Late())
	return st
}

func (s *Session) logf(format string, args ...any) {
	if s.opt.Logf != nil {
		s.opt.Logf(format, args...)
	}
}

// sleep waits d or until the context is done.
func (s *Session) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.ctx.Done():
	case <-t.C:
	}
}

// attach connects and attaches every relay session of the URL.
func (s *Session) attach() error {
	waited := false
	for {
		c, err := s.dial()
		if err != nil {
			return err
		}
		s.c = c
		if err := c.CreateSession(); err != nil {
			return err
		}
		list, err := c.ListSessions()
		if err != nil {
			return err
		}
		var ids []proto.SessionID
		for _, si := range list {
			if si.Hostname == s.url.Hostname && si.SessionName == s.url.Session {
				ids = append(ids, si.ID)
			}
		}
		if len(ids) == 0 {
			if !s.opt.WaitSession {
				return fmt.Errorf("live: no session %q of host %q on the relay %s", s.url.Session, s.url.Hostname, s.url.base())
			}
			if !waited {
				s.logf("waiting for session %q of host %q on %s", s.url.Session, s.url.Hostname, s.url.base())
				waited = true
			}
			c.Close()
			s.c = nil
			s.sleep(100 * time.Millisecond)
			if err := s.ctx.Err(); err != nil {
				return err
			}
			continue
		}
		seek := proto.SeekLast
		if s.opt.Beginning {
			seek = proto.SeekBeginning
		}
		for _, id := range ids {
			st, infos, err := c.Attach(id, seek)
			if err != nil {
				return err
			}
			if st != proto.AttachOK {
				return attachError(id, st)
			}
			rs := &relaySession{id: id}
			s.rsess = append(s.rsess, rs)
			s.addStreams(rs, infos, false)
		}
		for _, tr := range s.traces {
			if err := s.fetchMetadata(tr); err != nil {
				return err
			}
		}
		return nil
	}
}

func (s *Session) dial() (*Client, error) {
	var conn net.Conn
	var err error
	if s.opt.Dial == nil {
		var d net.Dialer
		conn, err = d.DialContext(s.ctx, "tcp", s.url.Addr())
	} else {
		conn, err = s.opt.Dial(s.ctx, s.url.Addr())
	}
	if err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	s.connMu.Lock()
	s.conn = conn
	s.connMu.Unlock()
	if s.ctx.Err() != nil {
		s.cutShort()
	}
	return handshake(conn, s.opt.Timeout)
}

// cutShort gives the reply in progress on the current connection
// cancelGrace to arrive (called when the context is cancelled).
func (s *Session) cutShort() {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if s.conn != nil {
		s.conn.SetDeadline(time.Now().Add(cancelGrace))
	}
}

func attachError(id proto.SessionID, st uint32) error {
	what := map[uint32]string{
		proto.AttachAlready:   "another viewer is attached (lttng-relayd allows one viewer per session)",
		proto.AttachUnk:       "unknown session",
		proto.AttachNotLive:   "not a live session",
		proto.AttachSeekErr:   "bad seek",
		proto.AttachNoSession: "no viewer session",
	}[st]
	if what == "" {
		what = "unknown status"
	}
	return &StatusError{Cmd: proto.ViewerAttachSession, Status: st, What: fmt.Sprintf("relay session %d: %s", id, what)}
}

// addStreams records the streams listed by the relay; after a
// reconnection, known streams take their new ids and skip what was read.
func (s *Session) addStreams(rs *relaySession, infos []proto.StreamInfo, again bool) {
	sid := rs.id
	trace := func(path string) *traceState {
		k := traceKey{sid, path}
		tr := s.traces[k]
		if tr == nil {
			tr = &traceState{lt: s.LiveReader.AddTrace(s.url.String() + "/" + path)}
			s.traces[k] = tr
		}
		return tr
	}
	for _, in := range infos {
		if !in.Metadata {
			continue
		}
		tr := trace(in.PathName)
		tr.metaID, tr.hasMeta, tr.closed, tr.dirty = in.ID, true, false, true
		if again {
			tr.skip = len(tr.meta)
		}
	}
	for _, in := range infos {
		if in.Metadata {
			continue
		}
		k := streamKey{sid, in.PathName, in.ChannelName}
		if st := s.byKey[k]; st != nil {
			delete(s.byID, st.id)
			st.id = in.ID
			s.byID[in.ID] = st
			st.skipping = true
			continue
		}
		tr := trace(in.PathName)
		st := &streamState{ls: tr.lt.AddStream(in.ChannelName), tr: tr, id: in.ID, rs: rs}
		s.byID[in.ID], s.byLS[st.ls], s.byKey[k] = st, st, st
	}
}

// Feed is called by the reader when streams hold it back: one round of
// requests, then a short wait when nothing came.
func (s *Session) Feed(blocking []*ctf.LiveStream) error {
	if s.done {
		s.endAll()
		return nil
	}
	if s.ctx.Err() != nil {
		s.detach()
		return nil
	}
	progress, err := s.round(blocking)
	if err != nil {
		var pe *ProtocolError
		if s.c.Err() == nil || errors.As(err, &pe) || s.opt.Reconnect < 0 || s.ctx.Err() != nil {
			if s.ctx.Err() != nil {
				s.detach()
				return nil
			}
			return err
		}
		return s.reconnect(err)
	}
	if !progress && !s.done {
		if s.opt.Idle != nil {
			s.opt.Idle()
		}
		s.sleep(s.opt.Poll)
	}
	return nil
}

// round asks for the next index of every blocking stream, fetches
// metadata and packets, and lists new streams.
func (s *Session) round(blocking []*ctf.LiveStream) (bool, error) {
	progress := false
	for _, tr := range s.traces {
		if tr.dirty || tr.lt.MetadataLen() == 0 {
			n := tr.lt.MetadataLen()
			if err := s.fetchMetadata(tr); err != nil {
				return progress, err
			}
			progress = progress || tr.lt.MetadataLen() > n
		}
	}
	for _, ls := range blocking {
		if err := s.ctx.Err(); err != nil {
			return progress, err
		}
		st := s.byLS[ls]
		if st == nil || st.hup {
			continue
		}
		if st.tr.lt.MetadataLen() == 0 {
			if st.rs.hup && st.tr.closed {
				// No metadata will ever come: nothing to decode.
				st.hup = true
				st.ls.End()
				progress = true
			}
			continue
		}
		p, err := s.poll(st)
		if err != nil {
			return progress, err
		}
		progress = progress || p
	}
	open := 0
	for _, rs := range s.rsess {
		if err := s.ctx.Err(); err != nil {
			return progress, err
		}
		if rs.hup {
			continue
		}
		st, infos, err := s.c.NewStreams(rs.id)
		if err != nil {
			return progress, err
		}
		switch st {
		case proto.NewStreamsOK:
			if len(infos) > 0 {
				s.addStreams(rs, infos, false)
				progress = true
			}
		case proto.NewStreamsNoNew:
		case proto.NewStreamsHup:
			// The producer is gone and the relay holds all its data,
			// but not every stream was necessarily read to its end:
			// lttng-relayd says HUP here whatever the viewer read. Each
			// stream ends with its own HUP (as babeltrace2 does).
			rs.hup = true
			progress = true
		default:
			return progress, &StatusError{Cmd: proto.ViewerGetNewStreams, Status: st, What: fmt.Sprintf("relay session %d: error", rs.id)}
		}
		if !rs.hup {
			open++
		}
	}
	if open == 0 && s.allEnded() {
		s.detach()
		return true, nil
	}
	return progress, nil
}

// allEnded says every stream got its HUP.
func (s *Session) allEnded() bool {
	for _, x := range s.byKey {
		if !x.hup {
			return false
		}
	}
	return true
}

// maxRetriesAfterHup bounds the replies without an entry (RETRY,
// INACTIVE) in a row a stream may give once its session said HUP (all
// data in, nothing more to come): lttng-relayd stuck in a rotation that
// cannot complete answers RETRY for ever.
const maxRetriesAfterHup = 250

// sessionEnded says every stream of a relay session got its HUP.
func (s *Session) sessionEnded(rs *relaySession) bool {
	for _, x := range s.byKey {
		if x.rs == rs && !x.hup {
			return false
		}
	}
	return true
}

// endSession ends every stream of a relay session.
func (s *Session) endSession(rs *relaySession) {
	rs.hup = true
	for _, x := range s.byKey {
		if x.rs == rs && !x.hup {
			x.hup = true
			x.ls.End()
		}
	}
}

// stuck counts a reply without an entry (RETRY, INACTIVE) from a stream
// whose session said HUP, where every entry is in and none is coming: it
// ends the stream, with a note, after maxRetriesAfterHup of them in a row.
func (s *Session) stuck(st *streamState, reply string) bool {
	if !st.rs.hup {
		return false
	}
	if st.retries++; st.retries < maxRetriesAfterHup {
		return false
	}
	s.logf("live: stream %s/%s still answers %s %d times in a row after its session ended; ending it",
		st.tr.lt.Trace().Path, st.ls.Name(), reply, st.retries)
	st.hup = true
	st.ls.End()
	return true
}

// poll asks a stream for its next index and acts on it.
func (s *Session) poll(st *streamState) (bool, error) {
	for {
		if err := s.ctx.Err(); err != nil {
			return false, err
		}
		s.stats.Requests++
		r, err := s.c.NextIndex(st.id)
		if err != nil {
			return false, err
		}
		if r.Flags&proto.FlagNewMetadata != 0 {
			st.tr.dirty = true
			if err := s.fetchMetadata(st.tr); err != nil {
				return false, err
			}
		}
		switch r.Status {
		case proto.IndexOK:
			st.retries = 0
			key := [3]uint64{r.TimestampEnd, r.TimestampBegin, r.Offset}
			if st.skipping {
				if st.hasLast && !after(key, st.last) {
					s.stats.Skipped++
					continue
				}
				if b, ok := st.ls.Bound(); ok {
					if end, ok := st.ls.NS(r.StreamID, r.TimestampEnd); ok && end < b {
						s.stats.Skipped++
						continue
					}
				}
				st.skipping = false
			}
			if r.PacketSize == 0 || r.PacketSize%8 != 0 || r.PacketSize/8 > MaxPacket {
				return false, &ProtocolError{Cmd: proto.ViewerGetNextIndex, Off: s.c.off - proto.IndexReplySize,
					Err: fmt.Errorf("index of a packet of %d bits", r.PacketSize)}
			}
			data, err := s.packet(st, r.Offset, uint32(r.PacketSize/8))
			if err != nil || data == nil {
				return false, err
			}
			if err := st.ls.AddPacket(data); err == ctf.ErrNoMetadata {
				if st.tr.metaErr != nil {
					return false, st.tr.metaErr
				}
				return false, fmt.Errorf("live: packet of stream %s/%s before any metadata", st.tr.lt.Trace().Path, st.ls.Name())
			} else if err != nil {
				return false, err
			}
			st.last, st.hasLast = key, true
			s.stats.Packets++
			s.stats.Bytes += int64(len(data))
			return true, nil
		case proto.IndexInactive:
			s.stats.Beacons++
			if s.stuck(st, "INACTIVE") {
				return true, nil
			}
			b0, ok0 := st.ls.Bound()
			st.ls.Beacon(r.StreamID, r.TimestampEnd)
			b1, _ := st.ls.Bound()
			return !ok0 || b1 > b0, nil
		case proto.IndexRetry:
			return s.stuck(st, "RETRY"), nil
		case proto.IndexHup:
			st.hup = true
			st.ls.End()
			return true, nil
		default:
			return false, &StatusError{Cmd: proto.ViewerGetNextIndex, Status: r.Status,
				What: fmt.Sprintf("stream %s/%s (id %d): error", st.tr.lt.Trace().Path, st.ls.Name(), st.id)}
		}
	}
}

// after says whether index key a comes after b (end, begin, offset).
func after(a, b [3]uint64) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return false
}

// packet fetches a packet, handling the replies of old relays (2.4-2.6:
// RETRY, ERR with flags, EOF). nil data without error: try later.
func (s *Session) packet(st *streamState, off uint64, n uint32) ([]byte, error) {
	for range 3 {
		r, data, err := s.c.Packet(st.id, off, n)
		if err != nil {
			return nil, err
		}
		switch r.Status {
		case proto.PacketOK:
			return data, nil
		case proto.PacketErr:
			if r.Flags == 0 {
				return nil, &StatusError{Cmd: proto.ViewerGetPacket, Status: r.Status,
					What: fmt.Sprintf("stream %s/%s: packet at byte %d", st.tr.lt.Trace().Path, st.ls.Name(), off)}
			}
			if r.Flags&proto.FlagNewMetadata != 0 {
				st.tr.dirty = true
				if err := s.fetchMetadata(st.tr); err != nil {
					return nil, err
				}
			}
		case proto.PacketEOF:
			st.hup = true
			st.ls.End()
			return nil, nil
		default: // RETRY
			s.sleep(s.opt.Poll)
		}
	}
	return nil, &StatusError{Cmd: proto.ViewerGetPacket, Status: proto.PacketRetry,
		What: fmt.Sprintf("stream %s/%s: packet at byte %d not available", st.tr.lt.Trace().Path, st.ls.Name(), off)}
}

// fetchMetadata reads the new metadata of a trace and extends its classes.
func (s *Session) fetchMetadata(tr *traceState) error {
	if !tr.hasMeta || tr.closed {
		tr.dirty = false
		return nil
	}
	var buf []byte
	for {
		st, b, err := s.c.Metadata(tr.metaID, buf[:0])
		if err != nil {
			return err
		}
		buf = b
		if st == proto.MetadataErr {
			tr.closed = true
			break
		}
		if st != proto.MetadataOK || len(b) == 0 {
			break
		}
		if tr.skip > 0 {
			k := min(tr.skip, len(b))
			tr.skip -= k
			b = b[k:]
		}
		tr.meta = append(tr.meta, b...)
	}
	tr.dirty = false
	if len(tr.meta) > tr.lt.MetadataLen() {
		if err := tr.lt.SetMetadata(tr.meta); err != nil {
			// Maybe cut inside a packet: wait for the rest.
			tr.metaErr = err
		} else {
			tr.metaErr = nil
		}
	}
	return nil
}

// reconnect replaces a dropped connection and attaches again from the
// beginning, each stream skipping what it already received.
func (s *Session) reconnect(cause error) error {
	s.stats.Reconnects++
	s.c.Close()
	s.logf("live: connection to %s lost (%v); reconnecting", s.url.base(), cause)
	deadline := time.Now().Add(s.opt.Reconnect)
	wait := 20 * time.Millisecond
	for {
		if s.ctx.Err() != nil {
			s.done = true
			s.endAll()
			return nil
		}
		c, err := s.dial()
		if err == nil {
			if err = s.reattach(c); err == nil {
				s.c = c
				s.logf("live: reconnected to %s", s.url.base())
				return nil
			}
			c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("live: connection to %s lost (%v), reconnecting failed: %w", s.url.base(), cause, err)
		}
		s.sleep(wait)
		wait = min(wait*2, time.Second)
	}
}

var errAlready = errors.New("live: the relay still counts the previous connection as attached")

func (s *Session) reattach(c *Client) error {
	if err := c.CreateSession(); err != nil {
		return err
	}
	list, err := c.ListSessions()
	if err != nil {
		return err
	}
	listed := map[proto.SessionID]bool{}
	for _, si := range list {
		listed[si.ID] = true
	}
	old := s.c
	s.c = c
	defer func() { s.c = old }()
	for _, rs := range s.rsess {
		if rs.hup || !listed[rs.id] {
			// Over, or gone while we were away: a closed session cannot
			// be attached again, what was not read is lost.
			if !s.sessionEnded(rs) {
				s.logf("live: relay session %d is over and cannot be attached again after the connection to %s dropped: what it held past the packets received is lost",
					rs.id, s.url.base())
			}
			s.endSession(rs)
			continue
		}
		st, infos, err := c.Attach(rs.id, proto.SeekBeginning)
		if err != nil {
			return err
		}
		if st == proto.AttachAlready {
			return errAlready
		}
		if st != proto.AttachOK {
			return attachError(rs.id, st)
		}
		relisted := map[streamKey]bool{}
		for _, in := range infos {
			relisted[streamKey{rs.id, in.PathName, in.ChannelName}] = true
		}
		for k, x := range s.byKey {
			if x.rs == rs && !relisted[k] && !x.hup {
				// Nothing left to deliver for it.
				x.hup = true
				x.ls.End()
			}
		}
		s.addStreams(rs, infos, true)
	}
	for _, tr := range s.traces {
		if err := s.fetchMetadata(tr); err != nil {
			return err
		}
	}
	return nil
}

// detach detaches every relay session and ends every stream.
func (s *Session) detach() {
	if s.done {
		return
	}
	s.done = true
	if s.c != nil && s.c.Err() == nil {
		s.c.timeout = min(s.c.timeout, detachTimeout)
		for _, rs := range s.rsess {
			if _, err := s.c.Detach(rs.id); err != nil {
				break
			}
		}
	}
	if s.c != nil {
		s.c.Close()
	}
	s.endAll()
}

func (s *Session) endAll() {
	for _, x := range s.byID {
		x.ls.End()
	}
	for _, x := range s.byKey {
		x.ls.End()
	}
	s.LiveReader.EndStreams()
}

// Close detaches from the relay (when still attached).
func (s *Session) Close() error {
	s.cancel()
	s.detach()
	return nil
}

// ReadAll is a helper for tests and tools: it reads every message until
// the session ends, calling f for each.
func ReadAll(src ctf.Source, f func(*ctf.Event) error) error {
	var ev ctf.Event
	for {
		if err := src.Read(&ev); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := f(&ev); err != nil {
			return err
		}
	}
}

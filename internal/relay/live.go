package relay

import (
	"fmt"
	"io"
	"net"
	"os"
	"sort"

	"github.com/tracetop/tracetop/ctf/index"
	"github.com/tracetop/tracetop/internal/relay/proto"
)

// viewerConn is the state of one live viewer connection.
type viewerConn struct {
	peer      string
	connected bool
	minor     uint32
	created   bool // viewer CREATE_SESSION done
	attached  map[proto.SessionID]*session
	vs        map[proto.StreamID]*vstream
	known     map[proto.StreamID]bool // streams listed (or skipped) for this viewer
}

// vstream is one stream as seen by one viewer.
type vstream struct {
	st        *stream
	pos       int64 // S: next index entry to deliver
	metaSent  uint64
	noNewOnce bool
	seg       *segment // segment of the last delivered entry
	idxSeg    *segment
	idxF      *os.File
	dataSeg   *segment
	dataF     *os.File
	metaChunk *chunk
	metaF     *os.File
}

func (v *vstream) close() {
	for _, f := range []*os.File{v.idxF, v.dataF, v.metaF} {
		if f != nil {
			f.Close()
		}
	}
	v.idxF, v.dataF, v.metaF = nil, nil, nil
}

var debugViewer = os.Getenv("TRACETOP_RELAY_DEBUG") != ""

// maxPacketRead bounds one GET_PACKET or GET_METADATA reply.
const maxPacketRead = 64 << 20

func (s *Server) serveLive(c net.Conn) {
	v := &viewerConn{peer: c.RemoteAddr().String(), attached: map[proto.SessionID]*session{},
		vs: map[proto.StreamID]*vstream{}, known: map[proto.StreamID]bool{}}
	m := newMsgConn(c, &viewerBufs, s.cfg.ViewerIdleTimeout, s.cfg.MessageTimeout)
	var hdr [proto.ViewerHeaderSize]byte
	var payload [20]byte
	var out []byte
	var reason string
	defer func() {
		m.close()
		if reason != "" && !s.isClosed() {
			s.logf("viewer connection from %s closed: %s", v.peer, reason)
		}
		s.mu.Lock()
		for id := range v.attached {
			s.detach(v, id)
		}
		s.mu.Unlock()
		for _, x := range v.vs {
			x.close()
		}
	}()
	var off int64
	for {
		if err := m.next(hdr[:]); err != nil {
			if err != io.EOF {
				reason = fmt.Sprintf("reading a command header at byte 0x%x: %v", off, err)
			}
			return
		}
		var h proto.ViewerHeader
		h.Decode(hdr[:])
		n := proto.ViewerPayloadSize(h.Cmd)
		if n < 0 {
			writeAll(c, s.cfg.MessageTimeout, generic(out[:0], proto.ErrUnk))
			reason = fmt.Sprintf("unknown command %d at byte 0x%x", uint32(h.Cmd), off)
			return
		}
		if _, err := io.ReadFull(m.br, payload[:n]); err != nil {
			reason = fmt.Sprintf("reading the payload of %v at byte 0x%x: %v", h.Cmd, off, m.midErr(err))
			return
		}
		var sec fileSection
		var err error
		out, sec, err = s.viewer(v, h.Cmd, payload[:n], out[:0])
		if debugViewer {
			s.logf("viewer %s: %v %x -> %x", v.peer, h.Cmd, payload[:n], out)
		}
		if len(out) > 0 {
			werr := writeAll(c, s.cfg.MessageTimeout, out)
			if werr == nil && sec.n > 0 {
				werr = sendFile(c, s.cfg.MessageTimeout, sec.f, sec.off, sec.n)
			}
			if werr != nil {
				reason = fmt.Sprintf("writing the reply to %v: %v", h.Cmd, werr)
				return
			}
		}
		if cap(out) > keptPayload {
			out = nil
		}
		if err != nil {
			reason = fmt.Sprintf("%v at byte 0x%x: %v", h.Cmd, off, err)
			return
		}
		off += proto.ViewerHeaderSize + int64(n)
	}
}

// fileSection is the part of a file that follows a reply (GET_PACKET,
// GET_METADATA): sent from the page cache, never held in memory.
type fileSection struct {
	f      *os.File
	off, n int64
}

// viewer handles one command; data follows out in the reply.
func (s *Server) viewer(v *viewerConn, cmd proto.ViewerCmd, p []byte, out []byte) ([]byte, fileSection, error) {
	if cmd == proto.ViewerConnect {
		var m proto.Connect
		if err := m.Decode(p); err != nil {
			return out, fileSection{}, err
		}
		if v.connected {
			return out, fileSection{}, protoErr("second CONNECT")
		}
		if m.Major != proto.Major {
			return out, fileSection{}, protoErr("viewer speaks protocol %d.%d", m.Major, m.Minor)
		}
		if m.Type != proto.ConnCommand && m.Type != proto.ConnNotification {
			return out, fileSection{}, protoErr("unknown connection type %d", m.Type)
		}
		v.connected, v.minor = true, min(m.Minor, proto.Minor)
		r := proto.Connect{Major: proto.Major, Minor: proto.Minor}
		if m.Type == proto.ConnCommand {
			s.mu.Lock()
			s.nextViewer++
			r.ViewerSessionID = s.nextViewer
			s.mu.Unlock()
		}
		return r.Append(out), fileSection{}, nil
	}
	if !v.connected {
		return out, fileSection{}, protoErr("command before CONNECT")
	}
	switch cmd {
	case proto.ViewerCreateSession:
		v.created = true
		r := proto.StatusReply{Status: proto.CreateOK}
		return r.Append(out), fileSection{}, nil
	case proto.ViewerListSessions:
		s.mu.Lock()
		var r proto.ListSessionsReply
		for _, sess := range s.sessions {
			if sess.connClosed {
				continue
			}
			r.Sessions = append(r.Sessions, proto.SessionInfo{ID: sess.id, LiveTimer: sess.liveTimer,
				Clients: uint32(sess.viewers), Streams: uint32(sess.alive), Hostname: sess.host, SessionName: sess.name})
		}
		s.mu.Unlock()
		sort.Slice(r.Sessions, func(i, j int) bool { return r.Sessions[i].ID < r.Sessions[j].ID })
		return r.Append(out), fileSection{}, nil
	case proto.ViewerAttachSession:
		var m proto.AttachSession
		if err := m.Decode(p); err != nil {
			return out, fileSection{}, err
		}
		s.mu.Lock()
		r := s.attach(v, &m)
		s.mu.Unlock()
		return r.Append(out), fileSection{}, nil
	case proto.ViewerDetachSession:
		var m proto.U64Payload
		if err := m.Decode(p); err != nil {
			return out, fileSection{}, err
		}
		r := proto.StatusReply{Status: proto.DetachOK}
		s.mu.Lock()
		switch {
		case !v.created:
			r.Status = proto.DetachErr
		case v.attached[proto.SessionID(m.V)] != nil:
			s.detach(v, proto.SessionID(m.V))
		case s.sessions[proto.SessionID(m.V)] == nil:
			r.Status = proto.DetachUnk
		default:
			r.Status = proto.DetachErr
		}
		s.mu.Unlock()
		return r.Append(out), fileSection{}, nil
	case proto.ViewerGetNewStreams:
		var m proto.U64Payload
		if err := m.Decode(p); err != nil {
			return out, fileSection{}, err
		}
		s.mu.Lock()
		r := s.newStreams(v, proto.SessionID(m.V))
		s.mu.Unlock()
		return r.Append(out), fileSection{}, nil
	case proto.ViewerGetNextIndex:
		var m proto.U64Payload
		if err := m.Decode(p); err != nil {
			return out, fileSection{}, err
		}
		s.mu.Lock()
		r := s.nextIndex(v, proto.StreamID(m.V))
		s.mu.Unlock()
		return r.Append(out), fileSection{}, nil
	case proto.ViewerGetPacket:
		var m proto.GetPacket
		if err := m.Decode(p); err != nil {
			return out, fileSection{}, err
		}
		sec, r := s.getPacket(v, &m)
		return r.Append(out), sec, nil
	case proto.ViewerGetMetadata:
		var m proto.U64Payload
		if err := m.Decode(p); err != nil {
			return out, fileSection{}, err
		}
		sec, r := s.getMetadata(v, proto.StreamID(m.V))
		return r.Append(out), sec, nil
	}
	return out, fileSection{}, protoErr("unexpected %v", cmd)
}

// visible reports whether a stream may be shown to viewers: published, in
// a trace that has a metadata stream.
func visible(st *stream) bool {
	return st.published && st.trace.metadata != nil && st.trace.metadata.published
}

// hasMore reports whether a viewer stream still has something to deliver.
func hasMore(x *vstream) bool {
	st := x.st
	if st.metadata {
		return !st.closed || x.metaSent < st.metaReceived
	}
	return !st.closed || x.pos < st.entries
}

func info(st *stream) proto.StreamInfo {
	return proto.StreamInfo{ID: st.id, CTFTraceID: st.trace.id, Metadata: st.metadata, PathName: st.path, ChannelName: st.channel}
}

func (s *Server) attach(v *viewerConn, m *proto.AttachSession) proto.StreamsReply {
	if !v.created {
		return proto.StreamsReply{Status: proto.AttachNoSession}
	}
	sess := s.sessions[m.SessionID]
	switch {
	case sess == nil:
		return proto.StreamsReply{Status: proto.AttachUnk}
	case sess.liveTimer == 0:
		return proto.StreamsReply{Status: proto.AttachNotLive}
	case v.attached[sess.id] != nil:
		return proto.StreamsReply{Status: proto.AttachAlready}
	case m.Seek != proto.SeekBeginning && m.Seek != proto.SeekLast:
		return proto.StreamsReply{Status: proto.AttachSeekErr}
	case sess.connClosed:
		return proto.StreamsReply{Status: proto.AttachUnk}
	}
	v.attached[sess.id] = sess
	sess.viewers++
	r := proto.StreamsReply{Status: proto.AttachOK}
	for _, st := range sess.streams {
		if !visible(st) || v.known[st.id] {
			continue
		}
		x := &vstream{st: st}
		if m.Seek == proto.SeekLast && !st.metadata {
			x.pos = st.entries
		}
		v.known[st.id] = true
		if hasMore(x) {
			v.vs[st.id] = x
			r.Streams = append(r.Streams, info(st))
		}
	}
	return r
}

func (s *Server) detach(v *viewerConn, id proto.SessionID) {
	sess := v.attached[id]
	if sess == nil {
		return
	}
	delete(v.attached, id)
	for sid, x := range v.vs {
		if x.st.sess == sess {
			x.close()
			delete(v.vs, sid)
		}
	}
	sess.viewers--
	s.maybeRemove(sess)
}

func (s *Server) newStreams(v *viewerConn, id proto.SessionID) proto.StreamsReply {
	sess := v.attached[id]
	if sess == nil {
		return proto.StreamsReply{Status: proto.NewStreamsErr}
	}
	r := proto.StreamsReply{Status: proto.NewStreamsOK}
	for _, st := range sess.streams {
		if !visible(st) || v.known[st.id] {
			continue
		}
		v.known[st.id] = true
		v.vs[st.id] = &vstream{st: st}
		r.Streams = append(r.Streams, info(st))
	}
	if len(r.Streams) == 0 && sess.connClosed {
		for _, x := range v.vs {
			if x.st.sess == sess && hasMore(x) {
				return r
			}
		}
		r.Status = proto.NewStreamsHup
	}
	return r
}

// flags computes NEW_METADATA and NEW_STREAM for a reply about st.
func (s *Server) flags(v *viewerConn, st *stream) uint32 {
	var f uint32
	if m := st.trace.metadata; m != nil {
		if x := v.vs[m.id]; x != nil && (m.metaReceived == 0 || m.metaReceived > x.metaSent) {
			f |= proto.FlagNewMetadata
		}
	}
	for _, sess := range v.attached {
		for _, o := range sess.streams {
			if !v.known[o.id] && visible(o) {
				return f | proto.FlagNewStream
			}
		}
	}
	return f
}

func (s *Server) nextIndex(v *viewerConn, id proto.StreamID) proto.IndexReply {
	x := v.vs[id]
	if x == nil {
		return proto.IndexReply{Status: proto.IndexErr}
	}
	st := x.st
	if st.metadata {
		return proto.IndexReply{Status: proto.IndexHup}
	}
	closed := st.closed || st.sess.connClosed
	fl := s.flags(v, st)
	// Entries overwritten by a tracefile ring are skipped.
	seg := st.segment(x.pos)
	for seg != nil && seg.gone {
		x.pos = seg.first + seg.count
		seg = st.segment(x.pos)
	}
	if x.pos >= st.entries || seg == nil {
		switch {
		case closed:
			x.close()
			delete(v.vs, id)
			return proto.IndexReply{Status: proto.IndexHup, Flags: fl}
		case st.hasBeacon:
			return proto.IndexReply{Status: proto.IndexInactive, TimestampEnd: st.beacon, StreamID: st.ctfID, Flags: fl}
		}
		return proto.IndexReply{Status: proto.IndexRetry, Flags: fl}
	}
	var e index.Entry
	if err := x.readEntry(st, seg, x.pos-seg.first, &e); err != nil {
		s.logf("viewer %s: stream %d entry %d: %v", v.peer, st.id, x.pos, err)
		return proto.IndexReply{Status: proto.IndexErr}
	}
	x.pos++
	x.seg = seg
	return proto.IndexReply{Status: proto.IndexOK, Offset: e.Offset, PacketSize: e.PacketSize, ContentSize: e.ContentSize,
		TimestampBegin: e.TimestampBegin, TimestampEnd: e.TimestampEnd, EventsDiscarded: e.EventsDiscarded,
		StreamID: e.StreamID, Flags: fl}
}

// segment returns the segment holding global entry n (the last one when n
// is past the end), or nil.
func (st *stream) segment(n int64) *segment {
	for _, seg := range st.segs {
		if n < seg.first+seg.count {
			return seg
		}
	}
	return nil
}

func (x *vstream) readEntry(st *stream, seg *segment, k int64, e *index.Entry) error {
	if x.idxSeg != seg {
		if x.idxF != nil {
			x.idxF.Close()
			x.idxF = nil
		}
		f, err := seg.chunk.root.Open(seg.idxName)
		if err != nil {
			return err
		}
		x.idxF, x.idxSeg = f, seg
	}
	v := st.indexVersion()
	var buf [index.EntrySize11]byte
	b := buf[:v.EntrySize()]
	if _, err := x.idxF.ReadAt(b, index.HeaderSize+k*int64(len(b))); err != nil {
		return err
	}
	index.DecodeEntry(index.Header{Version: v, EntrySize: uint32(len(b))}, b, e)
	return nil
}

func (s *Server) getPacket(v *viewerConn, m *proto.GetPacket) (fileSection, proto.PacketReply) {
	x := v.vs[m.StreamID]
	if x == nil || x.st.metadata || x.seg == nil || m.Len == 0 || m.Len > maxPacketRead {
		return fileSection{}, proto.PacketReply{Status: proto.PacketErr}
	}
	if x.dataSeg != x.seg {
		if x.dataF != nil {
			x.dataF.Close()
			x.dataF = nil
		}
		f, err := x.seg.chunk.root.Open(x.seg.dataName)
		if err != nil {
			s.logf("viewer %s: stream %d: %v", v.peer, m.StreamID, err)
			return fileSection{}, proto.PacketReply{Status: proto.PacketErr}
		}
		x.dataF, x.dataSeg = f, x.seg
	}
	// The bytes must be in the file before the reply promises them.
	if fi, err := x.dataF.Stat(); err != nil || m.Offset > uint64(fi.Size()) || uint64(fi.Size())-m.Offset < uint64(m.Len) {
		s.logf("viewer %s: stream %d: %d bytes at %d are not in the data file", v.peer, m.StreamID, m.Len, m.Offset)
		return fileSection{}, proto.PacketReply{Status: proto.PacketErr}
	}
	return fileSection{x.dataF, int64(m.Offset), int64(m.Len)}, proto.PacketReply{Status: proto.PacketOK, Len: m.Len}
}

func (s *Server) getMetadata(v *viewerConn, id proto.StreamID) (fileSection, proto.MetadataReply) {
	x := v.vs[id]
	if x == nil || !x.st.metadata {
		return fileSection{}, proto.MetadataReply{Status: proto.MetadataErr}
	}
	s.mu.Lock()
	st := x.st
	recv, c, name := st.metaReceived, st.metaChunk, st.metaName
	closed := st.closed || st.sess.connClosed
	if c == nil || x.metaSent >= recv {
		if closed {
			if x.noNewOnce {
				x.close()
				delete(v.vs, id)
				s.mu.Unlock()
				return fileSection{}, proto.MetadataReply{Status: proto.MetadataErr}
			}
			x.noNewOnce = true
		}
		s.mu.Unlock()
		return fileSection{}, proto.MetadataReply{Status: proto.MetadataNoNew}
	}
	s.mu.Unlock()
	if x.metaChunk != c || x.metaF == nil {
		if x.metaF != nil {
			x.metaF.Close()
			x.metaF = nil
		}
		f, err := c.root.Open(name)
		if err != nil {
			return fileSection{}, proto.MetadataReply{Status: proto.MetadataNoNew}
		}
		x.metaF, x.metaChunk = f, c
	}
	n := min(recv-x.metaSent, maxPacketRead)
	if fi, err := x.metaF.Stat(); err != nil || uint64(fi.Size()) < x.metaSent+n {
		return fileSection{}, proto.MetadataReply{Status: proto.MetadataNoNew}
	}
	sec := fileSection{x.metaF, int64(x.metaSent), int64(n)}
	x.metaSent += n
	return sec, proto.MetadataReply{Status: proto.MetadataOK, Len: n}
}

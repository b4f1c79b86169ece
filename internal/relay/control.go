package relay

import (
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/tracetop/tracetop/internal/relay/proto"
)

// ctlConn is the state of one control connection.
type ctlConn struct {
	peer      string
	versionOK bool
	minor     uint32
	sess      *session
	pending   []*stream // added, waiting for STREAMS_SENT
	rot       proto.RotateStreams
}

// errClose closes the connection without a reply.
type protoError struct{ msg string }

func (e *protoError) Error() string { return e.msg }

func protoErr(format string, args ...any) error { return &protoError{fmt.Sprintf(format, args...)} }

// maxSmallPayload bounds the payload of every control command but
// SEND_METADATA (the largest legal one is ROTATE_STREAMS with thousands of
// streams).
const maxSmallPayload = 1 << 20

func (s *Server) serveControl(c net.Conn) {
	cc := &ctlConn{peer: c.RemoteAddr().String()}
	m := newMsgConn(c, &controlBufs, 0, s.cfg.MessageTimeout)
	var hdr [proto.HeaderSize]byte
	var payload, out []byte
	var reason string
	defer func() {
		m.close()
		if reason != "" && !s.isClosed() {
			s.logf("control connection from %s closed: %s", cc.peer, reason)
		}
		s.mu.Lock()
		s.controlClosed(cc)
		s.mu.Unlock()
	}()
	var off int64
	for {
		if err := m.next(hdr[:]); err != nil {
			if err != io.EOF {
				reason = fmt.Sprintf("reading a command header at byte 0x%x: %v", off, err)
			}
			return
		}
		var h proto.Header
		h.Decode(hdr[:])
		limit := uint64(maxSmallPayload)
		if h.Cmd == proto.CmdSendMetadata {
			limit = proto.MaxControlPayload
		}
		if h.DataSize > limit {
			reason = fmt.Sprintf("%v announces %d payload bytes (limit %d) at byte 0x%x", h.Cmd, h.DataSize, limit, off)
			return
		}
		var err error
		payload, err = m.readFull(payload, int(h.DataSize))
		if err != nil {
			reason = fmt.Sprintf("reading the %d-byte payload of %v at byte 0x%x: %v", h.DataSize, h.Cmd, off, err)
			return
		}
		s.mu.Lock()
		out, err = s.control(cc, h.Cmd, payload, out[:0])
		s.mu.Unlock()
		if cap(payload) > keptPayload {
			payload = nil // a large metadata message does not stay in memory
		}
		if len(out) > 0 {
			if werr := writeAll(c, s.cfg.MessageTimeout, out); werr != nil {
				reason = fmt.Sprintf("writing the reply to %v: %v", h.Cmd, werr)
				return
			}
		}
		if err != nil {
			reason = fmt.Sprintf("%v at byte 0x%x: %v", h.Cmd, off, err)
			return
		}
		off += proto.HeaderSize + int64(h.DataSize)
	}
}

// keptPayload is the largest payload buffer a control connection keeps
// between commands.
const keptPayload = 64 << 10

func generic(out []byte, ret proto.RetCode) []byte {
	r := proto.GenericReply{Ret: ret}
	return r.Append(out)
}

// control handles one command with s.mu held. A non-nil error closes the
// connection after out (possibly empty) is sent.
func (s *Server) control(cc *ctlConn, cmd proto.Cmd, p []byte, out []byte) ([]byte, error) {
	switch cmd {
	case proto.CmdVersion:
		var m proto.Version
		if err := m.Decode(p); err != nil {
			return out, err
		}
		r := proto.Version{Major: proto.Major, Minor: proto.Minor}
		out = r.Append(out)
		if m.Major != proto.Major {
			return out, protoErr("peer speaks protocol %d.%d", m.Major, m.Minor)
		}
		cc.versionOK, cc.minor = true, min(m.Minor, proto.Minor)
		return out, nil
	case proto.CmdGetConfiguration:
		var m proto.U64Payload
		if err := m.Decode(p); err != nil {
			return out, err
		}
		r := proto.GetConfigurationReply{Ret: proto.OK}
		if !s.cfg.DisallowClear {
			r.Flags = proto.ConfigClearAllowed
		}
		if m.V != 0 {
			r = proto.GetConfigurationReply{Ret: proto.ErrInvalidProtocol}
		}
		return r.Append(out), nil
	case proto.CmdStartData:
		return generic(out, proto.OK), nil
	}
	if !cc.versionOK {
		return out, protoErr("command before VERSION")
	}
	if cmd == proto.CmdCreateSession {
		return s.createSession(cc, p, out)
	}
	if cc.sess == nil {
		switch cmd {
		case proto.CmdUpdateSyncInfo, proto.CmdAddIndex, proto.CmdCloseIndex, proto.CmdListSessions:
		default:
			if cmd >= 1 && cmd <= proto.CmdGetConfiguration {
				return out, protoErr("command before CREATE_SESSION")
			}
		}
	}
	sess := cc.sess
	switch cmd {
	case proto.CmdCreateTraceChunk:
		var m proto.CreateTraceChunk
		if err := m.Decode(p); err != nil {
			return out, err
		}
		ret, err := s.createChunk(sess, &m)
		return generic(out, ret), err
	case proto.CmdCloseTraceChunk:
		var m proto.CloseTraceChunk
		if err := m.Decode(p); err != nil {
			return out, err
		}
		r, err := s.closeChunk(sess, &m)
		return r.Append(out), err
	case proto.CmdTraceChunkExists:
		var m proto.U64Payload
		if err := m.Decode(p); err != nil {
			return out, err
		}
		r := proto.TraceChunkExistsReply{Ret: proto.OK}
		if c := s.chunks[chunkKey{uuid: sess.uuid, sessiond: sess.sessiondID, id: proto.ChunkID(m.V)}]; c != nil {
			for _, st := range s.streams {
				if st.rot != nil && st.cur != nil && st.cur.chunk == c {
					r.Exists = true
					break
				}
			}
		}
		return r.Append(out), nil
	case proto.CmdAddStream:
		var m proto.AddStream
		if err := m.Decode(p, cc.minor); err != nil {
			return out, err
		}
		id, err := s.addStream(cc, &m)
		if err != nil {
			r := proto.AddStreamReply{Handle: proto.StreamID(proto.NoSeq), Ret: proto.ErrUnk}
			return r.Append(out), err
		}
		r := proto.AddStreamReply{Handle: id, Ret: proto.OK}
		return r.Append(out), nil
	case proto.CmdStreamsSent:
		for _, st := range cc.pending {
			st.published = true
		}
		cc.pending = cc.pending[:0]
		return generic(out, proto.OK), nil
	case proto.CmdSendMetadata:
		var m proto.SendMetadata
		if err := m.Decode(p); err != nil {
			return out, err
		}
		return out, s.sendMetadata(sess, &m, p[proto.SendMetadataSize:])
	case proto.CmdSendIndex:
		var m proto.SendIndex
		if err := m.Decode(p, cc.minor); err != nil {
			return out, err
		}
		st := s.streams[m.RelayStreamID]
		if st == nil || st.sess != sess || st.metadata {
			return generic(out, proto.ErrUnk), protoErr("SEND_INDEX for unknown data stream %d", m.RelayStreamID)
		}
		if err := s.receiveIndex(st, &m); err != nil {
			return generic(out, proto.ErrUnk), err
		}
		return generic(out, proto.OK), nil
	case proto.CmdCloseStream:
		var m proto.StreamSeq
		if err := m.Decode(p); err != nil {
			return out, err
		}
		st := s.streams[m.StreamID]
		if st == nil || st.sess != sess {
			return generic(out, proto.ErrUnk), protoErr("CLOSE_STREAM for unknown stream %d", m.StreamID)
		}
		st.closeRequested, st.lastNetSeq = true, m.LastNetSeqNum
		s.tryClose(st)
		return generic(out, proto.OK), nil
	case proto.CmdDataPending:
		var m proto.StreamSeq
		if err := m.Decode(p); err != nil {
			return out, err
		}
		st := s.streams[m.StreamID]
		if st == nil || st.sess != sess {
			return generic(out, proto.RetCode(0xFFFFFFFF)), protoErr("DATA_PENDING for unknown stream %d", m.StreamID)
		}
		st.checked = true
		return generic(out, proto.RetCode(b2u(st.dataPending(m.LastNetSeqNum)))), nil
	case proto.CmdQuiescentControl:
		var m proto.U64Payload
		if err := m.Decode(p); err != nil {
			return out, err
		}
		if st := s.streams[proto.StreamID(m.V)]; st != nil && st.sess == sess {
			st.checked = true
		}
		return generic(out, proto.OK), nil
	case proto.CmdBeginDataPending, proto.CmdEndDataPending:
		var m proto.U64Payload
		if err := m.Decode(p); err != nil {
			return out, err
		}
		ds := s.sessions[proto.SessionID(m.V)]
		if ds == nil {
			return generic(out, proto.ErrUnk), protoErr("%v for unknown session %d", cmd, m.V)
		}
		if cmd == proto.CmdBeginDataPending {
			for _, st := range ds.streams {
				st.checked = false
			}
			return generic(out, proto.OK), nil
		}
		inFlight := false
		for _, st := range ds.streams {
			if !st.checked && !(st.closed && st.complete()) {
				inFlight = true
			}
		}
		return generic(out, proto.RetCode(b2u(inFlight))), nil
	case proto.CmdResetMetadata:
		var m proto.ResetMetadata
		if err := m.Decode(p); err != nil {
			return out, err
		}
		st := s.streams[m.StreamID]
		if st == nil || st.sess != sess || !st.metadata || sess.liveTimer != 0 || st.metaFile == nil {
			return generic(out, proto.ErrUnk), protoErr("RESET_METADATA refused for stream %d", m.StreamID)
		}
		if err := st.metaFile.Truncate(0); err != nil {
			return generic(out, proto.ErrUnk), err
		}
		st.metaFile.Seek(0, io.SeekStart)
		st.metaReceived = 0
		return generic(out, proto.OK), nil
	case proto.CmdRotateStreams:
		if err := cc.rot.Decode(p); err != nil {
			return out, err
		}
		ret, err := s.rotateStreams(sess, &cc.rot)
		return generic(out, ret), err
	}
	return generic(out, proto.ErrUnk), protoErr("unknown command %d", uint32(cmd))
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

func (s *Server) createSession(cc *ctlConn, p []byte, out []byte) ([]byte, error) {
	var m proto.CreateSession
	if err := m.Decode(p, cc.minor); err != nil {
		return out, err
	}
	fail := func(err error) ([]byte, error) {
		r := proto.CreateSessionReply{Ret: proto.ErrFatal}
		return r.Append(out, cc.minor), err
	}
	if cc.sess != nil {
		return fail(protoErr("second CREATE_SESSION on one connection"))
	}
	sess := &session{
		name: m.SessionName, host: m.Hostname, liveTimer: m.LiveTimer, snapshot: m.Snapshot,
		uuid: m.SessiondUUID, sessiondID: m.SessiondSessionID, created: m.CreationTime,
		minor: cc.minor, nameHasTime: m.NameContainsCreationTime, traces: map[string]*trace{},
	}
	if cc.minor >= 11 {
		if err := checkName("session name", m.SessionName); err != nil {
			return fail(err)
		}
		if err := checkName("hostname", m.Hostname); err != nil {
			return fail(err)
		}
		base, err := cleanRelPath("base path", m.BasePath, true)
		if err != nil {
			return fail(err)
		}
		if m.SessiondUUID == ([16]byte{}) {
			return fail(protoErr("all-zero session daemon UUID"))
		}
		sess.basePath = base
		sess.dir = sessionDir(m.Hostname, m.SessionName, base, m.NameContainsCreationTime, m.CreationTime, s.cfg.Location)
		if err := s.root.MkdirAll(sess.dir, 0o750); err != nil {
			return fail(fmt.Errorf("create session folder: %w", err))
		}
		if m.HasCurrentChunk {
			c := s.chunks[chunkKey{uuid: sess.uuid, sessiond: sess.sessiondID, id: m.CurrentChunkID}]
			if c == nil {
				return fail(protoErr("current chunk %d unknown", m.CurrentChunkID))
			}
			sess.current, sess.hadChunk = c, true
		}
	}
	s.nextSession++
	sess.id = proto.SessionID(s.nextSession)
	if cc.minor < 11 {
		// Pre-2.11 peers send paths relative to the output root.
		root, err := s.root.OpenRoot(".")
		if err != nil {
			return fail(err)
		}
		c := &chunk{key: chunkKey{legacy: sess.id}, root: root, first: true}
		sess.current, sess.hadChunk = c, true
	}
	s.sessions[sess.id] = sess
	cc.sess = sess
	r := proto.CreateSessionReply{SessionID: sess.id, Ret: proto.OK, OutputPath: sess.dir}
	return r.Append(out, cc.minor), nil
}

func (s *Server) createChunk(sess *session, m *proto.CreateTraceChunk) (proto.RetCode, error) {
	if sess.minor < 11 {
		return proto.ErrInvalidProtocol, protoErr("trace chunks need protocol 2.11")
	}
	key := chunkKey{uuid: sess.uuid, sessiond: sess.sessiondID, id: m.ChunkID}
	c := s.chunks[key]
	if c == nil {
		if sess.pendingClose != nil {
			return proto.ErrInvalidProtocol, protoErr("chunk %d created while chunk %d awaits closing", m.ChunkID, sess.pendingClose.id)
		}
		if m.OverrideName != "" {
			if err := checkFileName("chunk name", m.OverrideName); err != nil {
				return proto.ErrInvalid, err
			}
		}
		var err error
		if c, err = s.newChunk(sess, m, key); err != nil {
			return proto.ErrNoMem, err
		}
		s.chunks[key] = c
	}
	if sess.current != nil && sess.current != c {
		sess.pendingClose = sess.current
	}
	sess.current, sess.hadChunk = c, true
	return proto.OK, nil
}

func (s *Server) newChunk(sess *session, m *proto.CreateTraceChunk, key chunkKey) (*chunk, error) {
	c := &chunk{key: key, id: m.ChunkID, created: m.CreationTime, name: m.OverrideName, sessDir: sess.dir}
	switch {
	case m.OverrideName != "":
		c.rel = sess.dir + "/" + m.OverrideName
	case !sess.hadChunk:
		c.rel, c.first = sess.dir, true
	default:
		if cur := sess.current; cur != nil && cur.first && !cur.moved {
			if err := s.moveFirstChunk(cur); err != nil {
				return nil, err
			}
		}
		c.rel = sess.dir + "/.tmp_new_chunk"
	}
	if err := s.root.MkdirAll(c.rel, 0o750); err != nil {
		return nil, fmt.Errorf("create chunk folder: %w", err)
	}
	r, err := s.root.OpenRoot(c.rel)
	if err != nil {
		return nil, fmt.Errorf("open chunk folder: %w", err)
	}
	c.root = r
	return c, nil
}

// moveFirstChunk moves the content of the session folder, which is the
// first chunk, into .tmp_old_chunk at the first rotation.
func (s *Server) moveFirstChunk(c *chunk) error {
	tmp := c.sessDir + "/.tmp_old_chunk"
	if err := s.root.MkdirAll(tmp, 0o750); err != nil {
		return err
	}
	d, err := c.root.Open(".")
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if n == ".tmp_old_chunk" || n == ".tmp_new_chunk" || n == "archives" {
			continue
		}
		if err := s.root.Rename(c.sessDir+"/"+n, tmp+"/"+n); err != nil {
			return err
		}
	}
	r, err := s.root.OpenRoot(tmp)
	if err != nil {
		return err
	}
	c.root.Close()
	c.root, c.rel, c.moved = r, tmp, true
	return nil
}

func (s *Server) closeChunk(sess *session, m *proto.CloseTraceChunk) (proto.CloseTraceChunkReply, error) {
	key := chunkKey{uuid: sess.uuid, sessiond: sess.sessiondID, id: m.ChunkID}
	c := s.chunks[key]
	if c == nil {
		return proto.CloseTraceChunkReply{Ret: proto.ErrNoMem}, protoErr("close of unknown chunk %d", m.ChunkID)
	}
	if m.HasCommand && m.Command > proto.CloseDelete {
		return proto.CloseTraceChunkReply{Ret: proto.ErrInvalid}, protoErr("unknown close command %d", m.Command)
	}
	if m.HasCommand && m.Command == proto.CloseDelete && s.cfg.DisallowClear {
		return proto.CloseTraceChunkReply{Ret: proto.ErrInvalidProtocol}, protoErr("clear is not allowed")
	}
	ret := c.rel
	if c.first {
		ret = sess.dir
	}
	// The chunk that follows gets its final name.
	if nc := sess.current; nc != nil && nc != c && strings.HasSuffix(nc.rel, "/.tmp_new_chunk") {
		name := nc.sessDir + "/" + chunkTime(nc.created, s.cfg.Location) + "-" + strconv.FormatUint(uint64(nc.id), 10)
		if err := s.root.Rename(nc.rel, name); err != nil {
			return proto.CloseTraceChunkReply{Ret: proto.ErrUnk}, fmt.Errorf("name chunk %d: %w", nc.id, err)
		}
		nc.rel = name
	}
	if m.HasCommand {
		switch m.Command {
		case proto.CloseMoveToCompleted:
			if !c.first || c.moved {
				arch := c.sessDir + "/archives/" + chunkTime(c.created, s.cfg.Location) + "-" + chunkTime(m.CloseTimestamp, s.cfg.Location) + "-" + strconv.FormatUint(uint64(c.id), 10)
				if err := s.root.MkdirAll(c.sessDir+"/archives", 0o750); err != nil {
					return proto.CloseTraceChunkReply{Ret: proto.ErrUnk}, err
				}
				if err := s.root.Rename(c.rel, arch); err != nil {
					return proto.CloseTraceChunkReply{Ret: proto.ErrUnk}, fmt.Errorf("archive chunk %d: %w", c.id, err)
				}
				c.rel = arch
				if !c.first {
					ret = arch
				}
			}
		case proto.CloseDelete:
			if err := s.deleteChunkFiles(c); err != nil {
				return proto.CloseTraceChunkReply{Ret: proto.ErrUnk}, err
			}
		}
	}
	c.closed = true
	delete(s.chunks, key)
	if sess.pendingClose == c {
		sess.pendingClose = nil
	}
	if sess.current == c {
		sess.current = nil
	}
	return proto.CloseTraceChunkReply{Ret: proto.OK, Path: ret}, nil
}

func (s *Server) deleteChunkFiles(c *chunk) error {
	d, err := c.root.Open(".")
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if c.first && !c.moved && (n == "archives" || strings.HasPrefix(n, ".tmp_")) {
			continue
		}
		if err := c.root.RemoveAll(n); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) addStream(cc *ctlConn, m *proto.AddStream) (proto.StreamID, error) {
	sess := cc.sess
	if err := checkFileName("channel name", m.ChannelName); err != nil {
		return 0, err
	}
	p, err := cleanRelPath("stream path", m.Pathname, false)
	if err != nil {
		return 0, err
	}
	c := sess.current
	if c == nil {
		return 0, protoErr("stream %q added while the session has no trace chunk", m.ChannelName)
	}
	if sess.minor >= 11 && c.id != m.ChunkID {
		return 0, protoErr("stream %q added to chunk %d, current chunk is %d", m.ChannelName, m.ChunkID, c.id)
	}
	tr := sess.traces[p]
	if tr == nil {
		s.nextTrace++
		tr = &trace{id: s.nextTrace, path: p}
		sess.traces[p] = tr
	}
	st := &stream{
		sess: sess, trace: tr, channel: m.ChannelName, path: p, metadata: m.ChannelName == "metadata",
		tfSize: m.TracefileSize, tfCount: m.TracefileCount,
		lastNetSeq: proto.NoSeq, prevDataSeq: proto.NoSeq, prevIndexSeq: proto.NoSeq,
		halves: map[proto.SeqNum]*half{},
	}
	if st.metadata {
		if err := st.openMetadata(c); err != nil {
			return 0, err
		}
		tr.metadata = st
	} else if err := st.openSegment(c); err != nil {
		return 0, err
	}
	s.nextStream++
	st.id = proto.StreamID(s.nextStream)
	s.streams[st.id] = st
	sess.streams = append(sess.streams, st)
	sess.alive++
	if sess.minor < 4 {
		st.published = true
	} else {
		cc.pending = append(cc.pending, st)
	}
	return st.id, nil
}

func (st *stream) openMetadata(c *chunk) error {
	if st.metaFile != nil {
		st.metaFile.Close()
		st.metaFile = nil
	}
	st.metaChunk, st.metaReceived = c, 0
	if c == nil {
		return nil
	}
	if err := c.root.MkdirAll(st.path, 0o750); err != nil {
		return fmt.Errorf("create trace folder: %w", err)
	}
	st.metaName = path.Join(st.path, "metadata")
	f, err := c.root.OpenFile(st.metaName, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("create metadata file: %w", err)
	}
	st.metaFile = f
	return nil
}

var zeros [64 << 10]byte

func (s *Server) sendMetadata(sess *session, m *proto.SendMetadata, data []byte) error {
	st := s.streams[m.StreamID]
	if st == nil || st.sess != sess || !st.metadata {
		return protoErr("SEND_METADATA for unknown metadata stream %d", m.StreamID)
	}
	if st.metaFile == nil {
		return protoErr("SEND_METADATA for metadata stream %d without chunk", m.StreamID)
	}
	if m.Padding > proto.MaxControlPayload {
		return protoErr("SEND_METADATA padding %d over the limit", m.Padding)
	}
	if _, err := st.metaFile.Write(data); err != nil {
		return fmt.Errorf("write metadata: %w", err)
	}
	for pad := int(m.Padding); pad > 0; {
		n := min(pad, len(zeros))
		if _, err := st.metaFile.Write(zeros[:n]); err != nil {
			return fmt.Errorf("write metadata: %w", err)
		}
		pad -= n
	}
	st.metaReceived += uint64(len(data)) + uint64(m.Padding)
	return nil
}

// receiveIndex handles the control half of a packet index, or a beacon.
func (s *Server) receiveIndex(st *stream, m *proto.SendIndex) error {
	if m.IsBeacon() {
		if st.entries > 0 && st.inFlight == 0 && st.hasCTFID && m.StreamID == st.ctfID {
			st.beacon, st.hasBeacon = m.TimestampEnd, true
		}
		return nil
	}
	if !st.keepsIndex() {
		return protoErr("SEND_INDEX in a session without indexes")
	}
	st.hasBeacon = false
	if !st.hasCTFID {
		st.ctfID, st.hasCTFID = m.StreamID, true
	}
	if m.PacketSeqNum != proto.NoSeq {
		st.seqDelta = uint64(m.NetSeqNum - m.PacketSeqNum)
	}
	h := st.halves[m.NetSeqNum]
	if h == nil {
		if len(st.halves) >= maxHalves {
			return protoErr("more than %d packets of stream %d await their data", maxHalves, st.id)
		}
		h = &half{}
		st.halves[m.NetSeqNum] = h
		st.inFlight++
	} else if h.hasIndex {
		return protoErr("second index for packet %d of stream %d", m.NetSeqNum, st.id)
	}
	h.hasIndex, h.idx = true, *m
	if h.hasData {
		return s.completeIndex(st, m.NetSeqNum, h)
	}
	return nil
}

// maxHalves bounds the packets of a stream waiting for their other half.
const maxHalves = 1 << 16

func (s *Server) completeIndex(st *stream, seq proto.SeqNum, h *half) error {
	delete(st.halves, seq)
	st.inFlight--
	if h.idx.PacketSize/8 != h.size {
		s.logf("stream %d packet %d: index says %d bytes, data had %d", st.id, seq, h.idx.PacketSize/8, h.size)
	}
	if err := st.writeEntry(h); err != nil {
		return err
	}
	if st.prevIndexSeq == proto.NoSeq || seqGE(seq, st.prevIndexSeq) {
		st.prevIndexSeq = seq
	}
	return nil
}

func (st *stream) complete() bool {
	return st.lastNetSeq == proto.NoSeq || (st.prevDataSeq != proto.NoSeq && seqGE(st.prevDataSeq, st.lastNetSeq))
}

func (st *stream) dataPending(last proto.SeqNum) bool {
	if last == proto.NoSeq {
		return false
	}
	got := st.prevDataSeq
	if st.keepsIndex() && (st.prevIndexSeq == proto.NoSeq || (got != proto.NoSeq && !seqGE(st.prevIndexSeq, got))) {
		got = st.prevIndexSeq
	}
	return got == proto.NoSeq || !seqGE(got, last)
}

func (s *Server) tryClose(st *stream) {
	if st.closed || !st.closeRequested {
		return
	}
	if st.metadata || st.complete() {
		s.closeStream(st)
	}
}

func (s *Server) closeStream(st *stream) {
	if st.closed {
		return
	}
	st.closed = true
	st.rot = nil
	st.closeFiles()
	st.sess.alive--
}

func (s *Server) rotateStreams(sess *session, m *proto.RotateStreams) (proto.RetCode, error) {
	var target *chunk
	if m.HasNewChunk {
		target = s.chunks[chunkKey{uuid: sess.uuid, sessiond: sess.sessiondID, id: m.NewChunkID}]
		if target == nil {
			return proto.ErrInvalidProtocol, protoErr("rotation to unknown chunk %d", m.NewChunkID)
		}
	}
	for _, p := range m.Positions {
		st := s.streams[p.StreamID]
		if st == nil || st.sess != sess {
			return proto.ErrInvalid, protoErr("rotation of unknown stream %d", p.StreamID)
		}
		if st.closed {
			continue
		}
		if st.metadata {
			if err := st.openMetadata(target); err != nil {
				return proto.ErrFileCreation, err
			}
			continue
		}
		if st.rot != nil {
			return proto.ErrInvalidProtocol, protoErr("stream %d is already rotating", st.id)
		}
		st.rot = &rotation{target: target, pivot: p.RotateAtSeqNum}
		if err := s.tryRotate(st, proto.NoSeq); err != nil {
			return proto.ErrFileCreation, err
		}
	}
	return proto.OK, nil
}

// tryRotate switches the data file of a rotating stream once every packet
// before the pivot is in (incoming = net_seq_num of a packet about to be
// written, or NoSeq).
func (s *Server) tryRotate(st *stream, incoming proto.SeqNum) error {
	if st.rot == nil {
		return nil
	}
	pivotNet := proto.SeqNum(uint64(st.rot.pivot) + st.seqDelta)
	ready := false
	switch {
	case incoming != proto.NoSeq:
		ready = seqGE(incoming, pivotNet)
	case pivotNet == 0:
		ready = true
	case st.prevDataSeq != proto.NoSeq:
		ready = seqGE(st.prevDataSeq, pivotNet-1)
	}
	if !ready {
		return nil
	}
	target := st.rot.target
	st.rot = nil
	return st.openSegment(target)
}

// controlClosed ends the session of a closed control connection.
func (s *Server) controlClosed(cc *ctlConn) {
	sess := cc.sess
	if sess == nil {
		return
	}
	sess.connClosed = true
	for _, st := range sess.streams {
		if st.closed {
			continue
		}
		// Packets whose index never came are not part of the trace.
		for seq, h := range st.halves {
			if !h.hasIndex {
				delete(st.halves, seq)
				st.inFlight--
			}
		}
		s.closeStream(st)
	}
	s.maybeRemove(sess)
}

// maybeRemove forgets a finished session nobody watches.
func (s *Server) maybeRemove(sess *session) {
	if !sess.connClosed || sess.viewers > 0 || sess.removed {
		return
	}
	sess.removed = true
	delete(s.sessions, sess.id)
	for _, st := range sess.streams {
		delete(s.streams, st.id)
	}
	// Close the chunk folders no other session of the same tracing
	// session can still use.
	for _, o := range s.sessions {
		if o.uuid == sess.uuid && o.sessiondID == sess.sessiondID && sess.minor >= 11 {
			return
		}
	}
	used := map[*chunk]bool{}
	if sess.current != nil {
		used[sess.current] = true
	}
	if sess.pendingClose != nil {
		used[sess.pendingClose] = true
	}
	for _, st := range sess.streams {
		for _, seg := range st.segs {
			used[seg.chunk] = true
		}
		if st.metaChunk != nil {
			used[st.metaChunk] = true
		}
	}
	for k, c := range s.chunks {
		if k.uuid == sess.uuid && k.sessiond == sess.sessiondID && sess.minor >= 11 {
			used[c] = true
			delete(s.chunks, k)
		}
	}
	for c := range used {
		c.root.Close()
	}
}

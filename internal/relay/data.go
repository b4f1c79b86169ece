package relay

import (
	"fmt"
	"io"
	"net"
	"sync/atomic"

	"github.com/tracetop/tracetop/internal/relay/proto"
)

func (s *Server) serveData(c net.Conn) {
	peer := c.RemoteAddr().String()
	m := newMsgConn(c, &dataBufs, 0, s.cfg.MessageTimeout)
	defer m.close()
	var hdr [proto.DataHeaderSize]byte
	var off int64
	for {
		if err := m.next(hdr[:]); err != nil {
			if err != io.EOF && !s.isClosed() {
				s.logf("data connection from %s closed: reading a packet header at byte 0x%x: %v", peer, off, err)
			}
			return
		}
		var h proto.DataHeader
		h.Decode(hdr[:])
		if err := s.receivePacket(m, &h); err != nil {
			s.logf("data connection from %s closed: packet %d of stream %d at byte 0x%x: %v", peer, h.NetSeqNum, h.StreamID, off, err)
			return
		}
		off += proto.DataHeaderSize + int64(h.DataSize)
		atomic.AddInt64(&s.dataBytes, proto.DataHeaderSize+int64(h.DataSize))
	}
}

// receivePacket writes one data packet: the file offset is reserved under
// the lock, the bytes are copied from the socket to the file without it.
func (s *Server) receivePacket(m *msgConn, h *proto.DataHeader) error {
	total := uint64(h.DataSize) + uint64(h.PaddingSize)
	s.mu.Lock()
	st := s.streams[h.StreamID]
	switch {
	case st == nil:
		s.mu.Unlock()
		return protoErr("unknown stream")
	case st.metadata:
		s.mu.Unlock()
		return protoErr("data packet for a metadata stream")
	case st.closed:
		s.mu.Unlock()
		return protoErr("data packet for a closed stream")
	}
	if err := s.tryRotate(st, h.NetSeqNum); err != nil {
		s.mu.Unlock()
		return err
	}
	if seg := st.cur; seg != nil && st.tfSize > 0 && seg.size > 0 && seg.size+total > st.tfSize {
		st.tfIndex++
		if st.tfCount > 0 {
			st.tfIndex %= st.tfCount
		}
		if err := st.openSegment(seg.chunk); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	seg := st.cur
	if seg == nil || seg.data == nil {
		s.mu.Unlock()
		return protoErr("data packet for a stream without trace chunk")
	}
	f, at := seg.data, seg.size
	seg.size += total
	st.writing++
	s.mu.Unlock()

	// Files of a stream are only written here, sequentially, so the file
	// offset is the reserved one: bytes already buffered are written, the
	// rest goes from the socket to the file by splice(2), without a copy
	// through user space.
	var err error
	left := int64(h.DataSize)
	br := m.br
	if n := min(int64(br.Buffered()), left); n > 0 {
		p, _ := br.Peek(int(n))
		if _, werr := f.Write(p); werr != nil {
			err = fmt.Errorf("write data file: %w", werr)
		}
		br.Discard(int(n))
		left -= n
	}
	for left > 0 && err == nil {
		step := min(left, deadlineStep)
		m.refresh()
		n, rerr := f.ReadFrom(io.LimitReader(m.c, step))
		left -= n
		switch {
		case rerr != nil:
			err = fmt.Errorf("copy packet to data file: %w", m.midErr(rerr))
		case n < step:
			err = io.ErrUnexpectedEOF
		}
	}
	for pad := int(h.PaddingSize); pad > 0 && err == nil; {
		n := min(pad, len(zeros))
		if _, werr := f.Write(zeros[:n]); werr != nil {
			err = fmt.Errorf("write data file: %w", werr)
		}
		pad -= n
	}
	at += total

	s.mu.Lock()
	defer s.mu.Unlock()
	st.writing--
	if st.closed && st.writing == 0 {
		st.closeFiles()
	}
	if err != nil {
		return err
	}
	if st.closed {
		return nil
	}
	if st.prevDataSeq == proto.NoSeq || seqGE(h.NetSeqNum, st.prevDataSeq) {
		st.prevDataSeq = h.NetSeqNum
	}
	if st.keepsIndex() {
		hf := st.halves[h.NetSeqNum]
		if hf == nil {
			if len(st.halves) >= maxHalves {
				return protoErr("more than %d packets of stream %d await their index", maxHalves, st.id)
			}
			hf = &half{}
			st.halves[h.NetSeqNum] = hf
			st.inFlight++
		} else if hf.hasData {
			return protoErr("second data packet %d", h.NetSeqNum)
		}
		hf.hasData, hf.seg, hf.off, hf.size = true, seg, at-total, total
		if hf.hasIndex {
			if err := s.completeIndex(st, h.NetSeqNum, hf); err != nil {
				return err
			}
		}
	}
	s.tryClose(st)
	return s.tryRotate(st, proto.NoSeq)
}

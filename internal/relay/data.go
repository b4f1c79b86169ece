package relay

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"sync/atomic"

	"github.com/tracetop/tracetop/internal/relay/proto"
)

func (s *Server) serveData(c net.Conn) {
	peer := c.RemoteAddr().String()
	br := bufio.NewReaderSize(c, 256<<10)
	var hdr [proto.DataHeaderSize]byte
	var off int64
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if err != io.EOF && !s.isClosed() {
				s.logf("data connection from %s closed: reading a packet header at byte 0x%x: %v", peer, off, err)
			}
			return
		}
		var h proto.DataHeader
		h.Decode(hdr[:])
		if err := s.receivePacket(br, &h); err != nil {
			s.logf("data connection from %s closed: packet %d of stream %d at byte 0x%x: %v", peer, h.NetSeqNum, h.StreamID, off, err)
			return
		}
		off += proto.DataHeaderSize + int64(h.DataSize)
		atomic.AddInt64(&s.dataBytes, proto.DataHeaderSize+int64(h.DataSize))
	}
}

// receivePacket writes one data packet: the file offset is reserved under
// the lock, the bytes are copied from the socket to the file without it.
func (s *Server) receivePacket(br *bufio.Reader, h *proto.DataHeader) error {
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

	var err error
	for left := int(h.DataSize); left > 0 && err == nil; {
		var p []byte
		p, err = br.Peek(min(left, br.Size()))
		if len(p) > 0 {
			if _, werr := f.WriteAt(p, int64(at)); werr != nil && err == nil {
				err = fmt.Errorf("write data file: %w", werr)
			}
			br.Discard(len(p))
			at += uint64(len(p))
			left -= len(p)
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	}
	for pad := int(h.PaddingSize); pad > 0 && err == nil; {
		n := min(pad, len(zeros))
		if _, werr := f.WriteAt(zeros[:n], int64(at)); werr != nil {
			err = fmt.Errorf("write data file: %w", werr)
		}
		at += uint64(n)
		pad -= n
	}

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

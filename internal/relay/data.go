package relay

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

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
	var direct *os.File
	if st.sess.liveTimer == 0 && directEligible(at, total) {
		direct = seg.directFile()
	}
	mixed := seg.direct != nil
	seg.size += total
	st.writing++
	s.mu.Unlock()

	// Files of a stream are only written here, one packet after the
	// other. A packet goes either to the O_DIRECT descriptor, or through
	// the page cache, by the buffered descriptor, at its file offset (set
	// again when the other descriptor wrote since).
	var err error
	var buf []byte
	if direct != nil {
		buf = getDirectBuf()
	}
	if buf != nil {
		err = writeDirect(m, direct, f, buf, int64(at), int64(h.DataSize), int64(h.PaddingSize))
		putDirectBuf(buf)
	} else {
		if mixed {
			_, err = f.Seek(int64(at), io.SeekStart)
		}
		if err == nil {
			err = writeBuffered(m, f, int64(h.DataSize), int(h.PaddingSize))
		}
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

// writeBuffered writes a packet through the page cache: the bytes already
// read are written, the rest goes from the socket to the file by
// splice(2), without a copy through user space, then the padding.
func writeBuffered(m *msgConn, f *os.File, left int64, pad int) error {
	br := m.br
	if n := min(int64(br.Buffered()), left); n > 0 {
		p, _ := br.Peek(int(n))
		if _, err := f.Write(p); err != nil {
			return fmt.Errorf("write data file: %w", err)
		}
		br.Discard(int(n))
		left -= n
	}
	for left > 0 {
		step := min(left, deadlineStep)
		m.refresh()
		n, err := f.ReadFrom(io.LimitReader(m.c, step))
		left -= n
		switch {
		case err != nil:
			return fmt.Errorf("copy packet to data file: %w", m.midErr(err))
		case n < step:
			return io.ErrUnexpectedEOF
		}
	}
	for pad > 0 {
		n := min(pad, len(zeros))
		if _, err := f.Write(zeros[:n]); err != nil {
			return fmt.Errorf("write data file: %w", err)
		}
		pad -= n
	}
	return nil
}

// Packets of sessions that are not live are written with O_DIRECT when
// they are aligned (every LTTng packet is a whole number of pages): nobody
// reads them soon, and skipping the page cache (allocation, copy, delayed
// block allocation, write-back) costs a fraction of the CPU time of a
// buffered write. The bytes are read from the socket into an aligned
// buffer, at most directChunk at a time; maxDirectBufs bounds the memory
// of all connections together, and a packet that finds no free buffer
// goes through the page cache.
const (
	directAlign   = 4096
	directMin     = 64 << 10
	directChunk   = 4 << 20
	maxDirectBufs = 8
)

var directBufs = struct {
	mu   sync.Mutex
	free [][]byte
	n    int
}{}

func directEligible(at, total uint64) bool {
	return at%directAlign == 0 && total%directAlign == 0 && total >= directMin
}

func getDirectBuf() []byte {
	directBufs.mu.Lock()
	defer directBufs.mu.Unlock()
	if k := len(directBufs.free); k > 0 {
		b := directBufs.free[k-1]
		directBufs.free = directBufs.free[:k-1]
		return b
	}
	if directBufs.n == maxDirectBufs {
		return nil
	}
	directBufs.n++
	raw := make([]byte, directChunk+directAlign)
	a := int(directAlign-uintptr(unsafe.Pointer(&raw[0]))%directAlign) % directAlign
	return raw[a : a+directChunk : a+directChunk]
}

func putDirectBuf(b []byte) {
	directBufs.mu.Lock()
	directBufs.free = append(directBufs.free, b)
	directBufs.mu.Unlock()
}

// directFile returns the O_DIRECT descriptor of the segment's data file,
// opening it at first use; nil when the file system refuses O_DIRECT.
func (seg *segment) directFile() *os.File {
	if seg.direct == nil && !seg.noDirect {
		f, err := seg.chunk.root.OpenFile(seg.dataName, os.O_WRONLY|syscall.O_DIRECT, 0)
		if err != nil {
			seg.noDirect = true
			return nil
		}
		seg.direct = f
	}
	return seg.direct
}

// writeDirect writes a packet of left bytes and pad padding bytes at
// offset at with the O_DIRECT descriptor d, directChunk bytes at a time
// (each a whole number of blocks, the padding zeroed in the buffer). A
// chunk the file system refuses with EINVAL is written at the same offset
// by the buffered descriptor f.
func writeDirect(m *msgConn, d, f *os.File, buf []byte, at, left, pad int64) error {
	for left+pad > 0 {
		n := min(int64(len(buf)), left+pad)
		c := min(n, left)
		b := buf[:c]
		k := copy(b, peekBuffered(m.br, int(c)))
		m.br.Discard(k)
		for k < len(b) {
			m.refresh()
			r, err := m.c.Read(b[k:])
			k += r
			if err != nil {
				if err == io.EOF {
					return io.ErrUnexpectedEOF
				}
				return fmt.Errorf("read packet: %w", m.midErr(err))
			}
		}
		clear(buf[c:n])
		if _, err := d.WriteAt(buf[:n], at); err != nil {
			if !errors.Is(err, syscall.EINVAL) {
				return fmt.Errorf("write data file: %w", err)
			}
			if _, err := f.WriteAt(buf[:n], at); err != nil {
				return fmt.Errorf("write data file: %w", err)
			}
		}
		at += n
		left -= c
		pad -= n - c
	}
	return nil
}

// peekBuffered returns up to n bytes already read into br.
func peekBuffered(br *bufio.Reader, n int) []byte {
	p, _ := br.Peek(min(n, br.Buffered()))
	return p
}

package ctf

import (
	"fmt"
	"io"
	"os"
)

// Packets returns the packet index of a stream opened from files (nil
// for a live stream): offsets, sizes, times and counters of every packet
// in reading order, from the LTTng index files when present, else from
// the packet headers. PacketInfo.File indexes s.Files.
func (s *Stream) Packets() []PacketInfo {
	if s.reader == nil {
		return nil
	}
	return s.reader.packets
}

// ReadPacket appends the raw bytes of packet i of the stream (header,
// context, events and padding) to dst, for tools that copy packets as
// they are (sending a trace to a relay).
func (s *Stream) ReadPacket(i int, dst []byte) ([]byte, error) {
	if s.reader == nil || i < 0 || i >= len(s.reader.packets) {
		return dst, fmt.Errorf("ctf: stream %s has no packet %d", s.Name, i)
	}
	p := s.reader.packets[i]
	f, err := os.Open(s.Files[p.File])
	if err != nil {
		return dst, fmt.Errorf("ctf: %w", err)
	}
	defer f.Close()
	n := len(dst)
	dst = append(dst, make([]byte, p.Size)...)
	if _, err := f.ReadAt(dst[n:], p.Offset); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return dst[:n], fmt.Errorf("ctf: read packet at byte %#x of %s: %w", p.Offset, s.Files[p.File], err)
	}
	return dst, nil
}

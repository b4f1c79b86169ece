package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Magic is the first u32 of an index file (big-endian).
const Magic = 0xC1F1DCC1

// HeaderSize is the size of the file header.
const HeaderSize = 16

// Entry sizes of versions 1.0 and 1.1.
const (
	EntrySize10 = 56
	EntrySize11 = 72
)

// MaxEntrySize bounds the stride a reader accepts (future versions may add
// fields; readers ignore the ones they do not know).
const MaxEntrySize = 1 << 16

// Version is an index format version (major is always 1).
type Version struct{ Major, Minor uint32 }

// Known versions.
var (
	Version10 = Version{1, 0}
	Version11 = Version{1, 1}
)

// ErrFormat is matched by every decoding error (errors.Is).
var ErrFormat = errors.New("bad index file")

// FormatError is a decoding error at a byte offset of the file.
type FormatError struct {
	Off int64
	Msg string
}

func (e *FormatError) Error() string   { return fmt.Sprintf("index: %s at byte 0x%x", e.Msg, e.Off) }
func (e *FormatError) Is(t error) bool { return t == ErrFormat }

// Header is the 16-byte file header.
type Header struct {
	Version
	EntrySize uint32 // stride of the entries in bytes
}

// Unknown is the value of StreamInstanceID and PacketSeqNum when the file
// (version 1.0) or the producer does not know them.
const Unknown = ^uint64(0)

// Entry describes one packet.
type Entry struct {
	Offset           uint64 // bytes from the start of the data file
	PacketSize       uint64 // bits, including padding
	ContentSize      uint64 // bits
	TimestampBegin   uint64 // clock cycles
	TimestampEnd     uint64 // clock cycles
	EventsDiscarded  uint64 // cumulative
	StreamID         uint64 // CTF stream class id
	StreamInstanceID uint64 // 1.1; Unknown in 1.0 files
	PacketSeqNum     uint64 // 1.1; Unknown in 1.0 files
}

// DecodeHeader reads and checks the 16-byte header.
func DecodeHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < HeaderSize {
		return h, &FormatError{0, fmt.Sprintf("file of %d bytes is shorter than the %d-byte header", len(b), HeaderSize)}
	}
	if m := binary.BigEndian.Uint32(b); m != Magic {
		return h, &FormatError{0, fmt.Sprintf("bad magic 0x%x (want 0x%x)", m, uint32(Magic))}
	}
	h.Major, h.Minor, h.EntrySize = binary.BigEndian.Uint32(b[4:]), binary.BigEndian.Uint32(b[8:]), binary.BigEndian.Uint32(b[12:])
	if h.Major != 1 {
		return h, &FormatError{4, fmt.Sprintf("unsupported index major version %d", h.Major)}
	}
	if h.EntrySize < EntrySize10 || h.EntrySize > MaxEntrySize {
		return h, &FormatError{12, fmt.Sprintf("entry size %d out of %d..%d", h.EntrySize, EntrySize10, MaxEntrySize)}
	}
	if h.Minor >= 1 && h.EntrySize < EntrySize11 {
		return h, &FormatError{12, fmt.Sprintf("entry size %d too small for version 1.%d", h.EntrySize, h.Minor)}
	}
	return h, nil
}

// AppendHeader appends the header of a file of version v.
func AppendHeader(b []byte, v Version) []byte {
	b = binary.BigEndian.AppendUint32(b, Magic)
	b = binary.BigEndian.AppendUint32(b, v.Major)
	b = binary.BigEndian.AppendUint32(b, v.Minor)
	return binary.BigEndian.AppendUint32(b, uint32(v.EntrySize()))
}

// EntrySize returns the entry size written for version v.
func (v Version) EntrySize() int {
	if v.Major == 1 && v.Minor == 0 {
		return EntrySize10
	}
	return EntrySize11
}

// DecodeEntry reads one entry of a file with header h from b (at least
// h.EntrySize bytes).
func DecodeEntry(h Header, b []byte, e *Entry) {
	be := binary.BigEndian
	e.Offset, e.PacketSize, e.ContentSize = be.Uint64(b), be.Uint64(b[8:]), be.Uint64(b[16:])
	e.TimestampBegin, e.TimestampEnd = be.Uint64(b[24:]), be.Uint64(b[32:])
	e.EventsDiscarded, e.StreamID = be.Uint64(b[40:]), be.Uint64(b[48:])
	if h.Minor >= 1 && h.EntrySize >= EntrySize11 {
		e.StreamInstanceID, e.PacketSeqNum = be.Uint64(b[56:]), be.Uint64(b[64:])
	} else {
		e.StreamInstanceID, e.PacketSeqNum = Unknown, Unknown
	}
}

// AppendEntry appends e in the layout of version v.
func AppendEntry(b []byte, v Version, e *Entry) []byte {
	be := binary.BigEndian
	b = be.AppendUint64(b, e.Offset)
	b = be.AppendUint64(b, e.PacketSize)
	b = be.AppendUint64(b, e.ContentSize)
	b = be.AppendUint64(b, e.TimestampBegin)
	b = be.AppendUint64(b, e.TimestampEnd)
	b = be.AppendUint64(b, e.EventsDiscarded)
	b = be.AppendUint64(b, e.StreamID)
	if v.EntrySize() == EntrySize11 {
		b = be.AppendUint64(b, e.StreamInstanceID)
		b = be.AppendUint64(b, e.PacketSeqNum)
	}
	return b
}

// Decode reads a whole index file held in memory, appending its entries to
// dst. A partial entry at the end (a file still being written) is ignored.
func Decode(b []byte, dst []Entry) (Header, []Entry, error) {
	h, err := DecodeHeader(b)
	if err != nil {
		return h, dst, err
	}
	stride := int(h.EntrySize)
	for off := HeaderSize; off+stride <= len(b); off += stride {
		var e Entry
		DecodeEntry(h, b[off:], &e)
		dst = append(dst, e)
	}
	return h, dst, nil
}

// ReadFile reads the index file at path.
func ReadFile(path string) (Header, []Entry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Header{}, nil, err
	}
	h, entries, err := Decode(b, nil)
	if err != nil {
		return h, nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, entries, nil
}

// Writer writes an index file as a stream of entries, one Write call per
// entry (one write system call when w is a file, so that an entry is never
// half visible to a reader after a crash of the writer process).
type Writer struct {
	w   io.Writer
	v   Version
	buf []byte
	n   int64
}

// NewWriter writes the header of a version v file to w.
func NewWriter(w io.Writer, v Version) (*Writer, error) {
	if v.Major != 1 || v.Minor > 1 {
		return nil, fmt.Errorf("index: cannot write version %d.%d", v.Major, v.Minor)
	}
	iw := &Writer{w: w, v: v, buf: make([]byte, 0, EntrySize11)}
	if _, err := w.Write(AppendHeader(iw.buf[:0], v)); err != nil {
		return nil, fmt.Errorf("index: write header: %w", err)
	}
	return iw, nil
}

// Write appends one entry.
func (w *Writer) Write(e Entry) error {
	w.buf = AppendEntry(w.buf[:0], w.v, &e)
	if _, err := w.w.Write(w.buf); err != nil {
		return fmt.Errorf("index: write entry %d: %w", w.n, err)
	}
	w.n++
	return nil
}

// Count returns the number of entries written.
func (w *Writer) Count() int64 { return w.n }

// Version returns the version being written.
func (w *Writer) Version() Version { return w.v }

package vm

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/wire"
)

// Kind is the type of a frame on a guest channel.
type Kind uint8

// Guest → host frames.
const (
	KindHello       Kind = 0x01 // JSON Hello
	KindMetadata    Kind = 0x02 // CTF metadata bytes (packetized), appended
	KindPacket      Kind = 0x03 // one CTF packet with its index entry
	KindCloseStream Kind = 0x04 // a stream ended: its name
	KindSyncReply   Kind = 0x05 // seq u32, t2 u64, t3 u64 (guest trace clock)
	KindStats       Kind = 0x06 // JSON Stats
	KindBye         Kind = 0x07 // the guest stopped: nothing follows
	KindStarted     Kind = 0x08 // the guest recorder runs: the host may ping
)

// Host → guest frames.
const (
	KindConfig Kind = 0x81 // JSON GuestConfig
	KindStart  Kind = 0x82 // start recording (after a Config)
	KindStop   Kind = 0x83 // stop, flush, send Stats then Bye
	KindPing   Kind = 0x84 // seq u32: answer with a SyncReply at once
)

func (k Kind) String() string {
	switch k {
	case KindHello:
		return "hello"
	case KindMetadata:
		return "metadata"
	case KindPacket:
		return "packet"
	case KindCloseStream:
		return "close-stream"
	case KindSyncReply:
		return "sync-reply"
	case KindStats:
		return "stats"
	case KindBye:
		return "bye"
	case KindStarted:
		return "started"
	case KindConfig:
		return "config"
	case KindStart:
		return "start"
	case KindStop:
		return "stop"
	case KindPing:
		return "ping"
	}
	return fmt.Sprintf("kind(0x%02x)", uint8(k))
}

// HeaderSize is the size of a frame header: kind u8, stream u8, flags u16,
// length u32, big-endian.
const HeaderSize = 8

// MaxPayload caps a frame's payload (a CTF packet is at most a sub-buffer,
// 1 MiB by default; metadata packets are 4 KiB).
const MaxPayload = 16 << 20

// Frame is one decoded frame. Payload points into the reader's buffer and
// is valid until the next Next.
type Frame struct {
	Kind    Kind
	Stream  uint8 // CPU of a packet (informational)
	Flags   uint16
	Payload []byte
	Off     int64 // byte offset of the frame header in the channel
}

// FrameError is a malformed frame, with its byte offset in the channel.
type FrameError struct {
	Off int64
	Msg string
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("guest channel: %s at byte 0x%x", e.Msg, e.Off)
}

// ErrFrame matches every *FrameError with errors.Is.
var ErrFrame = errors.New("bad guest channel frame")

func (e *FrameError) Is(t error) bool { return t == ErrFrame }

// Reader reads frames from a channel.
type Reader struct {
	r   *bufio.Reader
	off int64
	buf []byte
}

// NewReader returns a frame reader over r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 256<<10)} }

// Next reads the next frame: io.EOF at a clean end (between frames),
// io.ErrUnexpectedEOF inside one, a *FrameError for a bad header.
func (r *Reader) Next() (Frame, error) {
	var h [HeaderSize]byte
	off := r.off
	n, err := io.ReadFull(r.r, h[:])
	r.off += int64(n)
	if err != nil {
		if err == io.EOF {
			return Frame{}, io.EOF
		}
		return Frame{}, fmt.Errorf("guest channel: frame header at byte 0x%x: %w", off, io.ErrUnexpectedEOF)
	}
	f := Frame{Kind: Kind(h[0]), Stream: h[1], Flags: binary.BigEndian.Uint16(h[2:]), Off: off}
	size := binary.BigEndian.Uint32(h[4:])
	if size > MaxPayload {
		return f, &FrameError{off, fmt.Sprintf("%v frame of %d bytes (limit %d)", f.Kind, size, MaxPayload)}
	}
	if cap(r.buf) < int(size) {
		r.buf = make([]byte, size)
	}
	f.Payload = r.buf[:size]
	n, err = io.ReadFull(r.r, f.Payload)
	r.off += int64(n)
	if err != nil {
		return f, fmt.Errorf("guest channel: %v frame at byte 0x%x: %d of %d payload bytes: %w", f.Kind, off, n, size, io.ErrUnexpectedEOF)
	}
	return f, nil
}

// Writer writes frames to a channel; one frame is one Write call, so
// frames of several goroutines never interleave.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// NewWriter returns a frame writer over w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write sends one frame.
func (w *Writer) Write(k Kind, stream uint8, payload []byte) error {
	return w.WriteFunc(k, stream, func(b []byte) []byte { return append(b, payload...) })
}

// WriteFunc sends one frame whose payload fill appends to b, called with
// the writer locked: a sync reply takes its t3 there, just before its
// bytes leave, whatever other frames were queued.
func (w *Writer) WriteFunc(k Kind, stream uint8, fill func(b []byte) []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := append(w.buf[:0], byte(k), stream, 0, 0, 0, 0, 0, 0)
	b = fill(b)
	size := len(b) - HeaderSize
	if size > MaxPayload {
		return fmt.Errorf("guest channel: %v frame of %d bytes (limit %d)", k, size, MaxPayload)
	}
	binary.BigEndian.PutUint32(b[4:], uint32(size))
	w.buf = b
	_, err := w.w.Write(b)
	return err
}

// Hello is the guest's first frame.
type Hello struct {
	Version   string   `json:"version"` // agent (tracetop) version
	BootID    string   `json:"boot_id"`
	Hostname  string   `json:"hostname"`
	MachineID string   `json:"machine_id,omitempty"`
	CPUs      int      `json:"cpus"`
	APICIDs   []uint32 `json:"apic_ids,omitempty"` // guest CPU → APIC id (= KVM vcpu_id)
	Clock     string   `json:"clock"`              // trace clock: "mono" (tier C), "x86-tsc" (tier A)
	TSCHz     uint64   `json:"tsc_hz,omitempty"`
	PageSize  int      `json:"page_size"`
	Kernel    string   `json:"kernel,omitempty"`
}

// GuestConfig is what the host asks the guest to record.
type GuestConfig struct {
	Events      []string `json:"events"`                 // record.Channel.Events
	SubbufSize  int      `json:"subbuf_size,omitempty"`  // bytes
	SubbufCount int      `json:"subbuf_count,omitempty"` //
	SwitchMS    int      `json:"switch_ms,omitempty"`    // close packets at least this often
	ReadMS      int      `json:"read_ms,omitempty"`      // ring-buffer poll period
	Clock       string   `json:"clock,omitempty"`        // "mono" (default)
}

// Stats is the guest's account of what it could not send.
type Stats struct {
	Packets        uint64 `json:"packets"`         // packets sent
	Bytes          uint64 `json:"bytes"`           // packet bytes sent
	DroppedPackets uint64 `json:"dropped_packets"` // queue full: whole packets dropped
	DroppedBytes   uint64 `json:"dropped_bytes"`
	LostEvents     uint64 `json:"lost_events"` // lost by the guest's ring buffers
	Pings          uint64 `json:"pings"`
}

func decodeJSON(f Frame, v any) error {
	if err := json.Unmarshal(f.Payload, v); err != nil {
		return &FrameError{f.Off, fmt.Sprintf("%v frame: %v", f.Kind, err)}
	}
	return nil
}

// packetEntrySize is the index entry carried by a packet frame: eight u64.
const packetEntrySize = 8 * 8

// appendPacket encodes a packet frame payload.
func appendPacket(b []byte, stream string, packet []byte, e writer.IndexEntry) []byte {
	b = append(b, byte(len(stream)))
	b = append(b, stream...)
	for _, v := range [...]uint64{e.PacketSize, e.ContentSize, e.TimestampBegin, e.TimestampEnd,
		e.EventsDiscarded, e.StreamID, e.StreamInstanceID, e.PacketSeqNum} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return append(b, packet...)
}

// decodePacket decodes a packet frame payload; the packet aliases it.
func decodePacket(f Frame) (stream string, packet []byte, e writer.IndexEntry, err error) {
	c := wire.Cursor{B: f.Payload}
	n := int(c.U8())
	name := c.Bytes(n)
	e.PacketSize, e.ContentSize = c.U64(), c.U64()
	e.TimestampBegin, e.TimestampEnd = c.U64(), c.U64()
	e.EventsDiscarded, e.StreamID = c.U64(), c.U64()
	e.StreamInstanceID, e.PacketSeqNum = c.U64(), c.U64()
	if err := c.Err(); err != nil {
		return "", nil, e, &FrameError{f.Off + HeaderSize + int64(c.Off), "packet frame: " + err.Error()}
	}
	packet = f.Payload[c.Off:]
	if e.PacketSize != uint64(len(packet))*8 || e.ContentSize > e.PacketSize {
		return "", nil, e, &FrameError{f.Off, fmt.Sprintf("packet frame of stream %q: packet_size %d bits, content_size %d bits, %d bytes carried", name, e.PacketSize, e.ContentSize, len(packet))}
	}
	if !validStream(name) {
		return "", nil, e, &FrameError{f.Off, fmt.Sprintf("packet frame: bad stream name %q", name)}
	}
	return string(name), packet, e, nil
}

// validStream accepts the stream names a DirSink can create: a plain file
// name, not metadata or index.
func validStream(b []byte) bool {
	s := string(b)
	if s == "" || s == "metadata" || s == "index" || s[0] == '.' {
		return false
	}
	for _, c := range b {
		if c == '/' || c == 0 || c < ' ' {
			return false
		}
	}
	return true
}

// syncReplySize is seq u32 + t2 u64 + t3 u64.
const syncReplySize = 4 + 8 + 8

func appendSyncReply(b []byte, seq uint32, t2, t3 int64) []byte {
	b = binary.BigEndian.AppendUint32(b, seq)
	b = binary.BigEndian.AppendUint64(b, uint64(t2))
	return binary.BigEndian.AppendUint64(b, uint64(t3))
}

func decodeSyncReply(f Frame) (seq uint32, t2, t3 int64, err error) {
	if len(f.Payload) != syncReplySize {
		return 0, 0, 0, &FrameError{f.Off, fmt.Sprintf("sync-reply frame of %d bytes, want %d", len(f.Payload), syncReplySize)}
	}
	p := f.Payload
	return binary.BigEndian.Uint32(p), int64(binary.BigEndian.Uint64(p[4:])), int64(binary.BigEndian.Uint64(p[12:])), nil
}

func decodePing(f Frame) (uint32, error) {
	if len(f.Payload) != 4 {
		return 0, &FrameError{f.Off, fmt.Sprintf("ping frame of %d bytes, want 4", len(f.Payload))}
	}
	return binary.BigEndian.Uint32(f.Payload), nil
}

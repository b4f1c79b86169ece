package proto

import (
	"fmt"

	"github.com/tracetop/tracetop/internal/wire"
)

// ViewerCmd is a live viewer command number.
type ViewerCmd uint32

// Viewer commands.
const (
	ViewerConnect       ViewerCmd = 1
	ViewerListSessions  ViewerCmd = 2
	ViewerAttachSession ViewerCmd = 3
	ViewerGetNextIndex  ViewerCmd = 4
	ViewerGetPacket     ViewerCmd = 5
	ViewerGetMetadata   ViewerCmd = 6
	ViewerGetNewStreams ViewerCmd = 7
	ViewerCreateSession ViewerCmd = 8
	ViewerDetachSession ViewerCmd = 9
)

var viewerCmdNames = [...]string{"", "CONNECT", "LIST_SESSIONS", "ATTACH_SESSION", "GET_NEXT_INDEX",
	"GET_PACKET", "GET_METADATA", "GET_NEW_STREAMS", "CREATE_SESSION", "DETACH_SESSION"}

func (c ViewerCmd) String() string {
	if c > 0 && int(c) < len(viewerCmdNames) {
		return viewerCmdNames[c]
	}
	return fmt.Sprintf("viewer command %d", uint32(c))
}

// ViewerPayloadSize returns the fixed request payload size of a viewer
// command (the relay ignores the header's data_size), or -1 if unknown.
func ViewerPayloadSize(c ViewerCmd) int {
	switch c {
	case ViewerConnect, ViewerAttachSession, ViewerGetPacket:
		return 20
	case ViewerListSessions, ViewerCreateSession:
		return 0
	case ViewerGetNextIndex, ViewerGetMetadata, ViewerGetNewStreams, ViewerDetachSession:
		return 8
	}
	return -1
}

// Viewer status values (their meaning depends on the reply).
const (
	AttachOK        uint32 = 1
	AttachAlready   uint32 = 2
	AttachUnk       uint32 = 3
	AttachNotLive   uint32 = 4
	AttachSeekErr   uint32 = 5
	AttachNoSession uint32 = 6

	IndexOK       uint32 = 1
	IndexRetry    uint32 = 2
	IndexHup      uint32 = 3
	IndexErr      uint32 = 4
	IndexInactive uint32 = 5
	IndexEOF      uint32 = 6

	PacketOK    uint32 = 1
	PacketRetry uint32 = 2
	PacketErr   uint32 = 3
	PacketEOF   uint32 = 4

	MetadataOK    uint32 = 1
	MetadataNoNew uint32 = 2
	MetadataErr   uint32 = 3

	NewStreamsOK    uint32 = 1
	NewStreamsNoNew uint32 = 2
	NewStreamsErr   uint32 = 3
	NewStreamsHup   uint32 = 4

	CreateOK  uint32 = 1
	CreateErr uint32 = 2

	DetachOK  uint32 = 1
	DetachUnk uint32 = 2
	DetachErr uint32 = 3
)

// Flags of GET_NEXT_INDEX and GET_PACKET replies.
const (
	FlagNewMetadata uint32 = 1
	FlagNewStream   uint32 = 2
)

// Connection types and seek modes.
const (
	ConnCommand      uint32 = 1
	ConnNotification uint32 = 2
	SeekBeginning    uint32 = 1
	SeekLast         uint32 = 2
)

// ViewerHeaderSize is the size of a viewer command header.
const ViewerHeaderSize = 16

// ViewerHeader precedes every viewer command.
type ViewerHeader struct {
	DataSize   uint64
	Cmd        ViewerCmd
	CmdVersion uint32
}

// Decode reads 16 bytes.
func (h *ViewerHeader) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	h.DataSize, h.Cmd, h.CmdVersion = c.U64(), ViewerCmd(c.U32()), c.U32()
	return c.Err()
}

// Append encodes the header.
func (h *ViewerHeader) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U64(h.DataSize)
	e.U32(uint32(h.Cmd))
	e.U32(h.CmdVersion)
	return e.B
}

// AppendViewerCommand appends a viewer header for cmd with its fixed size.
func AppendViewerCommand(b []byte, cmd ViewerCmd) []byte {
	h := ViewerHeader{DataSize: uint64(max(ViewerPayloadSize(cmd), 0)), Cmd: cmd}
	return h.Append(b)
}

// Connect is the CONNECT request and reply.
type Connect struct {
	ViewerSessionID uint64
	Major, Minor    uint32
	Type            uint32
}

// Decode reads 20 bytes.
func (m *Connect) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.ViewerSessionID, m.Major, m.Minor, m.Type = c.U64(), c.U32(), c.U32(), c.U32()
	return checkEnd(&c, "CONNECT")
}

// Append encodes the message.
func (m *Connect) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U64(m.ViewerSessionID)
	e.U32(m.Major)
	e.U32(m.Minor)
	e.U32(m.Type)
	return e.B
}

// SessionRecordSize is the size of a listing record below minor 15.
const SessionRecordSize = 339

// SessionInfo is one record of the LIST_SESSIONS reply.
type SessionInfo struct {
	ID          SessionID
	LiveTimer   uint32
	Clients     uint32
	Streams     uint32
	Hostname    string
	SessionName string
	TraceFormat uint32 // minor >= 15 only
}

// ListSessionsReply answers LIST_SESSIONS.
type ListSessionsReply struct {
	Sessions []SessionInfo
}

// Decode reads the reply for the negotiated minor.
func (m *ListSessionsReply) Decode(b []byte, minor uint32) error {
	c := wire.Cursor{B: b}
	n := c.U32()
	if n > MaxSessionRecords {
		c.Failf("%d session records over the limit %d", n, MaxSessionRecords)
	}
	m.Sessions = m.Sessions[:0]
	for i := uint32(0); i < n && c.Err() == nil; i++ {
		var s SessionInfo
		s.ID, s.LiveTimer, s.Clients, s.Streams = SessionID(c.U64()), c.U32(), c.U32(), c.U32()
		if minor >= 15 {
			hl, nl := c.U32(), c.U32()
			s.TraceFormat = c.U32()
			if hl > HostNameMax || nl > NameMax+1 {
				c.Failf("session record name lengths %d, %d over the limits", hl, nl)
			}
			s.Hostname = string(c.Bytes(int(hl)))
			s.SessionName = string(c.Bytes(int(nl)))
		} else {
			s.Hostname = c.CString(HostNameField)
			s.SessionName = c.CString(NameMax)
		}
		m.Sessions = append(m.Sessions, s)
	}
	return checkEnd(&c, "LIST_SESSIONS reply")
}

// Append encodes the reply for minor (only the < 15 record layout).
func (m *ListSessionsReply) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U32(uint32(len(m.Sessions)))
	for i := range m.Sessions {
		s := &m.Sessions[i]
		e.U64(uint64(s.ID))
		e.U32(s.LiveTimer)
		e.U32(s.Clients)
		e.U32(s.Streams)
		e.FixedString(s.Hostname, HostNameField)
		e.FixedString(s.SessionName, NameMax)
	}
	return e.B
}

// AttachSession is the ATTACH_SESSION request.
type AttachSession struct {
	SessionID SessionID
	Offset    uint64
	Seek      uint32 // SeekBeginning or SeekLast
}

// Decode reads 20 bytes.
func (m *AttachSession) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.SessionID, m.Offset, m.Seek = SessionID(c.U64()), c.U64(), c.U32()
	return checkEnd(&c, "ATTACH_SESSION")
}

// Append encodes the request.
func (m *AttachSession) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U64(uint64(m.SessionID))
	e.U64(m.Offset)
	e.U32(m.Seek)
	return e.B
}

// StreamRecordSize is the size of one viewer stream record.
const StreamRecordSize = 4371

// StreamInfo is one stream record of ATTACH_SESSION and GET_NEW_STREAMS.
type StreamInfo struct {
	ID          StreamID
	CTFTraceID  uint64
	Metadata    bool
	PathName    string
	ChannelName string
}

// StreamsReply answers ATTACH_SESSION and GET_NEW_STREAMS.
type StreamsReply struct {
	Status  uint32
	Streams []StreamInfo
}

// DecodeHead reads the 8-byte head and returns the number of records that
// follow (0 unless the status is OK, as the relay sends them).
func (m *StreamsReply) DecodeHead(b []byte) (int, error) {
	c := wire.Cursor{B: b}
	m.Status = c.U32()
	n := c.U32()
	if n > MaxStreamRecords {
		c.Failf("%d stream records over the limit %d", n, MaxStreamRecords)
	}
	if m.Status != 1 {
		n = 0
	}
	return int(n), c.Err()
}

// Decode reads the whole reply.
func (m *StreamsReply) Decode(b []byte) error {
	n, err := m.DecodeHead(b)
	if err != nil {
		return err
	}
	c := wire.Cursor{B: b, Off: 8}
	m.Streams = m.Streams[:0]
	for i := 0; i < n && c.Err() == nil; i++ {
		var s StreamInfo
		s.ID, s.CTFTraceID, s.Metadata = StreamID(c.U64()), c.U64(), c.U32() != 0
		s.PathName = c.CString(PathMax)
		s.ChannelName = c.CString(NameMax)
		m.Streams = append(m.Streams, s)
	}
	return checkEnd(&c, "stream list reply")
}

// Append encodes the reply.
func (m *StreamsReply) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U32(m.Status)
	e.U32(uint32(len(m.Streams)))
	for i := range m.Streams {
		s := &m.Streams[i]
		e.U64(uint64(s.ID))
		e.U64(s.CTFTraceID)
		e.U32(uint32(b2u(s.Metadata)))
		e.FixedString(s.PathName, PathMax)
		e.FixedString(s.ChannelName, NameMax)
	}
	return e.B
}

// IndexReplySize is the size of the GET_NEXT_INDEX reply.
const IndexReplySize = 64

// IndexReply answers GET_NEXT_INDEX.
type IndexReply struct {
	Offset          uint64 // bytes, in the stream's data file
	PacketSize      uint64 // bits
	ContentSize     uint64 // bits
	TimestampBegin  uint64
	TimestampEnd    uint64 // beacon time for INACTIVE
	EventsDiscarded uint64
	StreamID        uint64 // CTF stream class id
	Status          uint32
	Flags           uint32
}

// Decode reads 64 bytes.
func (m *IndexReply) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.Offset, m.PacketSize, m.ContentSize = c.U64(), c.U64(), c.U64()
	m.TimestampBegin, m.TimestampEnd, m.EventsDiscarded = c.U64(), c.U64(), c.U64()
	m.StreamID, m.Status, m.Flags = c.U64(), c.U32(), c.U32()
	return checkEnd(&c, "GET_NEXT_INDEX reply")
}

// Append encodes the reply.
func (m *IndexReply) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U64(m.Offset)
	e.U64(m.PacketSize)
	e.U64(m.ContentSize)
	e.U64(m.TimestampBegin)
	e.U64(m.TimestampEnd)
	e.U64(m.EventsDiscarded)
	e.U64(m.StreamID)
	e.U32(m.Status)
	e.U32(m.Flags)
	return e.B
}

// GetPacket is the GET_PACKET request.
type GetPacket struct {
	StreamID StreamID
	Offset   uint64
	Len      uint32
}

// Decode reads 20 bytes.
func (m *GetPacket) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.StreamID, m.Offset, m.Len = StreamID(c.U64()), c.U64(), c.U32()
	return checkEnd(&c, "GET_PACKET")
}

// Append encodes the request.
func (m *GetPacket) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U64(uint64(m.StreamID))
	e.U64(m.Offset)
	e.U32(m.Len)
	return e.B
}

// PacketReplySize is the size of the GET_PACKET reply head.
const PacketReplySize = 12

// PacketReply is the head of the GET_PACKET reply; Len bytes follow if OK.
type PacketReply struct {
	Status uint32
	Len    uint32
	Flags  uint32
}

// Decode reads the 12-byte head.
func (m *PacketReply) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.Status, m.Len, m.Flags = c.U32(), c.U32(), c.U32()
	return c.Err()
}

// Append encodes the head.
func (m *PacketReply) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U32(m.Status)
	e.U32(m.Len)
	e.U32(m.Flags)
	return e.B
}

// MetadataReplySize is the size of the GET_METADATA reply head.
const MetadataReplySize = 12

// MetadataReply is the head of the GET_METADATA reply; Len bytes follow if OK.
type MetadataReply struct {
	Len    uint64
	Status uint32
}

// Decode reads the 12-byte head.
func (m *MetadataReply) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.Len, m.Status = c.U64(), c.U32()
	return c.Err()
}

// Append encodes the head.
func (m *MetadataReply) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U64(m.Len)
	e.U32(m.Status)
	return e.B
}

// StatusReply is the 4-byte reply of CREATE_SESSION and DETACH_SESSION.
type StatusReply struct{ Status uint32 }

// Decode reads 4 bytes.
func (m *StatusReply) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.Status = c.U32()
	return checkEnd(&c, "status reply")
}

// Append encodes the reply.
func (m *StatusReply) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U32(m.Status)
	return e.B
}

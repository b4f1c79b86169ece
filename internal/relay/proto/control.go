package proto

import (
	"fmt"

	"github.com/tracetop/tracetop/internal/wire"
)

// Cmd is a control port command number.
type Cmd uint32

// Control commands.
const (
	CmdAddStream        Cmd = 1
	CmdCreateSession    Cmd = 2
	CmdStartData        Cmd = 3
	CmdUpdateSyncInfo   Cmd = 4
	CmdVersion          Cmd = 5
	CmdSendMetadata     Cmd = 6
	CmdCloseStream      Cmd = 7
	CmdDataPending      Cmd = 8
	CmdQuiescentControl Cmd = 9
	CmdBeginDataPending Cmd = 10
	CmdEndDataPending   Cmd = 11
	CmdAddIndex         Cmd = 12
	CmdSendIndex        Cmd = 13
	CmdCloseIndex       Cmd = 14
	CmdListSessions     Cmd = 15
	CmdStreamsSent      Cmd = 16
	CmdResetMetadata    Cmd = 17
	CmdRotateStreams    Cmd = 18
	CmdCreateTraceChunk Cmd = 19
	CmdCloseTraceChunk  Cmd = 20
	CmdTraceChunkExists Cmd = 21
	CmdGetConfiguration Cmd = 22
)

var cmdNames = [...]string{"", "ADD_STREAM", "CREATE_SESSION", "START_DATA", "UPDATE_SYNC_INFO", "VERSION",
	"SEND_METADATA", "CLOSE_STREAM", "DATA_PENDING", "QUIESCENT_CONTROL", "BEGIN_DATA_PENDING",
	"END_DATA_PENDING", "ADD_INDEX", "SEND_INDEX", "CLOSE_INDEX", "LIST_SESSIONS", "STREAMS_SENT",
	"RESET_METADATA", "ROTATE_STREAMS", "CREATE_TRACE_CHUNK", "CLOSE_TRACE_CHUNK", "TRACE_CHUNK_EXISTS",
	"GET_CONFIGURATION"}

func (c Cmd) String() string {
	if c > 0 && int(c) < len(cmdNames) {
		return cmdNames[c]
	}
	return fmt.Sprintf("command %d", uint32(c))
}

// RetCode is an LTTng error code carried by control replies.
type RetCode uint32

// Return codes used by the relay.
const (
	OK                 RetCode = 10
	ErrUnk             RetCode = 11
	ErrFatal           RetCode = 25
	ErrNoMem           RetCode = 26
	ErrInvalid         RetCode = 97
	ErrInvalidProtocol RetCode = 152
	ErrFileCreation    RetCode = 153
)

// Close trace chunk commands.
const (
	CloseMoveToCompleted uint32 = 0
	CloseNoOperation     uint32 = 1
	CloseDelete          uint32 = 2
)

// ConfigClearAllowed is bit 0 of the GET_CONFIGURATION flags.
const ConfigClearAllowed = 1

// HeaderSize is the size of a control command header.
const HeaderSize = 24

// Header precedes every control command.
type Header struct {
	CircuitID  uint64
	DataSize   uint64 // payload bytes that follow
	Cmd        Cmd
	CmdVersion uint32
}

// Decode reads a 24-byte header.
func (h *Header) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	h.CircuitID, h.DataSize, h.Cmd, h.CmdVersion = c.U64(), c.U64(), Cmd(c.U32()), c.U32()
	return c.Err()
}

// Append encodes the header.
func (h *Header) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U64(h.CircuitID)
	e.U64(h.DataSize)
	e.U32(uint32(h.Cmd))
	e.U32(h.CmdVersion)
	return e.B
}

// AppendCommand appends a header for cmd with the given payload size.
func AppendCommand(b []byte, cmd Cmd, size int) []byte {
	h := Header{DataSize: uint64(size), Cmd: cmd}
	return h.Append(b)
}

// checkEnd fails the cursor when bytes are left over.
func checkEnd(c *wire.Cursor, what string) error {
	if c.Err() == nil && c.Len() != 0 {
		c.Failf("%d unexpected trailing bytes after %s", c.Len(), what)
	}
	return c.Err()
}

// Version is the VERSION payload and its reply.
type Version struct{ Major, Minor uint32 }

// Decode reads 8 bytes.
func (m *Version) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.Major, m.Minor = c.U32(), c.U32()
	return checkEnd(&c, "VERSION")
}

// Append encodes the message.
func (m *Version) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U32(m.Major)
	e.U32(m.Minor)
	return e.B
}

// GenericReply is the 4-byte reply of most commands.
type GenericReply struct{ Ret RetCode }

// Decode reads 4 bytes.
func (m *GenericReply) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.Ret = RetCode(c.U32())
	return checkEnd(&c, "reply")
}

// Append encodes the message.
func (m *GenericReply) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U32(uint32(m.Ret))
	return e.B
}

// U64Payload is the payload of the commands carrying one u64: GET_CONFIGURATION
// (query flags), BEGIN/END_DATA_PENDING (relay session id), QUIESCENT_CONTROL
// (stream id), TRACE_CHUNK_EXISTS (chunk id).
type U64Payload struct{ V uint64 }

// Decode reads 8 bytes.
func (m *U64Payload) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.V = c.U64()
	return checkEnd(&c, "u64 payload")
}

// Append encodes the message.
func (m *U64Payload) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U64(m.V)
	return e.B
}

// GetConfigurationReply answers GET_CONFIGURATION.
type GetConfigurationReply struct {
	Ret   RetCode
	Flags uint64
}

// Decode reads 12 bytes.
func (m *GetConfigurationReply) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.Ret, m.Flags = RetCode(c.U32()), c.U64()
	return checkEnd(&c, "GET_CONFIGURATION reply")
}

// Append encodes the message.
func (m *GetConfigurationReply) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U32(uint32(m.Ret))
	e.U64(m.Flags)
	return e.B
}

// CreateSession is the CREATE_SESSION payload (layouts of minor 4-10,
// 11-14 and 15+; minor 1-3 has none).
type CreateSession struct {
	SessionName              string
	Hostname                 string
	BasePath                 string
	LiveTimer                uint32 // µs, 0 = not live
	Snapshot                 bool
	NameContainsCreationTime bool
	SessiondUUID             [16]byte
	SessiondSessionID        uint64
	CreationTime             uint64 // s since the epoch
	CurrentChunkID           ChunkID
	HasCurrentChunk          bool
	TraceFormat              uint32 // minor >= 15: 1 CTF 1.8, 2 CTF 2
}

// Decode reads the payload for the negotiated minor.
func (m *CreateSession) Decode(b []byte, minor uint32) error {
	*m = CreateSession{}
	c := wire.Cursor{B: b}
	switch {
	case minor < 4:
	case minor < 11:
		m.SessionName = c.CString(NameMax)
		m.Hostname = c.CString(HostNameField)
		m.LiveTimer = c.U32()
		m.Snapshot = c.U32() != 0
	default:
		nameLen, hostLen, baseLen := c.U32(), c.U32(), c.U32()
		m.LiveTimer = c.U32()
		m.Snapshot = c.U8() != 0
		m.NameContainsCreationTime = c.U8() != 0
		copy(m.SessiondUUID[:], c.Bytes(16))
		m.SessiondSessionID = c.U64()
		m.CreationTime = c.U64()
		v, set := c.OptU64()
		if !set {
			v = 0 // meaningless when unset
		}
		m.CurrentChunkID, m.HasCurrentChunk = ChunkID(v), set
		if minor >= 15 {
			m.TraceFormat = c.U32()
		}
		if c.Err() == nil {
			switch {
			case nameLen == 0 || nameLen > NameMax:
				c.Failf("session name length %d out of 1..%d", nameLen, NameMax)
			case hostLen == 0 || hostLen > HostNameMax:
				c.Failf("hostname length %d out of 1..%d", hostLen, HostNameMax)
			case baseLen > PathMax:
				c.Failf("base path length %d over %d", baseLen, PathMax)
			}
		}
		m.SessionName = c.NulString(int(nameLen), "session name")
		m.Hostname = c.NulString(int(hostLen), "hostname")
		if baseLen > 0 {
			m.BasePath = c.NulString(int(baseLen), "base path")
		}
	}
	return checkEnd(&c, "CREATE_SESSION")
}

// Append encodes the payload for minor.
func (m *CreateSession) Append(b []byte, minor uint32) []byte {
	e := wire.Encoder{B: b}
	switch {
	case minor < 4:
	case minor < 11:
		e.FixedString(m.SessionName, NameMax)
		e.FixedString(m.Hostname, HostNameField)
		e.U32(m.LiveTimer)
		e.U32(uint32(b2u(m.Snapshot)))
	default:
		e.U32(uint32(len(m.SessionName) + 1))
		e.U32(uint32(len(m.Hostname) + 1))
		e.U32(uint32(len(m.BasePath) + 1))
		e.U32(m.LiveTimer)
		e.U8(b2u(m.Snapshot))
		e.U8(b2u(m.NameContainsCreationTime))
		e.Bytes(m.SessiondUUID[:])
		e.U64(m.SessiondSessionID)
		e.U64(m.CreationTime)
		e.OptU64(uint64(m.CurrentChunkID), m.HasCurrentChunk)
		if minor >= 15 {
			e.U32(m.TraceFormat)
		}
		e.NulString(m.SessionName)
		e.NulString(m.Hostname)
		e.NulString(m.BasePath)
	}
	return e.B
}

// CreateSessionReply answers CREATE_SESSION; OutputPath only for minor >= 11.
type CreateSessionReply struct {
	SessionID  SessionID
	Ret        RetCode
	OutputPath string
}

// Decode reads the reply for minor.
func (m *CreateSessionReply) Decode(b []byte, minor uint32) error {
	*m = CreateSessionReply{}
	c := wire.Cursor{B: b}
	m.SessionID, m.Ret = SessionID(c.U64()), RetCode(c.U32())
	if minor >= 11 {
		n := c.U32()
		if n >= PathMax {
			c.Failf("output path length %d over %d", n, PathMax-1)
		}
		if n > 0 {
			m.OutputPath = c.NulString(int(n), "output path")
		}
	}
	return checkEnd(&c, "CREATE_SESSION reply")
}

// FixedSize is the size of the fixed part of the reply for minor.
func (m *CreateSessionReply) FixedSize(minor uint32) int {
	if minor >= 11 {
		return 16
	}
	return 12
}

// Append encodes the reply for minor.
func (m *CreateSessionReply) Append(b []byte, minor uint32) []byte {
	e := wire.Encoder{B: b}
	e.U64(uint64(m.SessionID))
	e.U32(uint32(m.Ret))
	if minor >= 11 {
		if m.Ret != OK && m.OutputPath == "" {
			e.U32(0)
		} else {
			e.U32(uint32(len(m.OutputPath) + 1))
			e.NulString(m.OutputPath)
		}
	}
	return e.B
}

// CreateTraceChunk is the CREATE_TRACE_CHUNK payload.
type CreateTraceChunk struct {
	ChunkID      ChunkID
	CreationTime uint64
	OverrideName string // "" = none
}

// Decode reads the payload.
func (m *CreateTraceChunk) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.ChunkID, m.CreationTime = ChunkID(c.U64()), c.U64()
	n := c.U32()
	m.OverrideName = ""
	if n > NameMax+1 {
		c.Failf("chunk name length %d over %d", n, NameMax+1)
	}
	if n > 0 {
		m.OverrideName = c.NulString(int(n), "chunk name")
	}
	return checkEnd(&c, "CREATE_TRACE_CHUNK")
}

// Append encodes the payload.
func (m *CreateTraceChunk) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U64(uint64(m.ChunkID))
	e.U64(m.CreationTime)
	if m.OverrideName == "" {
		e.U32(0)
	} else {
		e.U32(uint32(len(m.OverrideName) + 1))
		e.NulString(m.OverrideName)
	}
	return e.B
}

// AddStream is the ADD_STREAM payload (layouts of minor 1, 2-10, 11+).
type AddStream struct {
	ChannelName    string
	Pathname       string
	TracefileSize  uint64
	TracefileCount uint64
	ChunkID        ChunkID // minor >= 11
}

// Decode reads the payload for minor.
func (m *AddStream) Decode(b []byte, minor uint32) error {
	*m = AddStream{}
	c := wire.Cursor{B: b}
	if minor < 11 {
		m.ChannelName = c.CString(StreamNameLen)
		m.Pathname = c.CString(PathMax)
		if minor >= 2 {
			m.TracefileSize, m.TracefileCount = c.U64(), c.U64()
		}
		return checkEnd(&c, "ADD_STREAM")
	}
	nameLen, pathLen := c.U32(), c.U32()
	m.TracefileSize, m.TracefileCount = c.U64(), c.U64()
	m.ChunkID = ChunkID(c.U64())
	if c.Err() == nil {
		if nameLen == 0 || nameLen > StreamNameLen {
			c.Failf("channel name length %d out of 1..%d", nameLen, StreamNameLen)
		} else if pathLen == 0 || pathLen > StreamPathMax {
			c.Failf("stream path length %d out of 1..%d", pathLen, StreamPathMax)
		}
	}
	m.ChannelName = c.NulString(int(nameLen), "channel name")
	m.Pathname = c.NulString(int(pathLen), "stream path")
	return checkEnd(&c, "ADD_STREAM")
}

// Append encodes the payload for minor.
func (m *AddStream) Append(b []byte, minor uint32) []byte {
	e := wire.Encoder{B: b}
	if minor < 11 {
		e.FixedString(m.ChannelName, StreamNameLen)
		e.FixedString(m.Pathname, PathMax)
		if minor >= 2 {
			e.U64(m.TracefileSize)
			e.U64(m.TracefileCount)
		}
		return e.B
	}
	e.U32(uint32(len(m.ChannelName) + 1))
	e.U32(uint32(len(m.Pathname) + 1))
	e.U64(m.TracefileSize)
	e.U64(m.TracefileCount)
	e.U64(uint64(m.ChunkID))
	e.NulString(m.ChannelName)
	e.NulString(m.Pathname)
	return e.B
}

// AddStreamReply answers ADD_STREAM.
type AddStreamReply struct {
	Handle StreamID
	Ret    RetCode
}

// Decode reads 12 bytes.
func (m *AddStreamReply) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.Handle, m.Ret = StreamID(c.U64()), RetCode(c.U32())
	return checkEnd(&c, "ADD_STREAM reply")
}

// Append encodes the reply.
func (m *AddStreamReply) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U64(uint64(m.Handle))
	e.U32(uint32(m.Ret))
	return e.B
}

// SendMetadataSize is the size of the SEND_METADATA fixed part.
const SendMetadataSize = 12

// SendMetadata is the fixed part of SEND_METADATA; the metadata bytes follow.
type SendMetadata struct {
	StreamID StreamID
	Padding  uint32 // zero bytes to append after the data
}

// Decode reads the 12-byte fixed part (b may hold more).
func (m *SendMetadata) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.StreamID, m.Padding = StreamID(c.U64()), c.U32()
	return c.Err()
}

// Append encodes the fixed part.
func (m *SendMetadata) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U64(uint64(m.StreamID))
	e.U32(m.Padding)
	return e.B
}

// SendIndex is the SEND_INDEX payload; PacketSize 0 marks a live beacon.
type SendIndex struct {
	RelayStreamID    StreamID
	NetSeqNum        SeqNum
	PacketSize       uint64 // bits, 0 = beacon
	ContentSize      uint64 // bits
	TimestampBegin   uint64
	TimestampEnd     uint64
	EventsDiscarded  uint64
	StreamID         uint64 // CTF stream class id
	StreamInstanceID uint64 // minor >= 8, else -1
	PacketSeqNum     SeqNum // minor >= 8, else -1
}

// SendIndexSize returns the payload size for minor: 80, or 64 below 8.
func SendIndexSize(minor uint32) int {
	if minor >= 8 {
		return 80
	}
	return 64
}

// IsBeacon reports whether the index is a live beacon.
func (m *SendIndex) IsBeacon() bool { return m.PacketSize == 0 }

// Decode reads the payload for minor.
func (m *SendIndex) Decode(b []byte, minor uint32) error {
	c := wire.Cursor{B: b}
	m.RelayStreamID, m.NetSeqNum = StreamID(c.U64()), SeqNum(c.U64())
	m.PacketSize, m.ContentSize = c.U64(), c.U64()
	m.TimestampBegin, m.TimestampEnd = c.U64(), c.U64()
	m.EventsDiscarded, m.StreamID = c.U64(), c.U64()
	if minor >= 8 {
		m.StreamInstanceID, m.PacketSeqNum = c.U64(), SeqNum(c.U64())
	} else {
		m.StreamInstanceID, m.PacketSeqNum = ^uint64(0), NoSeq
	}
	return checkEnd(&c, "SEND_INDEX")
}

// Append encodes the payload for minor.
func (m *SendIndex) Append(b []byte, minor uint32) []byte {
	e := wire.Encoder{B: b}
	e.U64(uint64(m.RelayStreamID))
	e.U64(uint64(m.NetSeqNum))
	e.U64(m.PacketSize)
	e.U64(m.ContentSize)
	e.U64(m.TimestampBegin)
	e.U64(m.TimestampEnd)
	e.U64(m.EventsDiscarded)
	e.U64(m.StreamID)
	if minor >= 8 {
		e.U64(m.StreamInstanceID)
		e.U64(uint64(m.PacketSeqNum))
	}
	return e.B
}

// StreamSeq is the payload of CLOSE_STREAM and DATA_PENDING.
type StreamSeq struct {
	StreamID      StreamID
	LastNetSeqNum SeqNum // NoSeq when nothing was sent
}

// Decode reads 16 bytes.
func (m *StreamSeq) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.StreamID, m.LastNetSeqNum = StreamID(c.U64()), SeqNum(c.U64())
	return checkEnd(&c, "stream/sequence payload")
}

// Append encodes the payload.
func (m *StreamSeq) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U64(uint64(m.StreamID))
	e.U64(uint64(m.LastNetSeqNum))
	return e.B
}

// ResetMetadata is the RESET_METADATA payload.
type ResetMetadata struct {
	StreamID StreamID
	Version  uint64
}

// Decode reads 16 bytes.
func (m *ResetMetadata) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.StreamID, m.Version = StreamID(c.U64()), c.U64()
	return checkEnd(&c, "RESET_METADATA")
}

// Append encodes the payload.
func (m *ResetMetadata) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U64(uint64(m.StreamID))
	e.U64(m.Version)
	return e.B
}

// RotatePosition is one stream of ROTATE_STREAMS.
type RotatePosition struct {
	StreamID StreamID
	// RotateAtSeqNum is the CTF packet sequence number of the first packet
	// of the new chunk (ignored for metadata streams).
	RotateAtSeqNum SeqNum
}

// RotateStreams is the ROTATE_STREAMS payload. Its header size depends on
// the sender's ABI (13, 16 or 20 bytes); Decode picks it from the size.
type RotateStreams struct {
	NewChunkID  ChunkID
	HasNewChunk bool // false = rotate to no chunk (session destruction)
	Positions   []RotatePosition
}

// Decode reads the payload, reusing m.Positions.
func (m *RotateStreams) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	n := int64(c.U32())
	if c.Err() != nil {
		return c.Err()
	}
	var off int
	switch int64(len(b)) {
	case 13 + 16*n:
		off = 5
	case 16 + 16*n:
		off = 8
	case 20 + 16*n:
		off = 12
	default:
		c.Failf("ROTATE_STREAMS of %d bytes does not fit %d positions", len(b), n)
		return c.Err()
	}
	m.HasNewChunk = c.U8() != 0
	c.Off = off
	m.NewChunkID = ChunkID(c.U64())
	m.Positions = m.Positions[:0]
	for i := int64(0); i < n; i++ {
		m.Positions = append(m.Positions, RotatePosition{StreamID(c.U64()), SeqNum(c.U64())})
	}
	return checkEnd(&c, "ROTATE_STREAMS")
}

// Append encodes the payload in the x86-64 layout (20-byte header, zero
// padding), the one a 64-bit consumerd sends.
func (m *RotateStreams) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U32(uint32(len(m.Positions)))
	e.U8(b2u(m.HasNewChunk))
	e.Zero(7)
	if m.HasNewChunk {
		e.U64(uint64(m.NewChunkID))
	} else {
		e.U64(0)
	}
	for _, p := range m.Positions {
		e.U64(uint64(p.StreamID))
		e.U64(uint64(p.RotateAtSeqNum))
	}
	return e.B
}

// CloseTraceChunk is the CLOSE_TRACE_CHUNK payload.
type CloseTraceChunk struct {
	ChunkID        ChunkID
	CloseTimestamp uint64
	Command        uint32 // CloseMoveToCompleted, CloseNoOperation, CloseDelete
	HasCommand     bool
}

// Decode reads 21 bytes.
func (m *CloseTraceChunk) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.ChunkID, m.CloseTimestamp = ChunkID(c.U64()), c.U64()
	m.Command, m.HasCommand = c.OptU32()
	return checkEnd(&c, "CLOSE_TRACE_CHUNK")
}

// Append encodes the payload.
func (m *CloseTraceChunk) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U64(uint64(m.ChunkID))
	e.U64(m.CloseTimestamp)
	e.OptU32(m.Command, m.HasCommand)
	return e.B
}

// CloseTraceChunkReply answers CLOSE_TRACE_CHUNK.
type CloseTraceChunkReply struct {
	Ret  RetCode
	Path string // closed chunk's path relative to the output root
}

// Decode reads the reply.
func (m *CloseTraceChunkReply) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.Ret = RetCode(c.U32())
	n := c.U32()
	m.Path = ""
	if n >= PathMax {
		c.Failf("chunk path length %d over %d", n, PathMax-1)
	}
	if n > 0 {
		m.Path = c.NulString(int(n), "chunk path")
	}
	return checkEnd(&c, "CLOSE_TRACE_CHUNK reply")
}

// Append encodes the reply.
func (m *CloseTraceChunkReply) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U32(uint32(m.Ret))
	if m.Path == "" {
		e.U32(0)
	} else {
		e.U32(uint32(len(m.Path) + 1))
		e.NulString(m.Path)
	}
	return e.B
}

// TraceChunkExistsReply answers TRACE_CHUNK_EXISTS.
type TraceChunkExistsReply struct {
	Ret    RetCode
	Exists bool
}

// Decode reads 5 bytes.
func (m *TraceChunkExistsReply) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	m.Ret, m.Exists = RetCode(c.U32()), c.U8() != 0
	return checkEnd(&c, "TRACE_CHUNK_EXISTS reply")
}

// Append encodes the reply.
func (m *TraceChunkExistsReply) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U32(uint32(m.Ret))
	e.U8(b2u(m.Exists))
	return e.B
}

// DataHeaderSize is the size of a data port packet header.
const DataHeaderSize = 32

// DataHeader precedes every packet on the data port.
type DataHeader struct {
	CircuitID   uint64
	StreamID    StreamID
	NetSeqNum   SeqNum
	DataSize    uint32 // packet bytes that follow
	PaddingSize uint32 // zero bytes completing the packet, not sent
}

// Decode reads 32 bytes.
func (h *DataHeader) Decode(b []byte) error {
	c := wire.Cursor{B: b}
	h.CircuitID, h.StreamID, h.NetSeqNum = c.U64(), StreamID(c.U64()), SeqNum(c.U64())
	h.DataSize, h.PaddingSize = c.U32(), c.U32()
	return c.Err()
}

// Append encodes the header.
func (h *DataHeader) Append(b []byte) []byte {
	e := wire.Encoder{B: b}
	e.U64(h.CircuitID)
	e.U64(uint64(h.StreamID))
	e.U64(uint64(h.NetSeqNum))
	e.U32(h.DataSize)
	e.U32(h.PaddingSize)
	return e.B
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

package proto

// SessionID is a relay session id (relay-wide counter from 1).
type SessionID uint64

// StreamID is a relay stream handle (relay-wide counter from 1), used as
// stream id on the data port and as viewer stream id.
type StreamID uint64

// ChunkID is a trace chunk id allocated by the session daemon.
type ChunkID uint64

// SeqNum is a per-stream packet counter (net_seq_num or packet_seq_num).
type SeqNum uint64

// NoSeq is the "unset" sequence number (-1).
const NoSeq SeqNum = ^SeqNum(0)

// Sizes and limits.
const (
	NameMax           = 255       // session, channel names in viewer records
	HostNameMax       = 256       // hostname in 2.11+ control messages, incl. NUL
	HostNameField     = 64        // char[64] hostname fields
	PathMax           = 4096      // paths
	StreamNameLen     = 264       // channel name limit of ADD_STREAM
	StreamPathMax     = 255       // pathname limit of ADD_STREAM 2.11+ (relayd 2.13)
	MaxControlPayload = 128 << 20 // relay refuses a control header announcing more
	MaxStreamRecords  = 1 << 16   // cap on stream records in one viewer reply
	MaxSessionRecords = 1 << 16   // cap on session records in one listing
)

// Own protocol version announced by our relay and client.
const (
	Major = 2
	Minor = 13
)

package live

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/tracetop/tracetop/internal/relay/proto"
	"github.com/tracetop/tracetop/internal/wire"
)

// Minor is the viewer protocol minor version the client offers; both
// sides use the smaller of the two minors. Below 15 every message has the
// 2.4 layout (babeltrace2 offers 4).
const Minor = 13

// Limits on what a relay reply may announce, so that a hostile or broken
// relay cannot make the client allocate without bound.
const (
	MaxPacket   = 64 << 20 // bytes of one GET_PACKET reply
	MaxMetadata = 64 << 20 // bytes of one GET_METADATA reply
)

// ProtocolError says the relay broke the viewer protocol: a reply that
// does not decode, or announces more than was asked or allowed. The
// connection cannot be used any more.
type ProtocolError struct {
	Cmd proto.ViewerCmd
	Off int64 // byte offset of the reply in what the relay sent
	Err error
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("live: relay reply to %v at byte %#x: %v", e.Cmd, e.Off, e.Err)
}

func (e *ProtocolError) Unwrap() error { return e.Err }

// StatusError is a reply status that ends what the caller was doing.
type StatusError struct {
	Cmd    proto.ViewerCmd
	Status uint32
	What   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("live: %v: %s (status %d)", e.Cmd, e.What, e.Status)
}

// Client is one viewer connection to a relay's live port (lttng-relayd or
// tracetop's relay). Commands are sent one at a time; a Client is not safe
// for concurrent use. After any I/O or protocol error the connection is
// unusable: close it (a Session reconnects).
type Client struct {
	conn    net.Conn
	br      *bufio.Reader
	minor   uint32
	id      uint64
	timeout time.Duration
	out     []byte
	in      []byte
	off     int64 // bytes read from the relay so far
	err     error
}

// Dial connects to the live port at addr (host:port) and negotiates the
// protocol version. timeout bounds each reply (0: 10 s).
func Dial(ctx context.Context, addr string, timeout time.Duration) (*Client, error) {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	return handshake(conn, timeout)
}

// handshake speaks CONNECT on conn and returns the client, or closes conn.
func handshake(conn net.Conn, timeout time.Duration) (*Client, error) {
	c := NewClient(conn, timeout)
	if err := c.connect(); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// NewClient speaks the viewer protocol over conn without the CONNECT
// handshake (tests, proxies); Dial is the usual way in.
func NewClient(conn net.Conn, timeout time.Duration) *Client {
	return &Client{conn: conn, br: bufio.NewReaderSize(conn, 64<<10), timeout: timeout, minor: 4}
}

// Minor returns the negotiated minor version.
func (c *Client) Minor() uint32 { return c.minor }

// ViewerSessionID returns the id the relay gave this connection.
func (c *Client) ViewerSessionID() uint64 { return c.id }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Err returns the error that made the connection unusable, if any.
func (c *Client) Err() error { return c.err }

func (c *Client) connect() error {
	m := proto.Connect{ViewerSessionID: ^uint64(0), Major: proto.Major, Minor: Minor, Type: proto.ConnCommand}
	b, err := c.call(proto.ViewerConnect, m.Append(nil), 20)
	if err != nil {
		return err
	}
	var r proto.Connect
	if err := r.Decode(b); err != nil {
		return c.protoErr(proto.ViewerConnect, 20, err)
	}
	if r.Major != proto.Major {
		return c.fail(&ProtocolError{Cmd: proto.ViewerConnect, Off: c.off - 20, Err: fmt.Errorf("relay speaks protocol %d.%d, want major %d", r.Major, r.Minor, proto.Major)})
	}
	c.minor, c.id = min(r.Minor, Minor), r.ViewerSessionID
	return nil
}

func (c *Client) fail(err error) error {
	if c.err == nil {
		c.err = err
	}
	return err
}

func (c *Client) protoErr(cmd proto.ViewerCmd, n int, err error) error {
	return c.fail(&ProtocolError{Cmd: cmd, Off: c.off - int64(n), Err: err})
}

// send writes a command with its payload.
func (c *Client) send(cmd proto.ViewerCmd, payload []byte) error {
	if c.err != nil {
		return c.err
	}
	c.out = proto.AppendViewerCommand(c.out[:0], cmd)
	c.out = append(c.out, payload...)
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	if _, err := c.conn.Write(c.out); err != nil {
		return c.fail(fmt.Errorf("live: send %v: %w", cmd, err))
	}
	return nil
}

// read reads n bytes of the reply into the client's buffer.
func (c *Client) read(cmd proto.ViewerCmd, n int) ([]byte, error) {
	if cap(c.in) < n {
		c.in = make([]byte, n)
	}
	b := c.in[:n]
	if err := c.readInto(cmd, b); err != nil {
		return nil, err
	}
	return b, nil
}

func (c *Client) readInto(cmd proto.ViewerCmd, b []byte) error {
	if c.err != nil {
		return c.err
	}
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	k, err := io.ReadFull(c.br, b)
	c.off += int64(k)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return c.fail(fmt.Errorf("live: reply to %v at byte %#x: %w", cmd, c.off, err))
	}
	return nil
}

// readAppend appends n bytes of the reply to dst, growing dst as the
// bytes arrive rather than by what the relay announced.
func (c *Client) readAppend(cmd proto.ViewerCmd, dst []byte, n int) ([]byte, error) {
	const chunk = 1 << 20
	for n > 0 {
		k := min(n, chunk)
		dst = slices.Grow(dst, k)
		m := len(dst)
		dst = dst[:m+k]
		if err := c.readInto(cmd, dst[m:]); err != nil {
			return dst[:m], err
		}
		n -= k
	}
	return dst, nil
}

func (c *Client) call(cmd proto.ViewerCmd, payload []byte, n int) ([]byte, error) {
	if err := c.send(cmd, payload); err != nil {
		return nil, err
	}
	return c.read(cmd, n)
}

func u64(v uint64) []byte {
	m := proto.U64Payload{V: v}
	return m.Append(nil)
}

// CreateSession creates the connection's viewer session (needed before
// attaching).
func (c *Client) CreateSession() error {
	b, err := c.call(proto.ViewerCreateSession, nil, 4)
	if err != nil {
		return err
	}
	var r proto.StatusReply
	if err := r.Decode(b); err != nil {
		return c.protoErr(proto.ViewerCreateSession, 4, err)
	}
	if r.Status != proto.CreateOK {
		return &StatusError{proto.ViewerCreateSession, r.Status, "the relay refused to create a viewer session"}
	}
	return nil
}

// ListSessions lists the relay's sessions. A tracing session appears once
// per consumer (kernel, UST 32 and 64 bits): see Group.
func (c *Client) ListSessions() ([]proto.SessionInfo, error) {
	const cmd = proto.ViewerListSessions
	b, err := c.call(cmd, nil, 4)
	if err != nil {
		return nil, err
	}
	cur := wire.Cursor{B: b}
	n := cur.U32()
	if n > proto.MaxSessionRecords {
		return nil, c.protoErr(cmd, 4, fmt.Errorf("%d session records over the limit %d", n, proto.MaxSessionRecords))
	}
	if c.minor >= 15 {
		return nil, c.protoErr(cmd, 4, errors.New("the 2.15 listing is not supported"))
	}
	var out []proto.SessionInfo
	for range n {
		b, err := c.read(cmd, proto.SessionRecordSize)
		if err != nil {
			return nil, err
		}
		cur := wire.Cursor{B: b}
		var s proto.SessionInfo
		s.ID, s.LiveTimer, s.Clients, s.Streams = proto.SessionID(cur.U64()), cur.U32(), cur.U32(), cur.U32()
		s.Hostname = cur.CString(proto.HostNameField)
		s.SessionName = cur.CString(proto.NameMax)
		if err := cur.Err(); err != nil {
			return nil, c.protoErr(cmd, proto.SessionRecordSize, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// streams reads the reply of ATTACH_SESSION or GET_NEW_STREAMS, record by
// record (a count is not trusted for an allocation).
func (c *Client) streams(cmd proto.ViewerCmd) (uint32, []proto.StreamInfo, error) {
	b, err := c.read(cmd, 8)
	if err != nil {
		return 0, nil, err
	}
	var r proto.StreamsReply
	n, err := r.DecodeHead(b)
	if err != nil {
		return 0, nil, c.protoErr(cmd, 8, err)
	}
	var out []proto.StreamInfo
	for range n {
		b, err := c.read(cmd, proto.StreamRecordSize)
		if err != nil {
			return 0, nil, err
		}
		cur := wire.Cursor{B: b}
		var s proto.StreamInfo
		s.ID, s.CTFTraceID, s.Metadata = proto.StreamID(cur.U64()), cur.U64(), cur.U32() != 0
		s.PathName = cur.CString(proto.PathMax)
		s.ChannelName = cur.CString(proto.NameMax)
		if err := cur.Err(); err != nil {
			return 0, nil, c.protoErr(cmd, proto.StreamRecordSize, err)
		}
		out = append(out, s)
	}
	return r.Status, out, nil
}

// Attach attaches a relay session (seek proto.SeekBeginning or
// proto.SeekLast) and returns its streams; the status is returned as is
// (proto.AttachOK ...).
func (c *Client) Attach(id proto.SessionID, seek uint32) (uint32, []proto.StreamInfo, error) {
	m := proto.AttachSession{SessionID: id, Seek: seek}
	if err := c.send(proto.ViewerAttachSession, m.Append(nil)); err != nil {
		return 0, nil, err
	}
	return c.streams(proto.ViewerAttachSession)
}

// NewStreams returns the streams of an attached session not listed yet;
// status proto.NewStreamsHup says the session is over.
func (c *Client) NewStreams(id proto.SessionID) (uint32, []proto.StreamInfo, error) {
	if err := c.send(proto.ViewerGetNewStreams, u64(uint64(id))); err != nil {
		return 0, nil, err
	}
	return c.streams(proto.ViewerGetNewStreams)
}

// NextIndex asks for the next packet index (or beacon) of a data stream.
func (c *Client) NextIndex(id proto.StreamID) (proto.IndexReply, error) {
	var r proto.IndexReply
	b, err := c.call(proto.ViewerGetNextIndex, u64(uint64(id)), proto.IndexReplySize)
	if err != nil {
		return r, err
	}
	if err := r.Decode(b); err != nil {
		return r, c.protoErr(proto.ViewerGetNextIndex, proto.IndexReplySize, err)
	}
	return r, nil
}

// Packet reads n bytes at offset of a data stream (a packet from its
// index) into a new slice. The status is returned as is; the bytes only
// with proto.PacketOK.
func (c *Client) Packet(id proto.StreamID, offset uint64, n uint32) (proto.PacketReply, []byte, error) {
	const cmd = proto.ViewerGetPacket
	var r proto.PacketReply
	if n > MaxPacket {
		return r, nil, fmt.Errorf("live: packet of %d bytes over the limit %d", n, MaxPacket)
	}
	m := proto.GetPacket{StreamID: id, Offset: offset, Len: n}
	b, err := c.call(cmd, m.Append(nil), proto.PacketReplySize)
	if err != nil {
		return r, nil, err
	}
	if err := r.Decode(b); err != nil {
		return r, nil, c.protoErr(cmd, proto.PacketReplySize, err)
	}
	if r.Status != proto.PacketOK {
		return r, nil, nil
	}
	if r.Len != n {
		return r, nil, c.protoErr(cmd, proto.PacketReplySize, fmt.Errorf("packet of %d bytes, asked for %d", r.Len, n))
	}
	data, err := c.readAppend(cmd, nil, int(r.Len))
	if err != nil {
		return r, nil, err
	}
	return r, data, nil
}

// Metadata appends to dst the metadata bytes of a metadata stream not
// sent yet, and returns the status (proto.MetadataNoNew when there are
// none).
func (c *Client) Metadata(id proto.StreamID, dst []byte) (uint32, []byte, error) {
	const cmd = proto.ViewerGetMetadata
	b, err := c.call(cmd, u64(uint64(id)), proto.MetadataReplySize)
	if err != nil {
		return 0, dst, err
	}
	var r proto.MetadataReply
	if err := r.Decode(b); err != nil {
		return 0, dst, c.protoErr(cmd, proto.MetadataReplySize, err)
	}
	if r.Status != proto.MetadataOK {
		return r.Status, dst, nil
	}
	if r.Len > MaxMetadata {
		return 0, dst, c.protoErr(cmd, proto.MetadataReplySize, fmt.Errorf("metadata of %d bytes over the limit %d", r.Len, MaxMetadata))
	}
	n := len(dst)
	dst, err = c.readAppend(cmd, dst, int(r.Len))
	if err != nil {
		return 0, dst[:n], err
	}
	return r.Status, dst, nil
}

// Detach detaches a relay session.
func (c *Client) Detach(id proto.SessionID) (uint32, error) {
	b, err := c.call(proto.ViewerDetachSession, u64(uint64(id)), 4)
	if err != nil {
		return 0, err
	}
	var r proto.StatusReply
	if err := r.Decode(b); err != nil {
		return 0, c.protoErr(proto.ViewerDetachSession, 4, err)
	}
	return r.Status, nil
}

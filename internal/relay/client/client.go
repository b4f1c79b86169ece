package client

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/tracetop/tracetop/internal/relay/proto"
)

// RelayError is a command the relay refused.
type RelayError struct {
	Cmd proto.Cmd
	Ret proto.RetCode
}

func (e *RelayError) Error() string {
	return fmt.Sprintf("relay refused %v: return code %d", e.Cmd, uint32(e.Ret))
}

// Client is a connected control/data connection pair.
type Client struct {
	ctl, data net.Conn
	minor     uint32
	flags     uint64
	out, in   []byte
	dout      []byte
}

// Dial connects both ports, negotiates the protocol version and reads the
// relay's configuration.
func Dial(ctx context.Context, controlAddr, dataAddr string) (*Client, error) {
	var d net.Dialer
	ctl, err := d.DialContext(ctx, "tcp", controlAddr)
	if err != nil {
		return nil, fmt.Errorf("relay control: %w", err)
	}
	data, err := d.DialContext(ctx, "tcp", dataAddr)
	if err != nil {
		ctl.Close()
		return nil, fmt.Errorf("relay data: %w", err)
	}
	c := &Client{ctl: ctl, data: data}
	if err := c.handshake(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) handshake() error {
	v := proto.Version{Major: proto.Major, Minor: proto.Minor}
	var r proto.Version
	if err := c.call(proto.CmdVersion, v.Append(nil), 8, r.Decode); err != nil {
		return err
	}
	if r.Major != proto.Major {
		return fmt.Errorf("relay speaks protocol %d.%d, want %d.x", r.Major, r.Minor, proto.Major)
	}
	c.minor = min(r.Minor, proto.Minor)
	if c.minor < 11 {
		return fmt.Errorf("relay speaks protocol 2.%d, want 2.11 or later", r.Minor)
	}
	if c.minor >= 12 {
		q := proto.U64Payload{}
		var cr proto.GetConfigurationReply
		if err := c.call(proto.CmdGetConfiguration, q.Append(nil), 12, cr.Decode); err != nil {
			return err
		}
		if cr.Ret != proto.OK {
			return &RelayError{proto.CmdGetConfiguration, cr.Ret}
		}
		c.flags = cr.Flags
	}
	return nil
}

// Minor returns the negotiated protocol minor version.
func (c *Client) Minor() uint32 { return c.minor }

// ClearAllowed reports whether the relay accepts `clear` (chunk deletion).
func (c *Client) ClearAllowed() bool { return c.flags&proto.ConfigClearAllowed != 0 }

// Close closes both connections; the relay then ends the session.
func (c *Client) Close() error {
	err := c.ctl.Close()
	if e := c.data.Close(); err == nil {
		err = e
	}
	return err
}

// send writes one control command.
func (c *Client) send(cmd proto.Cmd, payload []byte) error {
	c.out = proto.AppendCommand(c.out[:0], cmd, len(payload))
	c.out = append(c.out, payload...)
	if _, err := c.ctl.Write(c.out); err != nil {
		return fmt.Errorf("relay %v: %w", cmd, err)
	}
	return nil
}

// call sends a command and decodes a fixed-size reply.
func (c *Client) call(cmd proto.Cmd, payload []byte, n int, dec func([]byte) error) error {
	if err := c.send(cmd, payload); err != nil {
		return err
	}
	b, err := c.read(cmd, n)
	if err != nil {
		return err
	}
	if err := dec(b); err != nil {
		return fmt.Errorf("relay %v reply: %w", cmd, err)
	}
	return nil
}

func (c *Client) read(cmd proto.Cmd, n int) ([]byte, error) {
	if cap(c.in) < n {
		c.in = make([]byte, n)
	}
	b := c.in[:n]
	if _, err := io.ReadFull(c.ctl, b); err != nil {
		return nil, fmt.Errorf("relay %v reply: %w", cmd, err)
	}
	return b, nil
}

// generic sends a command answered by a return code, and checks it.
func (c *Client) generic(cmd proto.Cmd, payload []byte) error {
	var r proto.GenericReply
	if err := c.call(cmd, payload, 4, r.Decode); err != nil {
		return err
	}
	if r.Ret != proto.OK {
		return &RelayError{cmd, r.Ret}
	}
	return nil
}

// CreateSession creates the relay session and returns its id and output
// path (relative to the relay's output folder).
func (c *Client) CreateSession(m proto.CreateSession) (proto.SessionID, string, error) {
	if err := c.send(proto.CmdCreateSession, m.Append(nil, c.minor)); err != nil {
		return 0, "", err
	}
	head, err := c.read(proto.CmdCreateSession, 16)
	if err != nil {
		return 0, "", err
	}
	n := int(uint32(head[12])<<24 | uint32(head[13])<<16 | uint32(head[14])<<8 | uint32(head[15]))
	if n >= proto.PathMax {
		return 0, "", fmt.Errorf("relay CREATE_SESSION reply: path length %d", n)
	}
	b := append([]byte(nil), head...)
	if n > 0 {
		rest, err := c.read(proto.CmdCreateSession, n)
		if err != nil {
			return 0, "", err
		}
		b = append(b, rest...)
	}
	var r proto.CreateSessionReply
	if err := r.Decode(b, c.minor); err != nil {
		return 0, "", fmt.Errorf("relay CREATE_SESSION reply: %w", err)
	}
	if r.Ret != proto.OK {
		return 0, "", &RelayError{proto.CmdCreateSession, r.Ret}
	}
	return r.SessionID, r.OutputPath, nil
}

// CreateTraceChunk starts chunk id (name "" = default name).
func (c *Client) CreateTraceChunk(id proto.ChunkID, created uint64, name string) error {
	m := proto.CreateTraceChunk{ChunkID: id, CreationTime: created, OverrideName: name}
	return c.generic(proto.CmdCreateTraceChunk, m.Append(nil))
}

// AddStream announces a stream (channel "metadata" for a metadata stream)
// of the trace at path (relative to the chunk: "kernel", "ust/uid/0/64-bit").
func (c *Client) AddStream(channel, path string, chunk proto.ChunkID) (proto.StreamID, error) {
	return c.AddStreamTracefile(channel, path, chunk, 0, 0)
}

// AddStreamTracefile is AddStream with tracefile rotation (size in bytes,
// count of files kept; 0 = unlimited).
func (c *Client) AddStreamTracefile(channel, path string, chunk proto.ChunkID, size, count uint64) (proto.StreamID, error) {
	m := proto.AddStream{ChannelName: channel, Pathname: path, TracefileSize: size, TracefileCount: count, ChunkID: chunk}
	var r proto.AddStreamReply
	if err := c.call(proto.CmdAddStream, m.Append(nil, c.minor), 12, r.Decode); err != nil {
		return 0, err
	}
	if r.Ret != proto.OK {
		return 0, &RelayError{proto.CmdAddStream, r.Ret}
	}
	return r.Handle, nil
}

// StreamsSent publishes the streams added so far to live viewers.
func (c *Client) StreamsSent() error { return c.generic(proto.CmdStreamsSent, nil) }

// SendMetadata appends metadata bytes (and padding zero bytes) to the
// metadata stream. The relay does not reply.
func (c *Client) SendMetadata(id proto.StreamID, data []byte, padding uint32) error {
	m := proto.SendMetadata{StreamID: id, Padding: padding}
	c.out = proto.AppendCommand(c.out[:0], proto.CmdSendMetadata, proto.SendMetadataSize+len(data))
	c.out = m.Append(c.out)
	if _, err := (&net.Buffers{c.out, data}).WriteTo(c.ctl); err != nil {
		return fmt.Errorf("relay SEND_METADATA: %w", err)
	}
	return nil
}

// SendPacket sends one data packet on the data connection: data is the
// packet's content, padding the zero bytes that complete it.
func (c *Client) SendPacket(id proto.StreamID, seq proto.SeqNum, data []byte, padding uint32) error {
	h := proto.DataHeader{StreamID: id, NetSeqNum: seq, DataSize: uint32(len(data)), PaddingSize: padding}
	c.dout = h.Append(c.dout[:0])
	if _, err := (&net.Buffers{c.dout, data}).WriteTo(c.data); err != nil {
		return fmt.Errorf("relay data: %w", err)
	}
	return nil
}

// SendIndex sends the index of a data packet already sent (after its data).
func (c *Client) SendIndex(m proto.SendIndex) error {
	return c.generic(proto.CmdSendIndex, m.Append(nil, c.minor))
}

// SendBeacon tells live viewers that the stream has nothing before ts
// (cycles of the stream's clock); lastSeq is the last packet sent.
func (c *Client) SendBeacon(id proto.StreamID, lastSeq proto.SeqNum, ctfStreamID, ts uint64) error {
	m := proto.SendIndex{RelayStreamID: id, NetSeqNum: lastSeq, TimestampEnd: ts, StreamID: ctfStreamID}
	return c.SendIndex(m)
}

// CloseStream closes a stream once its packets up to lastSeq (NoSeq for
// none or for a metadata stream) are in.
func (c *Client) CloseStream(id proto.StreamID, lastSeq proto.SeqNum) error {
	m := proto.StreamSeq{StreamID: id, LastNetSeqNum: lastSeq}
	return c.generic(proto.CmdCloseStream, m.Append(nil))
}

// Pending names a data stream and the last packet sent on it.
type Pending struct {
	Stream  proto.StreamID
	LastSeq proto.SeqNum
}

// DataPending runs one data-pending round, as lttng stop does: it reports
// whether the relay still misses data of the session.
func (c *Client) DataPending(session proto.SessionID, data []Pending, metadata []proto.StreamID) (bool, error) {
	if err := c.generic(proto.CmdBeginDataPending, (&proto.U64Payload{V: uint64(session)}).Append(nil)); err != nil {
		return false, err
	}
	pending := false
	for _, p := range data {
		m := proto.StreamSeq{StreamID: p.Stream, LastNetSeqNum: p.LastSeq}
		var r proto.GenericReply
		if err := c.call(proto.CmdDataPending, m.Append(nil), 4, r.Decode); err != nil {
			return false, err
		}
		if r.Ret > 1 {
			return false, &RelayError{proto.CmdDataPending, r.Ret}
		}
		pending = pending || r.Ret == 1
	}
	for _, id := range metadata {
		if err := c.generic(proto.CmdQuiescentControl, (&proto.U64Payload{V: uint64(id)}).Append(nil)); err != nil {
			return false, err
		}
	}
	var r proto.GenericReply
	if err := c.call(proto.CmdEndDataPending, (&proto.U64Payload{V: uint64(session)}).Append(nil), 4, r.Decode); err != nil {
		return false, err
	}
	return pending || r.Ret == 1, nil
}

// RotateStreams moves streams to another chunk, or to none when
// m.HasNewChunk is false (session destruction).
func (c *Client) RotateStreams(m proto.RotateStreams) error {
	return c.generic(proto.CmdRotateStreams, m.Append(nil))
}

// CloseTraceChunk closes a chunk; command is nil or one of
// proto.CloseMoveToCompleted, CloseNoOperation, CloseDelete. It returns the
// chunk's path relative to the relay's output folder.
func (c *Client) CloseTraceChunk(id proto.ChunkID, closed uint64, command *uint32) (string, error) {
	m := proto.CloseTraceChunk{ChunkID: id, CloseTimestamp: closed}
	if command != nil {
		m.Command, m.HasCommand = *command, true
	}
	if err := c.send(proto.CmdCloseTraceChunk, m.Append(nil)); err != nil {
		return "", err
	}
	head, err := c.read(proto.CmdCloseTraceChunk, 8)
	if err != nil {
		return "", err
	}
	b := append([]byte(nil), head...)
	n := int(uint32(head[4])<<24 | uint32(head[5])<<16 | uint32(head[6])<<8 | uint32(head[7]))
	if n >= proto.PathMax {
		return "", fmt.Errorf("relay CLOSE_TRACE_CHUNK reply: path length %d", n)
	}
	if n > 0 {
		rest, err := c.read(proto.CmdCloseTraceChunk, n)
		if err != nil {
			return "", err
		}
		b = append(b, rest...)
	}
	var r proto.CloseTraceChunkReply
	if err := r.Decode(b); err != nil {
		return "", fmt.Errorf("relay CLOSE_TRACE_CHUNK reply: %w", err)
	}
	if r.Ret != proto.OK {
		return "", &RelayError{proto.CmdCloseTraceChunk, r.Ret}
	}
	return r.Path, nil
}

// TraceChunkExists asks whether the relay still writes into a chunk.
func (c *Client) TraceChunkExists(id proto.ChunkID) (bool, error) {
	var r proto.TraceChunkExistsReply
	if err := c.call(proto.CmdTraceChunkExists, (&proto.U64Payload{V: uint64(id)}).Append(nil), 5, r.Decode); err != nil {
		return false, err
	}
	if r.Ret != proto.OK {
		return false, &RelayError{proto.CmdTraceChunkExists, r.Ret}
	}
	return r.Exists, nil
}

package live

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/relay/proto"
)

// fakeConn is a relay connection that answers every command with the
// next bytes of replies, then reports the end of the connection.
type fakeConn struct {
	r *bytes.Reader
}

func (c *fakeConn) Read(b []byte) (int, error)         { return c.r.Read(b) }
func (c *fakeConn) Write(b []byte) (int, error)        { return len(b), nil }
func (c *fakeConn) Close() error                       { return nil }
func (c *fakeConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *fakeConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *fakeConn) SetDeadline(t time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(t time.Time) error { return nil }

func fakeRelay(replies []byte) net.Conn { return &fakeConn{r: bytes.NewReader(replies)} }

// memSink keeps the packets a writer stream produces.
type memSink struct{ packets [][]byte }

func (m *memSink) WriteMetadata([]byte) error { return nil }
func (m *memSink) WritePacket(_ string, p []byte, _ writer.IndexEntry) error {
	m.packets = append(m.packets, append([]byte(nil), p...))
	return nil
}
func (m *memSink) CloseStream(string) error { return nil }
func (m *memSink) Close() error             { return nil }

// conversation is what a relay answers to a viewer that lists, attaches
// a session of one data stream, reads its metadata, one packet, a beacon,
// and learns that the session ended, then that the stream did.
func conversation(tb testing.TB) []byte {
	b, pkt := attached(tb)
	b = (&proto.IndexReply{PacketSize: uint64(len(pkt)) * 8, ContentSize: uint64(len(pkt)) * 8, TimestampBegin: 1000, TimestampEnd: 2000, Status: proto.IndexOK}).Append(b)
	b = (&proto.PacketReply{Status: proto.PacketOK, Len: uint32(len(pkt))}).Append(b)
	b = append(b, pkt...)
	b = (&proto.StreamsReply{Status: proto.NewStreamsOK}).Append(b)
	b = (&proto.IndexReply{TimestampEnd: 3000, Status: proto.IndexInactive}).Append(b)
	b = (&proto.StreamsReply{Status: proto.NewStreamsHup}).Append(b)
	// The session's HUP does not end the stream: its own HUP does.
	b = (&proto.IndexReply{Status: proto.IndexHup}).Append(b)
	b = (&proto.StatusReply{Status: proto.DetachOK}).Append(b)
	return b
}

// attached is what a relay answers until the viewer attached a session
// of one data stream and read its metadata; pkt is a packet of three
// events of that stream (times 1000 to 2000).
func attached(tb testing.TB) (b, pkt []byte) {
	var uuid [16]byte
	md := &writer.Metadata{UUID: uuid, Env: []writer.EnvValue{{Key: "hostname", Str: "h"}}}
	md.AddStream(writer.StreamClass{ID: 0})
	ec, _ := md.Add(&writer.EventClass{Stream: 0, Name: "e", Fields: []writer.Field{writer.U32("x"), writer.Str("s")}})
	meta := writer.AppendMetadataPackets(nil, uuid, md.Text())
	sink := &memSink{}
	st, _ := writer.NewStream(writer.StreamConfig{Name: "chan_0", UUID: uuid}, sink)
	for i := range 3 {
		st.Append(uint64(1000+i), ec.ID, nil, []byte{byte(i), 0, 0, 0, 'a', 0})
	}
	st.Flush(2000)
	pkt = sink.packets[0]

	b = (&proto.Connect{ViewerSessionID: 1, Major: 2, Minor: 13}).Append(b)
	b = (&proto.StatusReply{Status: proto.CreateOK}).Append(b)
	b = (&proto.ListSessionsReply{Sessions: []proto.SessionInfo{{ID: 1, LiveTimer: 100000, Streams: 2, Hostname: "h", SessionName: "s"}}}).Append(b)
	b = (&proto.StreamsReply{Status: proto.AttachOK, Streams: []proto.StreamInfo{
		{ID: 2, CTFTraceID: 1, PathName: "kernel", ChannelName: "chan_0"},
		{ID: 3, CTFTraceID: 1, Metadata: true, PathName: "kernel", ChannelName: "metadata"}}}).Append(b)
	b = (&proto.MetadataReply{Len: uint64(len(meta)), Status: proto.MetadataOK}).Append(b)
	b = append(b, meta...)
	b = (&proto.MetadataReply{Status: proto.MetadataNoNew}).Append(b)
	return b, pkt
}

func fuzzSession(tb testing.TB, replies []byte) (int, error) {
	opt := Options{Reconnect: -1, Timeout: time.Second, Poll: time.Microsecond,
		Dial: func(context.Context, string) (net.Conn, error) { return fakeRelay(replies), nil }}
	s, err := Open(context.Background(), "net://relay/host/h/s", opt)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	var ev ctf.Event
	for n := 0; n < 10000; n++ {
		if err := s.Read(&ev); err == io.EOF {
			return n, nil
		} else if err != nil {
			return n, err
		}
	}
	return 10000, nil
}

// TestConversation: the seed conversation decodes to its three events.
func TestConversation(t *testing.T) {
	n, err := fuzzSession(t, conversation(t))
	if err != nil || n != 3 {
		t.Fatalf("%d events, %v; want 3", n, err)
	}
}

// FuzzSession: any reply bytes from a relay give events or an error,
// never a panic or an allocation beyond the limits.
func FuzzSession(f *testing.F) {
	conv := conversation(f)
	f.Add(conv)
	for _, cut := range []int{20, 24, 100, 400, len(conv) - 10} {
		f.Add(conv[:cut])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tm := time.AfterFunc(10*time.Second, func() { panic("input slower than 10 s") })
		defer tm.Stop()
		fuzzSession(t, b)
	})
}

// FuzzClientReplies: every reply reader of the client on any bytes.
func FuzzClientReplies(f *testing.F) {
	f.Add(conversation(f))
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		for i := range 8 {
			c := NewClient(fakeRelay(b), time.Second)
			switch i {
			case 0:
				c.connect()
			case 1:
				c.ListSessions()
			case 2:
				c.Attach(1, proto.SeekLast)
			case 3:
				c.NewStreams(1)
			case 4:
				c.NextIndex(1)
			case 5:
				c.Packet(1, 0, 4096)
			case 6:
				c.Metadata(1, nil)
			case 7:
				c.Detach(1)
			}
			c.Close()
		}
	})
}

package relay

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf/index"
	"github.com/tracetop/tracetop/internal/relay/client"
	"github.com/tracetop/tracetop/internal/relay/proto"
	"github.com/tracetop/tracetop/internal/testenv"
)

// testViewer speaks the live protocol to the relay, one command at a time.
type testViewer struct {
	t    *testing.T
	name string
	c    net.Conn
}

func newTestViewer(t *testing.T, name, addr string) *testViewer {
	v := &testViewer{t: t, name: name, c: dial(t, addr)}
	r := v.call(proto.ViewerConnect, (&proto.Connect{Major: 2, Minor: 4, Type: proto.ConnCommand}).Append(nil), 20)
	var cr proto.Connect
	if err := cr.Decode(r); err != nil || cr.Major != 2 {
		t.Fatalf("%s: CONNECT reply %x: %v", name, r, err)
	}
	var st proto.StatusReply
	st.Decode(v.call(proto.ViewerCreateSession, nil, 4))
	if st.Status != proto.CreateOK {
		t.Fatalf("%s: CREATE_SESSION status %d", name, st.Status)
	}
	return v
}

func (v *testViewer) read(n int) []byte {
	v.t.Helper()
	b := make([]byte, n)
	v.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(v.c, b); err != nil {
		v.t.Fatalf("%s: reading %d bytes: %v", v.name, n, err)
	}
	return b
}

// call sends a command and reads a reply of n bytes.
func (v *testViewer) call(cmd proto.ViewerCmd, payload []byte, n int) []byte {
	v.t.Helper()
	req := append(proto.AppendViewerCommand(nil, cmd), payload...)
	if _, err := v.c.Write(req); err != nil {
		v.t.Fatalf("%s: %v: %v", v.name, cmd, err)
	}
	return v.read(n)
}

func (v *testViewer) streams(cmd proto.ViewerCmd, payload []byte) proto.StreamsReply {
	v.t.Helper()
	head := v.call(cmd, payload, 8)
	var r proto.StreamsReply
	n, err := r.DecodeHead(head)
	if err != nil {
		v.t.Fatal(err)
	}
	if err := r.Decode(append(head, v.read(n*proto.StreamRecordSize)...)); err != nil {
		v.t.Fatal(err)
	}
	return r
}

func (v *testViewer) attach(id proto.SessionID) map[string]proto.StreamID {
	r := v.streams(proto.ViewerAttachSession, (&proto.AttachSession{SessionID: id, Seek: proto.SeekBeginning}).Append(nil))
	if r.Status != proto.AttachOK {
		v.t.Fatalf("%s: ATTACH_SESSION status %d", v.name, r.Status)
	}
	ids := map[string]proto.StreamID{}
	for _, s := range r.Streams {
		ids[s.ChannelName] = s.ID
	}
	return ids
}

func (v *testViewer) nextIndex(id proto.StreamID) proto.IndexReply {
	var r proto.IndexReply
	if err := r.Decode(v.call(proto.ViewerGetNextIndex, (&proto.U64Payload{V: uint64(id)}).Append(nil), proto.IndexReplySize)); err != nil {
		v.t.Fatal(err)
	}
	return r
}

func (v *testViewer) packet(id proto.StreamID, ir proto.IndexReply) []byte {
	v.t.Helper()
	n := uint32(ir.PacketSize / 8)
	var r proto.PacketReply
	r.Decode(v.call(proto.ViewerGetPacket, (&proto.GetPacket{StreamID: id, Offset: ir.Offset, Len: n}).Append(nil), proto.PacketReplySize))
	if r.Status != proto.PacketOK || r.Len != n {
		v.t.Fatalf("%s: GET_PACKET stream %d at %d: status %d, %d bytes", v.name, id, ir.Offset, r.Status, r.Len)
	}
	return v.read(int(n))
}

// readPackets reads n packets of stream id, each equal to want.
func (v *testViewer) readPackets(id proto.StreamID, n int, want []byte) {
	v.t.Helper()
	for i := range n {
		ir := v.nextIndex(id)
		if ir.Status != proto.IndexOK {
			v.t.Fatalf("%s: stream %d packet %d: GET_NEXT_INDEX status %d, want OK", v.name, id, i, ir.Status)
		}
		if got := v.packet(id, ir); !bytes.Equal(got, want) {
			v.t.Fatalf("%s: stream %d packet %d: %d bytes differ from the %d sent", v.name, id, i, len(got), len(want))
		}
	}
}

// expectStatus checks the next GET_NEXT_INDEX status of stream id.
func (v *testViewer) expectStatus(id proto.StreamID, want ...uint32) {
	v.t.Helper()
	ir := v.nextIndex(id)
	for _, w := range want {
		if ir.Status == w {
			return
		}
	}
	v.t.Fatalf("%s: stream %d: GET_NEXT_INDEX status %d, want one of %v", v.name, id, ir.Status, want)
}

// TestViewersOwnPace: several viewers attach to one live session (which
// lttng-relayd refuses) and each reads at its own pace; a stream the
// tracer closed before a viewer read it still gives that viewer every
// packet the relay received, then HUP (lttng-relayd drops them, spec
// 3.9.5); a viewer attaching after the close gets them too.
func TestViewersOwnPace(t *testing.T) {
	src := filepath.Join(testenv.SharedDir(t, "traces/generated/ust-libc-small"), "trace", "ust/uid/0/64-bit")
	tr := startRelay(t, t.TempDir())
	c, err := client.Dial(context.Background(), tr.ctl, tr.data)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	cs := proto.CreateSession{SessionName: "pace", Hostname: "h", LiveTimer: 100000, SessiondUUID: [16]byte{9}, CreationTime: uint64(time.Now().Unix())}
	sid, _, err := c.CreateSession(cs)
	must(err)
	ids, meta := addUSTStreams(t, c, cs.CreationTime, src, "channel0_0", "channel0_1")
	packet := func(ch string) ([]byte, index.Entry) {
		_, es, err := index.ReadFile(filepath.Join(src, "index", ch+".idx"))
		must(err)
		b, err := os.ReadFile(filepath.Join(src, ch))
		must(err)
		e := es[0]
		return b[e.Offset : e.Offset+e.PacketSize/8], e
	}
	seqs := map[string]proto.SeqNum{}
	// send sends the stream's packet again (as the next packet), with its index.
	send := func(ch string, n int) {
		p, e := packet(ch)
		content := (e.ContentSize + 7) / 8
		for range n {
			seq := seqs[ch]
			seqs[ch]++
			must(c.SendPacket(ids[ch], seq, p[:content], uint32(len(p)-int(content))))
			must(c.SendIndex(proto.SendIndex{RelayStreamID: ids[ch], NetSeqNum: seq, PacketSize: e.PacketSize, ContentSize: e.ContentSize,
				TimestampBegin: e.TimestampBegin, TimestampEnd: e.TimestampEnd, StreamID: e.StreamID,
				StreamInstanceID: e.StreamInstanceID, PacketSeqNum: seq}))
		}
	}
	// received waits until the relay has both halves of every packet sent.
	received := func() {
		var ps []client.Pending
		for _, ch := range []string{"channel0_0", "channel0_1"} {
			last := proto.NoSeq
			if seqs[ch] > 0 {
				last = seqs[ch] - 1
			}
			ps = append(ps, client.Pending{Stream: ids[ch], LastSeq: last})
		}
		for i := 0; ; i++ {
			pending, err := c.DataPending(sid, ps, []proto.StreamID{ids["metadata"]})
			must(err)
			if !pending {
				return
			}
			if i == 5000 {
				t.Fatal("the relay still misses packets")
			}
			time.Sleep(time.Millisecond)
		}
	}
	p0, _ := packet("channel0_0")
	p1, _ := packet("channel0_1")

	a := newTestViewer(t, "viewer A", tr.live)
	b := newTestViewer(t, "viewer B", tr.live)
	var a0, b0 map[string]proto.StreamID
	a0 = a.attach(sid)
	b0 = b.attach(sid) // lttng-relayd: ALREADY
	if len(a0) != 3 || len(b0) != 3 {
		t.Fatalf("attached streams: A %v, B %v", a0, b0)
	}
	// Both viewers get the whole metadata, each in one reply. It goes
	// over the data connection: until the relay has read it, NO_NEW is
	// the right answer.
	for _, v := range []*testViewer{a, b} {
		var r proto.MetadataReply
		for i := 0; ; i++ {
			r.Decode(v.call(proto.ViewerGetMetadata, (&proto.U64Payload{V: uint64(a0["metadata"])}).Append(nil), proto.MetadataReplySize))
			if r.Status != proto.MetadataNoNew || i == 5000 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if r.Status != proto.MetadataOK || !bytes.Equal(v.read(int(r.Len)), meta) {
			t.Fatalf("%s: GET_METADATA status %d, %d bytes (%d sent)", v.name, r.Status, r.Len, len(meta))
		}
	}
	// channel0_0 gets 5 packets and is closed before any viewer reads it.
	send("channel0_0", 5)
	received()
	must(c.CloseStream(ids["channel0_0"], seqs["channel0_0"]-1))
	for i := 0; ; i++ {
		tr.mu.Lock()
		closed := tr.streams[ids["channel0_0"]].closed
		tr.mu.Unlock()
		if closed {
			break
		}
		if i == 5000 {
			t.Fatal("the relay does not close channel0_0")
		}
		time.Sleep(time.Millisecond)
	}
	// A reads all of the closed stream, then HUP.
	a.readPackets(a0["channel0_0"], 5, p0)
	a.expectStatus(a0["channel0_0"], proto.IndexHup)
	// channel0_1 goes on; B reads it first, up to what was sent.
	send("channel0_1", 3)
	received()
	b.readPackets(b0["channel0_1"], 3, p1)
	b.expectStatus(b0["channel0_1"], proto.IndexRetry, proto.IndexInactive)
	// B then gets the closed stream whole, although A drained it before.
	b.readPackets(b0["channel0_0"], 5, p0)
	b.expectStatus(b0["channel0_0"], proto.IndexHup)
	// A third viewer attaching after the close gets it too.
	cv := newTestViewer(t, "viewer C", tr.live)
	c0 := cv.attach(sid)
	if c0["channel0_0"] == 0 {
		t.Fatalf("viewer C attached after the close: streams %v, no channel0_0", c0)
	}
	cv.readPackets(c0["channel0_0"], 5, p0)
	cv.expectStatus(c0["channel0_0"], proto.IndexHup)
	// More packets: A, slower, catches up on channel0_1 in one go.
	send("channel0_1", 4)
	received()
	a.readPackets(a0["channel0_1"], 7, p1)
	b.readPackets(b0["channel0_1"], 4, p1)
	cv.readPackets(c0["channel0_1"], 7, p1)
	for _, v := range []*testViewer{a, b, cv} {
		v.expectStatus(a0["channel0_1"], proto.IndexRetry, proto.IndexInactive)
	}
	// The tracer leaves: every viewer gets HUP once it read everything.
	must(c.CloseStream(ids["channel0_1"], seqs["channel0_1"]-1))
	must(c.CloseStream(ids["metadata"], proto.NoSeq))
	c.Close()
	for _, v := range []*testViewer{a, b, cv} {
		for i := 0; ; i++ {
			ir := v.nextIndex(a0["channel0_1"])
			if ir.Status == proto.IndexHup {
				break
			}
			if ir.Status == proto.IndexOK || i == 5000 {
				t.Fatalf("%s: channel0_1 after the tracer left: status %d", v.name, ir.Status)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

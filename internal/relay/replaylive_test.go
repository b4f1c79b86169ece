package relay

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracetop/tracetop/internal/relay/pcapreplay"
	"github.com/tracetop/tracetop/internal/relay/proto"
	"github.com/tracetop/tracetop/internal/testenv"
)

// viewerReply reads one reply to cmd with next (which returns the next n
// bytes) and returns its status (CONNECT: 0, LIST_SESSIONS: the number
// of sessions) and the data that follows it (packet, metadata).
func viewerReply(cmd proto.ViewerCmd, next func(int) ([]byte, error)) (uint32, []byte, error) {
	u32 := func(b []byte, off int) uint32 { return binary.BigEndian.Uint32(b[off:]) }
	switch cmd {
	case proto.ViewerConnect:
		_, err := next(20)
		return 0, nil, err
	case proto.ViewerCreateSession, proto.ViewerDetachSession:
		b, err := next(4)
		if err != nil {
			return 0, nil, err
		}
		return u32(b, 0), nil, nil
	case proto.ViewerListSessions:
		b, err := next(4)
		if err != nil {
			return 0, nil, err
		}
		_, err = next(int(u32(b, 0)) * proto.SessionRecordSize)
		return u32(b, 0), nil, err
	case proto.ViewerAttachSession, proto.ViewerGetNewStreams:
		b, err := next(8)
		if err != nil {
			return 0, nil, err
		}
		var r proto.StreamsReply
		n, err := r.DecodeHead(b)
		if err != nil {
			return 0, nil, err
		}
		_, err = next(n * proto.StreamRecordSize)
		return r.Status, nil, err
	case proto.ViewerGetNextIndex:
		b, err := next(proto.IndexReplySize)
		if err != nil {
			return 0, nil, err
		}
		return u32(b, 56), nil, nil
	case proto.ViewerGetPacket:
		b, err := next(proto.PacketReplySize)
		if err != nil {
			return 0, nil, err
		}
		if u32(b, 0) != proto.PacketOK {
			return u32(b, 0), nil, nil
		}
		d, err := next(int(u32(b, 4)))
		return proto.PacketOK, d, err
	case proto.ViewerGetMetadata:
		b, err := next(proto.MetadataReplySize)
		if err != nil {
			return 0, nil, err
		}
		if u32(b, 8) != proto.MetadataOK {
			return u32(b, 8), nil, nil
		}
		d, err := next(int(binary.BigEndian.Uint64(b)))
		return proto.MetadataOK, d, err
	}
	return 0, nil, fmt.Errorf("command %v", cmd)
}

// viewerMsg is one captured viewer command with the real relay's answer.
type viewerMsg struct {
	t      time.Duration
	conn   int
	req    []byte
	cmd    proto.ViewerCmd
	status uint32
	data   []byte
}

func splitViewer(t *testing.T, c *pcapreplay.Conn, conn int) []viewerMsg {
	req, rep := c.Client.Bytes(), c.Server.Bytes()
	ro := 0
	next := func(n int) ([]byte, error) {
		if ro+n > len(rep) {
			return nil, io.ErrUnexpectedEOF
		}
		ro += n
		return rep[ro-n : ro], nil
	}
	var out []viewerMsg
	for off := 0; off < len(req); {
		var h proto.ViewerHeader
		h.Decode(req[off:])
		n := proto.ViewerHeaderSize + proto.ViewerPayloadSize(h.Cmd)
		m := viewerMsg{t: c.Client.TimeAt(off), conn: conn, req: req[off : off+n], cmd: h.Cmd}
		var err error
		if m.status, m.data, err = viewerReply(h.Cmd, next); err != nil {
			if ro == len(rep) { // the relay closed before answering (HUP at the end)
				break
			}
			t.Fatalf("captured viewer reply to %v: %v", h.Cmd, err)
		}
		out = append(out, m)
		off += n
	}
	return out
}

// TestReplayLiveCaptures replays the whole of the live captures against
// our relay: the tracer side and the babeltrace2 viewer's commands, in
// captured order. Every viewer reply has the status the real relay gave
// and every packet and metadata byte is the same, except where the real
// relay loses data (live-ust-pid: it answers HUP for streams of an
// application that exited before the viewer read them, spec 3.9.5; ours
// delivers their packets).
func TestReplayLiveCaptures(t *testing.T) {
	fix := testenv.SharedDir(t, "fixtures/lttng-proto")
	for _, name := range []string{"live-ust-uid", "live-ust-pid"} {
		t.Run(name, func(t *testing.T) {
			conns, err := pcapreplay.ReadFile(filepath.Join(fix, name+".pcap"))
			if err != nil {
				t.Fatal(err)
			}
			tr := startRelay(t, t.TempDir())
			type ev struct {
				t     time.Duration
				ctl   *message
				data  *message
				view  *viewerMsg
				close int // tracer connection to close, +1
			}
			// A tracer connection closes after its last message (the
			// captures have no time for the FIN): a viewer then sees the
			// session end as the real relay did.
			end := func(c *pcapreplay.Conn) time.Duration {
				var t time.Duration
				for _, s := range []*pcapreplay.Stream{&c.Client, &c.Server} {
					if n := len(s.Segments); n > 0 {
						t = max(t, s.Segments[n-1].Time)
					}
				}
				return t + 1
			}
			var evs []ev
			var socks []net.Conn
			for _, c := range conns {
				switch c.ServerPort {
				case 5342:
					for _, m := range splitControl(t, c, len(socks)) {
						evs = append(evs, ev{t: m.t, ctl: &m})
					}
					evs = append(evs, ev{t: end(c), close: len(socks) + 1})
					socks = append(socks, dial(t, tr.ctl))
				case 5343:
					for _, m := range splitData(c, len(socks)) {
						evs = append(evs, ev{t: m.t, data: &m})
					}
					evs = append(evs, ev{t: end(c), close: len(socks) + 1})
					socks = append(socks, dial(t, tr.data))
				case 5344:
					for _, m := range splitViewer(t, c, len(socks)) {
						evs = append(evs, ev{t: m.t, view: &m})
					}
					socks = append(socks, dial(t, tr.live))
				}
			}
			sort.SliceStable(evs, func(i, j int) bool { return evs[i].t < evs[j].t })
			var sent int64
			var same, differ, packets, realPackets int
			statusDiff := map[string]int{}
			metaOurs, metaReal := map[int][]byte{}, map[int][]byte{}
			// Where the real relay loses data (spec 3.9.5), ours answers
			// OK to GET_NEXT_INDEX for entries of closed streams, and so
			// the session is not over (GET_NEW_STREAMS) while the
			// replayed viewer, which got HUP, does not read them.
			allowed := map[string]map[string]bool{"live-ust-pid": {
				fmt.Sprintf("%v %d->%d", proto.ViewerGetNextIndex, proto.IndexHup, proto.IndexOK):            true,
				fmt.Sprintf("%v %d->%d", proto.ViewerGetNewStreams, proto.NewStreamsHup, proto.NewStreamsOK): true,
			}}
			for _, e := range evs {
				switch {
				case e.close > 0:
					for atomic.LoadInt64(&tr.dataBytes) < sent {
						time.Sleep(time.Millisecond)
					}
					socks[e.close-1].Close()
					continue
				case e.data != nil:
					if _, err := socks[e.data.conn].Write(e.data.bytes); err != nil {
						t.Fatal(err)
					}
					sent += int64(len(e.data.bytes))
					continue
				}
				// Data sent before this command is in.
				for atomic.LoadInt64(&tr.dataBytes) < sent {
					time.Sleep(time.Millisecond)
				}
				if m := e.ctl; m != nil {
					c := socks[m.conn]
					before := tr.metadataReceived()
					c.Write(m.bytes)
					// SEND_METADATA has no reply: wait until the relay has it.
					for m.cmd == proto.CmdSendMetadata && tr.metadataReceived() == before {
						time.Sleep(time.Millisecond)
					}
					if len(m.reply) > 0 {
						got := make([]byte, len(m.reply))
						c.SetReadDeadline(time.Now().Add(10 * time.Second))
						if _, err := io.ReadFull(c, got); err != nil {
							t.Fatalf("%v at +%v: %v", m.cmd, m.t, err)
						}
					}
					continue
				}
				m := e.view
				c := socks[m.conn]
				c.Write(m.req)
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				st, data, err := viewerReply(m.cmd, func(n int) ([]byte, error) {
					b := make([]byte, n)
					_, err := io.ReadFull(c, b)
					return b, err
				})
				if err != nil {
					t.Fatalf("viewer %v at +%v: %v", m.cmd, m.t, err)
				}
				if m.status == proto.PacketOK && m.cmd == proto.ViewerGetPacket {
					realPackets++
				}
				if st == proto.PacketOK && m.cmd == proto.ViewerGetPacket {
					packets++
				}
				if m.cmd == proto.ViewerGetMetadata {
					// The real relay's control thread may make received
					// metadata visible a poll later: the bytes must be
					// the same in the end, not at each poll.
					metaOurs[m.conn] = append(metaOurs[m.conn], data...)
					metaReal[m.conn] = append(metaReal[m.conn], m.data...)
				}
				if st != m.status || !bytes.Equal(data, m.data) {
					differ++
					k := fmt.Sprintf("%v %d->%d", m.cmd, m.status, st)
					statusDiff[k]++
					if m.cmd != proto.ViewerGetMetadata && !allowed[name][k] {
						t.Errorf("viewer %v at +%v: status %d (%d bytes), real relay %d (%d bytes)", m.cmd, m.t, st, len(data), m.status, len(m.data))
					}
					continue
				}
				same++
			}
			t.Logf("%d viewer replies as the real relay's, %d differ %v; %d packets delivered, real relay %d", same, differ, statusDiff, packets, realPackets)
			if packets < realPackets {
				t.Errorf("%d packets delivered, fewer than the real relay's %d", packets, realPackets)
			}
			for conn, b := range metaReal {
				if !bytes.Equal(metaOurs[conn], b) {
					t.Errorf("viewer connection %d: %d metadata bytes, the real relay sent %d", conn, len(metaOurs[conn]), len(b))
				}
			}
		})
	}
}

// metadataReceived is the number of metadata bytes the relay received.
func (tr *testRelay) metadataReceived() uint64 {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var n uint64
	for _, st := range tr.streams {
		n += st.metaReceived
	}
	return n
}

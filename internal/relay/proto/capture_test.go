package proto

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tracetop/tracetop/internal/relay/pcapreplay"
	"github.com/tracetop/tracetop/internal/testenv"
)

var captures = []string{"live-ust-uid", "live-ust-pid", "nonlive-ust-uid", "nonlive-rotate", "snapshot-ust-uid"}

func readCapture(t *testing.T, name string) []*pcapreplay.Conn {
	t.Helper()
	dir := testenv.SharedDir(t, "fixtures/lttng-proto")
	conns, err := pcapreplay.ReadFile(filepath.Join(dir, name+".pcap"))
	if err != nil {
		t.Fatal(err)
	}
	return conns
}

// roundTrip decodes b with dec and checks that enc gives the same bytes.
func roundTrip(t *testing.T, what string, b []byte, dec func([]byte) error, enc func() []byte) {
	t.Helper()
	if err := dec(b); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got := enc(); !bytes.Equal(got, b) {
		t.Fatalf("%s: re-encoded\n%x\nwant\n%x", what, got, b)
	}
}

// TestControlCapturesRoundTrip decodes every control and data message and
// every control reply of the captures and re-encodes it byte for byte.
func TestControlCapturesRoundTrip(t *testing.T) {
	for _, name := range captures {
		t.Run(name, func(t *testing.T) {
			counts := map[string]int{}
			for _, c := range readCapture(t, name) {
				switch c.ServerPort {
				case 5342:
					controlConn(t, c.Client.Bytes(), c.Server.Bytes(), counts)
				case 5343:
					dataConn(t, c.Client.Bytes(), counts)
				case 5344:
					viewerConn(t, c.Client.Bytes(), c.Server.Bytes(), counts)
				}
			}
			t.Logf("%v", counts)
		})
	}
}

func controlConn(t *testing.T, req, rep []byte, counts map[string]int) {
	const minor = 13
	ro := 0
	take := func(n int) []byte {
		if ro+n > len(rep) {
			t.Fatalf("reply stream ends at %d, need %d more", len(rep), n)
		}
		b := rep[ro : ro+n]
		ro += n
		return b
	}
	for off := 0; off < len(req); {
		var h Header
		if err := h.Decode(req[off:]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(h.Append(nil), req[off:off+HeaderSize]) {
			t.Fatal("header round trip")
		}
		p := req[off+HeaderSize : off+HeaderSize+int(h.DataSize)]
		off += HeaderSize + int(h.DataSize)
		counts[h.Cmd.String()]++
		what := fmt.Sprintf("%v at 0x%x", h.Cmd, off)
		generic := func() {
			var r GenericReply
			roundTrip(t, what+" reply", take(4), r.Decode, func() []byte { return r.Append(nil) })
		}
		switch h.Cmd {
		case CmdVersion:
			var m, r Version
			roundTrip(t, what, p, m.Decode, func() []byte { return m.Append(nil) })
			roundTrip(t, what+" reply", take(8), r.Decode, func() []byte { return r.Append(nil) })
		case CmdGetConfiguration:
			var m U64Payload
			var r GetConfigurationReply
			roundTrip(t, what, p, m.Decode, func() []byte { return m.Append(nil) })
			roundTrip(t, what+" reply", take(12), r.Decode, func() []byte { return r.Append(nil) })
		case CmdCreateSession:
			var m CreateSession
			var r CreateSessionReply
			roundTrip(t, what, p, func(b []byte) error { return m.Decode(b, minor) }, func() []byte { return m.Append(nil, minor) })
			n := int(binary.BigEndian.Uint32(rep[ro+12:]))
			roundTrip(t, what+" reply", take(16+n), func(b []byte) error { return r.Decode(b, minor) }, func() []byte { return r.Append(nil, minor) })
		case CmdCreateTraceChunk:
			var m CreateTraceChunk
			roundTrip(t, what, p, m.Decode, func() []byte { return m.Append(nil) })
			generic()
		case CmdAddStream:
			var m AddStream
			var r AddStreamReply
			roundTrip(t, what, p, func(b []byte) error { return m.Decode(b, minor) }, func() []byte { return m.Append(nil, minor) })
			roundTrip(t, what+" reply", take(12), r.Decode, func() []byte { return r.Append(nil) })
		case CmdSendMetadata:
			var m SendMetadata
			if err := m.Decode(p); err != nil || !bytes.Equal(m.Append(nil), p[:12]) {
				t.Fatalf("%s: %v", what, err)
			}
		case CmdSendIndex:
			var m SendIndex
			roundTrip(t, what, p, func(b []byte) error { return m.Decode(b, minor) }, func() []byte { return m.Append(nil, minor) })
			if m.IsBeacon() {
				counts["beacon"]++
			}
			generic()
		case CmdCloseStream, CmdDataPending:
			var m StreamSeq
			roundTrip(t, what, p, m.Decode, func() []byte { return m.Append(nil) })
			generic()
		case CmdBeginDataPending, CmdEndDataPending, CmdQuiescentControl:
			var m U64Payload
			roundTrip(t, what, p, m.Decode, func() []byte { return m.Append(nil) })
			generic()
		case CmdStreamsSent:
			generic()
		case CmdRotateStreams:
			var m RotateStreams
			if err := m.Decode(p); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			// The padding bytes are garbage: compare all but them.
			got := m.Append(nil)
			if !bytes.Equal(got[:5], p[:5]) || !bytes.Equal(got[12:], p[12:]) {
				t.Fatalf("%s: re-encoded %x want %x", what, got, p)
			}
			generic()
		case CmdCloseTraceChunk:
			var m CloseTraceChunk
			var r CloseTraceChunkReply
			roundTrip(t, what, p, m.Decode, func() []byte { return m.Append(nil) })
			n := int(binary.BigEndian.Uint32(rep[ro+4:]))
			roundTrip(t, what+" reply", take(8+n), r.Decode, func() []byte { return r.Append(nil) })
		case CmdTraceChunkExists:
			var m U64Payload
			var r TraceChunkExistsReply
			roundTrip(t, what, p, m.Decode, func() []byte { return m.Append(nil) })
			roundTrip(t, what+" reply", take(5), r.Decode, func() []byte { return r.Append(nil) })
		default:
			t.Fatalf("unexpected %s", what)
		}
	}
	if ro != len(rep) {
		t.Fatalf("%d reply bytes left", len(rep)-ro)
	}
}

func dataConn(t *testing.T, b []byte, counts map[string]int) {
	for off := 0; off < len(b); {
		var h DataHeader
		if err := h.Decode(b[off:]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(h.Append(nil), b[off:off+DataHeaderSize]) {
			t.Fatal("data header round trip")
		}
		off += DataHeaderSize + int(h.DataSize)
		counts["DATA"]++
	}
}

func viewerConn(t *testing.T, req, rep []byte, counts map[string]int) {
	ro := 0
	take := func(n int) []byte {
		if ro+n > len(rep) {
			t.Fatalf("reply stream ends at %d, need %d more", len(rep), n)
		}
		b := rep[ro : ro+n]
		ro += n
		return b
	}
	for off := 0; off < len(req); {
		var h ViewerHeader
		if err := h.Decode(req[off:]); err != nil {
			t.Fatal(err)
		}
		n := ViewerPayloadSize(h.Cmd)
		if n < 0 || int(h.DataSize) != n {
			t.Fatalf("%v with data_size %d", h.Cmd, h.DataSize)
		}
		p := req[off+ViewerHeaderSize : off+ViewerHeaderSize+n]
		off += ViewerHeaderSize + n
		what := fmt.Sprintf("%v at 0x%x", h.Cmd, off)
		counts["viewer "+h.Cmd.String()]++
		switch h.Cmd {
		case ViewerConnect:
			var m, r Connect
			roundTrip(t, what, p, m.Decode, func() []byte { return m.Append(nil) })
			roundTrip(t, what+" reply", take(20), r.Decode, func() []byte { return r.Append(nil) })
		case ViewerListSessions:
			var r ListSessionsReply
			k := int(binary.BigEndian.Uint32(rep[ro:]))
			roundTrip(t, what+" reply", take(4+k*SessionRecordSize), func(b []byte) error { return r.Decode(b, 4) }, func() []byte { return r.Append(nil) })
		case ViewerCreateSession, ViewerDetachSession:
			var r StatusReply
			roundTrip(t, what+" reply", take(4), r.Decode, func() []byte { return r.Append(nil) })
		case ViewerAttachSession, ViewerGetNewStreams:
			if h.Cmd == ViewerAttachSession {
				var m AttachSession
				roundTrip(t, what, p, m.Decode, func() []byte { return m.Append(nil) })
			}
			var r StreamsReply
			k, err := r.DecodeHead(rep[ro:])
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, what+" reply", take(8+k*StreamRecordSize), r.Decode, func() []byte { return r.Append(nil) })
		case ViewerGetNextIndex:
			var r IndexReply
			roundTrip(t, what+" reply", take(IndexReplySize), r.Decode, func() []byte { return r.Append(nil) })
			counts[fmt.Sprintf("index status %d", r.Status)]++
		case ViewerGetPacket:
			var m GetPacket
			var r PacketReply
			roundTrip(t, what, p, m.Decode, func() []byte { return m.Append(nil) })
			roundTrip(t, what+" reply", take(PacketReplySize), r.Decode, func() []byte { return r.Append(nil) })
			if r.Status == PacketOK {
				take(int(r.Len))
			}
		case ViewerGetMetadata:
			var r MetadataReply
			roundTrip(t, what+" reply", take(MetadataReplySize), r.Decode, func() []byte { return r.Append(nil) })
			if r.Status == MetadataOK {
				take(int(r.Len))
			}
		default:
			t.Fatalf("unexpected %s", what)
		}
	}
	if ro != len(rep) {
		t.Fatalf("%d reply bytes left", len(rep)-ro)
	}
}

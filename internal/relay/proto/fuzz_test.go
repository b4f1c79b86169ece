package proto

import (
	"bytes"
	"testing"
)

// FuzzControl feeds every control and data decoder; what decodes must
// re-encode to an equivalent message.
func FuzzControl(f *testing.F) {
	cs := CreateSession{SessionName: "s", Hostname: "h", LiveTimer: 1}
	f.Add(uint8(CmdCreateSession), uint8(13), cs.Append(nil, 13))
	as := AddStream{ChannelName: "channel0_0", Pathname: "ust/uid/0/64-bit"}
	f.Add(uint8(CmdAddStream), uint8(13), as.Append(nil, 13))
	rs := RotateStreams{Positions: []RotatePosition{{1, 2}}}
	f.Add(uint8(CmdRotateStreams), uint8(13), rs.Append(nil))
	f.Add(uint8(CmdSendIndex), uint8(13), make([]byte, 80))
	f.Add(uint8(CmdCreateTraceChunk), uint8(13), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 'a', 0})
	f.Fuzz(func(t *testing.T, cmd, minor uint8, b []byte) {
		m := uint32(minor)
		switch Cmd(cmd % 24) {
		case CmdCreateSession:
			var x CreateSession
			if x.Decode(b, m) == nil && m >= 11 {
				var y CreateSession
				if err := y.Decode(x.Append(nil, m), m); err != nil || y != x {
					t.Fatalf("round trip: %v %+v %+v", err, x, y)
				}
			}
		case CmdAddStream:
			var x AddStream
			if x.Decode(b, m) == nil && m >= 11 && !bytes.Equal(x.Append(nil, m), b) {
				t.Fatal("round trip")
			}
		case CmdRotateStreams:
			var x RotateStreams
			_ = x.Decode(b)
		case CmdSendIndex:
			var x SendIndex
			if x.Decode(b, m) == nil && !bytes.Equal(x.Append(nil, m), b) {
				t.Fatal("round trip")
			}
		case CmdCreateTraceChunk:
			var x CreateTraceChunk
			if x.Decode(b) == nil && !bytes.Equal(x.Append(nil), b) {
				t.Fatal("round trip")
			}
		case CmdCloseTraceChunk:
			var x CloseTraceChunk
			_ = x.Decode(b)
			var r CloseTraceChunkReply
			_ = r.Decode(b)
		case CmdVersion:
			var x Version
			_ = x.Decode(b)
			var r CreateSessionReply
			_ = r.Decode(b, m)
		default:
			var h Header
			_ = h.Decode(b)
			var d DataHeader
			_ = d.Decode(b)
			var s StreamSeq
			_ = s.Decode(b)
			var r ResetMetadata
			_ = r.Decode(b)
		}
	})
}

// FuzzViewer feeds every viewer decoder.
func FuzzViewer(f *testing.F) {
	r := StreamsReply{Status: 1, Streams: []StreamInfo{{ID: 1, PathName: "ust", ChannelName: "metadata", Metadata: true}}}
	f.Add(uint8(0), r.Append(nil))
	l := ListSessionsReply{Sessions: []SessionInfo{{ID: 1, Hostname: "vm", SessionName: "s"}}}
	f.Add(uint8(1), l.Append(nil))
	f.Add(uint8(2), make([]byte, 64))
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		switch which % 6 {
		case 0:
			var x StreamsReply
			if x.Decode(b) == nil {
				if _, err := x.DecodeHead(x.Append(nil)); err != nil {
					t.Fatal(err)
				}
			}
		case 1:
			var x ListSessionsReply
			_ = x.Decode(b, 4)
			_ = x.Decode(b, 15)
		case 2:
			var x IndexReply
			if x.Decode(b) == nil && !bytes.Equal(x.Append(nil), b) {
				t.Fatal("round trip")
			}
		case 3:
			var x Connect
			_ = x.Decode(b)
			var y AttachSession
			_ = y.Decode(b)
		case 4:
			var x GetPacket
			_ = x.Decode(b)
			var y PacketReply
			_ = y.Decode(b)
			var z MetadataReply
			_ = z.Decode(b)
		default:
			var h ViewerHeader
			_ = h.Decode(b)
			var s StatusReply
			_ = s.Decode(b)
		}
	})
}

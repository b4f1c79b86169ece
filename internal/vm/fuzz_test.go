package vm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf/writer"
)

func frameBytes(k Kind, payload []byte) []byte {
	var b bytes.Buffer
	NewWriter(&b).Write(k, 0, payload)
	return b.Bytes()
}

// FuzzFrames feeds hostile bytes to the frame reader and every payload
// decoder the bridge uses: errors, never panics.
func FuzzFrames(f *testing.F) {
	hello, _ := json.Marshal(DefaultHello())
	f.Add(frameBytes(KindHello, hello))
	f.Add(frameBytes(KindPacket, appendPacket(nil, "channel0_0", make([]byte, 4096), writer.IndexEntry{PacketSize: 4096 * 8, ContentSize: 100})))
	f.Add(frameBytes(KindSyncReply, appendSyncReply(nil, 7, 1, 2)))
	f.Add(frameBytes(KindPing, []byte{0, 0, 0, 1}))
	f.Add([]byte{3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(bytes.NewReader(b))
		for {
			fr, err := r.Next()
			if err != nil {
				var fe *FrameError
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &fe) {
					t.Fatalf("unexpected error type: %v", err)
				}
				return
			}
			switch fr.Kind {
			case KindPacket:
				if name, pkt, e, err := decodePacket(fr); err == nil && (name == "" || e.PacketSize != uint64(len(pkt))*8) {
					t.Fatalf("accepted packet %q of %d bytes with packet_size %d", name, len(pkt), e.PacketSize)
				}
			case KindSyncReply:
				decodeSyncReply(fr)
			case KindPing:
				decodePing(fr)
			case KindHello:
				var h Hello
				decodeJSON(fr, &h)
			}
		}
	})
}

func TestFrameErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"oversized frame", []byte{3, 0, 0, 0, 0x7f, 0, 0, 0}, "packet frame of 2130706432 bytes (limit 16777216) at byte 0x0"},
		{"truncated payload", append(frameBytes(KindPing, []byte{0, 0, 0, 1}), 0x84, 0, 0, 0, 0, 0, 0, 9, 1), "ping frame at byte 0xc: 1 of 9 payload bytes"},
		{"packet with a lying size", frameBytes(KindPacket, appendPacket(nil, "channel0_0", make([]byte, 64), writer.IndexEntry{PacketSize: 4096 * 8})), "packet_size 32768 bits, content_size 0 bits, 64 bytes carried"},
		{"packet into another folder", frameBytes(KindPacket, appendPacket(nil, "../x", make([]byte, 8), writer.IndexEntry{PacketSize: 64})), `bad stream name "../x"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(c.in))
			var err error
			for err == nil {
				var f Frame
				f, err = r.Next()
				if err == nil && f.Kind == KindPacket {
					_, _, _, err = decodePacket(f)
				}
			}
			if !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
				t.Fatalf("error %q, want it to say %q", err, c.want)
			}
		})
	}
}

// TestBridgeHostileGuest: a guest that sends garbage after its hello ends
// the bridge with an error naming the offset, and the files are closed.
func TestBridgeHostileGuest(t *testing.T) {
	hostEnd, guestEnd := socketpair(t)
	hello, _ := json.Marshal(Hello{Hostname: "evil", Clock: "mono"})
	go func() {
		guestEnd.Write(frameBytes(KindHello, hello))
		bad := frameBytes(KindPacket, appendPacket(nil, "channel0_0", make([]byte, 16), writer.IndexEntry{PacketSize: 1 << 20}))
		guestEnd.Write(bad)
	}()
	b := NewBridge(hostEnd, BridgeOptions{Dir: t.TempDir(), HelloTimeout: 10 * time.Second})
	err := b.Run(context.Background())
	var fe *FrameError
	if !errors.As(err, &fe) || fe.Off != int64(HeaderSize+len(hello)) {
		t.Fatalf("err %v, want a frame error at byte %d", err, HeaderSize+len(hello))
	}
}

package live

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/relay/proto"
)

// readFake reads a whole session from a fake relay's replies and counts
// its events; notes get what the session logged.
func readFake(t *testing.T, replies []byte) (n int, notes []string, err error) {
	t.Helper()
	opt := Options{Reconnect: -1, Timeout: time.Second, Poll: time.Microsecond,
		Dial: func(context.Context, string) (net.Conn, error) { return fakeRelay(replies), nil },
		Logf: func(format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) }}
	s, err := Open(context.Background(), "net://relay/host/h/s", opt)
	if err != nil {
		return 0, notes, err
	}
	defer s.Close()
	var ev ctf.Event
	for {
		if err := s.Read(&ev); err == io.EOF {
			return n, notes, nil
		} else if err != nil {
			return n, notes, err
		}
		n++
	}
}

// TestSessionHupBeforeLastIndex: lttng-relayd 2.13 answers GET_NEW_STREAMS
// with HUP as soon as the producer closed every stream with all its data
// in, whatever the viewer read; here the stream's last packet is still
// unread then (the sequence seen with tracetop send: RETRY while its
// index is on its way, the session's HUP, then the index). The packet is
// read and the session ends at the stream's own HUP.
func TestSessionHupBeforeLastIndex(t *testing.T) {
	b, pkt := attached(t)
	b = (&proto.IndexReply{Status: proto.IndexRetry}).Append(b)
	b = (&proto.StreamsReply{Status: proto.NewStreamsHup}).Append(b)
	b = (&proto.IndexReply{PacketSize: uint64(len(pkt)) * 8, ContentSize: uint64(len(pkt)) * 8, TimestampBegin: 1000, TimestampEnd: 2000, Status: proto.IndexOK}).Append(b)
	b = (&proto.PacketReply{Status: proto.PacketOK, Len: uint32(len(pkt))}).Append(b)
	b = append(b, pkt...)
	b = (&proto.IndexReply{Status: proto.IndexHup}).Append(b)
	b = (&proto.StatusReply{Status: proto.DetachOK}).Append(b)
	n, _, err := readFake(t, b)
	if err != nil || n != 3 {
		t.Fatalf("%d events, %v; want the 3 of the last packet", n, err)
	}
}

// TestRetryForeverAfterHup: a relay whose session is over but whose
// stream answers RETRY (lttng-relayd with a rotation that cannot
// complete) or INACTIVE for ever does not hang the viewer: after
// maxRetriesAfterHup such replies in a row the stream ends, with a note.
func TestRetryForeverAfterHup(t *testing.T) {
	for _, status := range []uint32{proto.IndexRetry, proto.IndexInactive} {
		b, _ := attached(t)
		b = (&proto.IndexReply{Status: proto.IndexRetry}).Append(b)
		b = (&proto.StreamsReply{Status: proto.NewStreamsHup}).Append(b)
		for i := range maxRetriesAfterHup {
			b = (&proto.IndexReply{Status: status, TimestampEnd: uint64(3000 + i)}).Append(b)
		}
		b = (&proto.StatusReply{Status: proto.DetachOK}).Append(b)
		n, notes, err := readFake(t, b)
		if err != nil || n != 0 {
			t.Fatalf("status %d: %d events, %v; want none and no error", status, n, err)
		}
		if len(notes) != 1 || !strings.Contains(notes[0], "times in a row") {
			t.Errorf("status %d: notes %q, want one about the replies", status, notes)
		}
	}
}

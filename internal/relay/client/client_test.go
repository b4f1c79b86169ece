package client_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/tracetop/tracetop/internal/relay"
	"github.com/tracetop/tracetop/internal/relay/client"
	"github.com/tracetop/tracetop/internal/relay/proto"
)

func serve(t *testing.T) (ctl, data string) {
	srv, err := relay.New(relay.Config{OutputDir: t.TempDir(), Location: time.UTC, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	var ls [2]net.Listener
	for i := range ls {
		if ls[i], err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ls[0], ls[1], nil) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ls[0].Addr().String(), ls[1].Addr().String()
}

// The client's session life cycle against our relay; the byte-level
// compatibility with lttng-relayd is tested by package send.
func TestLifeCycle(t *testing.T) {
	ctl, data := serve(t)
	c, err := client.Dial(context.Background(), ctl, data)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Minor() != 13 || !c.ClearAllowed() {
		t.Fatalf("minor %d, clear %v", c.Minor(), c.ClearAllowed())
	}
	sid, dir, err := c.CreateSession(proto.CreateSession{SessionName: "s", Hostname: "h", SessiondUUID: [16]byte{1}, CreationTime: 86400})
	if err != nil || dir != "h/s-19700102-000000" {
		t.Fatalf("%v %q", err, dir)
	}
	// A stream needs a chunk: the relay refuses and closes.
	if _, err := c.AddStream("c_0", "ust", 0); err == nil {
		t.Fatal("stream without chunk accepted")
	} else if re := (*client.RelayError)(nil); !errors.As(err, &re) || re.Ret != proto.ErrUnk {
		t.Fatalf("got %v", err)
	}
	c.Close()

	c, err = client.Dial(context.Background(), ctl, data)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sid, _, err = c.CreateSession(proto.CreateSession{SessionName: "s", Hostname: "h", SessiondUUID: [16]byte{2}, CreationTime: 86400})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTraceChunk(0, 86400, ""); err != nil {
		t.Fatal(err)
	}
	id, err := c.AddStream("c_0", "ust", 0)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := c.AddStream("metadata", "ust", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StreamsSent(); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMetadata(meta, []byte("x"), 3); err != nil {
		t.Fatal(err)
	}
	if err := c.SendPacket(id, 0, []byte{1, 2, 3, 4}, 4); err != nil {
		t.Fatal(err)
	}
	if err := c.SendIndex(proto.SendIndex{RelayStreamID: id, PacketSize: 64, ContentSize: 32}); err != nil {
		t.Fatal(err)
	}
	if err := c.SendBeacon(id, 0, 0, 100); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		pending, err := c.DataPending(sid, []client.Pending{{Stream: id, LastSeq: 0}}, []proto.StreamID{meta})
		if err != nil {
			t.Fatal(err)
		}
		if !pending {
			break
		}
		if i == 1000 {
			t.Fatal("data still pending")
		}
		time.Sleep(time.Millisecond)
	}
	if err := c.RotateStreams(proto.RotateStreams{Positions: []proto.RotatePosition{{StreamID: id, RotateAtSeqNum: 1}}}); err != nil {
		t.Fatal(err)
	}
	if p, err := c.CloseTraceChunk(0, 86401, nil); err != nil || p != "h/s-19700102-000000" {
		t.Fatalf("%v %q", err, p)
	}
	if ex, err := c.TraceChunkExists(0); err != nil || ex {
		t.Fatalf("%v %v", err, ex)
	}
	if err := c.CloseStream(id, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseStream(meta, proto.NoSeq); err != nil {
		t.Fatal(err)
	}
}

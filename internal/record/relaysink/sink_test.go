package relaysink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf/index"
	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/record"
	"github.com/tracetop/tracetop/internal/relay"
	"github.com/tracetop/tracetop/internal/relay/client"
	"github.com/tracetop/tracetop/internal/testenv"
)

// startRelay serves our relay on loopback ports of its own; any line it
// logs (a refused command) fails the test.
func startRelay(t *testing.T) (dir, ctl, data string) {
	t.Helper()
	dir = t.TempDir()
	var mu sync.Mutex
	srv, err := relay.New(relay.Config{OutputDir: dir, Location: time.UTC, Logf: func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		t.Errorf("relay logged: "+f, a...)
	}})
	if err != nil {
		t.Fatal(err)
	}
	var ls [3]net.Listener
	for i := range ls {
		if ls[i], err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ls[0], ls[1], ls[2]) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return dir, ls[0].Addr().String(), ls[1].Addr().String()
}

// trace writes n events on each of two streams through sk, with live
// ticks between them, ends stream 1 early (a CPU going offline), and
// closes the sink.
func trace(t *testing.T, sk *Sink, n int) {
	t.Helper()
	uuid := NewUUID()
	md := &writer.Metadata{UUID: uuid, ClockUUID: NewUUID(),
		Env: []writer.EnvValue{{Key: "domain", Str: "kernel"}, {Key: "hostname", Str: "h"}}}
	if err := md.AddStream(writer.StreamClass{ID: 0}); err != nil {
		t.Fatal(err)
	}
	ev, err := md.Add(&writer.EventClass{Stream: 0, Name: "tick", Fields: []writer.Field{writer.U32("n"), writer.Str("s")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sk.Open([]string{"channel0_0", "channel0_1"}); err != nil {
		t.Fatal(err)
	}
	if err := sk.WriteMetadata(writer.AppendMetadataPackets(nil, uuid, md.Pending())); err != nil {
		t.Fatal(err)
	}
	var sts []*writer.Stream
	for cpu := range 2 {
		st, err := writer.NewStream(writer.StreamConfig{Name: fmt.Sprintf("channel0_%d", cpu), CPU: uint32(cpu),
			InstanceID: uint64(cpu), PacketSize: 8192, UUID: uuid}, sk)
		if err != nil {
			t.Fatal(err)
		}
		sts = append(sts, st)
	}
	ts := uint64(1_000_000_000)
	var p writer.Payload
	for i := range n {
		ts += 1000
		p.Reset()
		p.U32(uint32(i))
		p.String(strings.Repeat("x", i%50))
		st := sts[0]
		if i%7 == 0 && i < n/2 {
			st = sts[1]
		}
		if err := st.Append(ts, ev.ID, nil, p.B); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 { // a live tick: stream 0 flushes, stream 1 is idle
			for k, st := range sts {
				if k == 1 && i > n/2 {
					continue // offline
				}
				if i == 99 {
					if err := st.Beacon(ts); err != nil {
						t.Fatal(err)
					}
				} else if err := st.Flush(ts); err != nil {
					t.Fatal(err)
				}
				sk.Live(st.Name(), record.Timestamp(ts))
			}
		}
		if i == n/2 { // CPU 1 goes offline
			if err := sts[1].Close(ts); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := sts[0].Close(ts + 1); err != nil {
		t.Fatal(err)
	}
	if err := sk.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := sk.Beacons(ts + 2); err != nil {
		t.Fatal(err)
	}
	if err := sk.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sk.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestStreamToOurRelay(t *testing.T) {
	dir, ctl, data := startRelay(t)
	sk, err := Dial(context.Background(), Options{Control: ctl, Data: data, Session: "demo", Hostname: "h",
		LiveTimer: time.Second, Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if got := sk.SessionDir(); got != "h/demo-20250102-030405" {
		t.Errorf("session folder %q", got)
	}
	trace(t, sk, 2000)
	kdir := filepath.Join(dir, "h", "demo-20250102-030405", "kernel")
	for _, s := range []string{"channel0_0", "channel0_1"} {
		fi, err := os.Stat(filepath.Join(kdir, s))
		if err != nil {
			t.Fatal(err)
		}
		_, ents, err := index.ReadFile(filepath.Join(kdir, "index", s+".idx"))
		if err != nil {
			t.Fatal(err)
		}
		var end uint64
		for i, e := range ents {
			if e.PacketSeqNum != uint64(i) || e.Offset != end {
				t.Errorf("%s entry %d: seq %d offset %d, want %d %d", s, i, e.PacketSeqNum, e.Offset, i, end)
			}
			end += e.PacketSize / 8
		}
		if end != uint64(fi.Size()) {
			t.Errorf("%s: index covers %d bytes of %d", s, end, fi.Size())
		}
		t.Logf("%s: %d packets, %d bytes", s, len(ents), fi.Size())
	}
	bt := testenv.Program(t, "babeltrace2")
	cmd := exec.Command(bt, kdir)
	cmd.Env = testenv.Env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil || errb.Len() > 0 {
		t.Fatalf("babeltrace2: %v\n%s", err, errb.String())
	}
	if n := strings.Count(out.String(), " tick: "); n != 2000 {
		t.Errorf("babeltrace2 printed %d events, want 2000", n)
	}
}

func TestRelayRefusesSession(t *testing.T) {
	_, ctl, data := startRelayQuiet(t)
	_, err := Dial(context.Background(), Options{Control: ctl, Data: data, Session: "../escape", Hostname: "h"})
	var re *client.RelayError
	if !errors.As(err, &re) {
		t.Fatalf("session name ../escape: %v, want a relay refusal", err)
	}
}

func TestNoRelay(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if _, err := Dial(context.Background(), Options{Control: addr, Data: addr, Session: "s"}); err == nil || !strings.Contains(err.Error(), "relay control") {
		t.Fatalf("no relay: %v", err)
	}
}

func startRelayQuiet(t *testing.T) (dir, ctl, data string) {
	dir = t.TempDir()
	srv, err := relay.New(relay.Config{OutputDir: dir, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	var ls [3]net.Listener
	for i := range ls {
		if ls[i], err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ls[0], ls[1], ls[2]) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return dir, ls[0].Addr().String(), ls[1].Addr().String()
}

// BenchmarkPackets streams 1 MiB packets (as the recorder's default
// sub-buffers) through a Sink to our relay in process, and, for
// comparison, through a writer.DirSink to a folder.
func BenchmarkPackets(b *testing.B) {
	packet := make([]byte, 1<<20)
	e := writer.IndexEntry{PacketSize: 8 << 20, ContentSize: 8 << 20, TimestampBegin: 1, TimestampEnd: 2}
	copy(packet, []byte{0xc1, 0x1f, 0xfc, 0xc1})
	b.Run("relay", func(b *testing.B) {
		dir := b.TempDir()
		srv, err := relay.New(relay.Config{OutputDir: dir, Logf: func(string, ...any) {}})
		if err != nil {
			b.Fatal(err)
		}
		var ls [3]net.Listener
		for i := range ls {
			ls[i], _ = net.Listen("tcp", "127.0.0.1:0")
		}
		go srv.Serve(ls[0], ls[1], ls[2])
		defer srv.Close()
		sk, err := Dial(context.Background(), Options{Control: ls[0].Addr().String(), Data: ls[1].Addr().String(), Session: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if err := sk.Open([]string{"channel0_0"}); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(packet)))
		b.ReportAllocs()
		for b.Loop() {
			if err := sk.WritePacket("channel0_0", packet, e); err != nil {
				b.Fatal(err)
			}
			e.PacketSeqNum++
		}
		if err := sk.Close(); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("folder", func(b *testing.B) {
		ds, err := writer.NewDirSink(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(packet)))
		b.ReportAllocs()
		for b.Loop() {
			if err := ds.WritePacket("channel0_0", packet, e); err != nil {
				b.Fatal(err)
			}
		}
		ds.Close()
	})
}

// A relay that goes away makes the writes fail with the connection's
// error, and Wait and Close return at once.
func TestRelayGone(t *testing.T) {
	dir := t.TempDir()
	srv, err := relay.New(relay.Config{OutputDir: dir, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	var ls [3]net.Listener
	for i := range ls {
		if ls[i], err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ls[0], ls[1], ls[2]) }()
	sk, err := Dial(context.Background(), Options{Control: ls[0].Addr().String(), Data: ls[1].Addr().String(), Session: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sk.Open([]string{"channel0_0"}); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	<-done
	packet := make([]byte, 4096)
	e := writer.IndexEntry{PacketSize: 4096 * 8, ContentSize: 4096 * 8}
	var werr error
	for i := 0; i < 100 && werr == nil; i++ {
		werr = sk.WritePacket("channel0_0", packet, e)
	}
	if werr == nil {
		t.Fatal("writes to a closed relay succeed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sk.Wait(ctx); err == nil {
		t.Error("Wait succeeded without a relay")
	}
	if err := sk.Close(); err == nil {
		t.Error("Close succeeded without a relay")
	}
	t.Logf("write error: %v", werr)
}

package relay

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/tracetop/tracetop/internal/relay/proto"
)

func ctlCmd(cmd proto.Cmd, payload []byte) []byte {
	return append(proto.AppendCommand(nil, cmd, len(payload)), payload...)
}

func versionCmd() []byte {
	return ctlCmd(proto.CmdVersion, (&proto.Version{Major: 2, Minor: 13}).Append(nil))
}

func createCmd(name, host string) []byte {
	m := proto.CreateSession{SessionName: name, Hostname: host, LiveTimer: 1000, SessiondUUID: [16]byte{1}, CreationTime: 1}
	return ctlCmd(proto.CmdCreateSession, m.Append(nil, 13))
}

func chunkCmd() []byte {
	return ctlCmd(proto.CmdCreateTraceChunk, (&proto.CreateTraceChunk{}).Append(nil))
}

func addStreamCmd(channel, path string) []byte {
	m := proto.AddStream{ChannelName: channel, Pathname: path}
	return ctlCmd(proto.CmdAddStream, m.Append(nil, 13))
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// expectClosed sends b and checks that the relay closes the connection
// (after any reply) and logs why.
func expectClosed(t *testing.T, tr *testRelay, addr string, b []byte) {
	t.Helper()
	before := tr.logs.Load()
	c := dial(t, addr)
	c.Write(b)
	// A truncated message is only known as such at the end of the stream.
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("connection not closed by the relay: %v", err)
	}
	for i := 0; tr.logs.Load() == before; i++ {
		if i == 1000 {
			t.Fatal("no log line for the refused connection")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestHostileInput: garbage, truncated messages, absurd lengths, unknown
// commands and '..' in names close the connection with a logged reason,
// write nothing outside the output folder, and other sessions go on.
func TestHostileInput(t *testing.T) {
	base := t.TempDir()
	out := filepath.Join(base, "out")
	tr := startRelay(t, out)
	// A healthy session streaming alongside.
	good := dial(t, tr.ctl)
	good.Write(cat(versionCmd(), createCmd("good", "h")))
	if _, err := io.ReadFull(good, make([]byte, 8+16+len("h/good-19700101-000001")+1)); err != nil {
		t.Fatal(err)
	}
	huge := make([]byte, proto.HeaderSize)
	binary.BigEndian.PutUint64(huge[8:], 1<<40)
	binary.BigEndian.PutUint32(huge[16:], uint32(proto.CmdSendMetadata))
	bigData := make([]byte, proto.DataHeaderSize)
	binary.BigEndian.PutUint64(bigData[8:], 1)
	binary.BigEndian.PutUint32(bigData[24:], 0xFFFFFFFF)
	for _, tc := range []struct {
		name string
		addr string
		b    []byte
	}{
		{"control: garbage", tr.ctl, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"control: truncated header", tr.ctl, []byte{0, 0, 0}},
		{"control: truncated payload", tr.ctl, versionCmd()[:30]},
		{"control: absurd length", tr.ctl, huge},
		{"control: command before VERSION", tr.ctl, addStreamCmd("c", "x")},
		{"control: unknown command", tr.ctl, cat(versionCmd(), ctlCmd(999, nil))},
		{"control: major version 3", tr.ctl, ctlCmd(proto.CmdVersion, (&proto.Version{Major: 3}).Append(nil))},
		{"control: hostname ..", tr.ctl, cat(versionCmd(), createCmd("s", ".."))},
		{"control: session name with /", tr.ctl, cat(versionCmd(), createCmd("a/../../x", "h"))},
		{"control: stream path with ..", tr.ctl, cat(versionCmd(), createCmd("s", "h"), chunkCmd(), addStreamCmd("c", "ust/../../../../escape"))},
		{"control: channel ..", tr.ctl, cat(versionCmd(), createCmd("s", "h"), chunkCmd(), addStreamCmd("..", "ust"))},
		{"control: metadata for unknown stream", tr.ctl, cat(versionCmd(), createCmd("s", "h"), ctlCmd(proto.CmdSendMetadata, make([]byte, 20)))},
		{"control: rotation of bad size", tr.ctl, cat(versionCmd(), createCmd("s", "h"), ctlCmd(proto.CmdRotateStreams, []byte{0, 0, 0, 9, 1}))},
		{"data: garbage", tr.data, []byte("\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xffxxxxxxxxxxxxxxxx")},
		{"data: absurd length for unknown stream", tr.data, bigData},
		{"data: truncated header", tr.data, []byte{1, 2, 3}},
		{"live: garbage", tr.live, []byte("\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x63\x00\x00\x00\x00")},
		{"live: command before CONNECT", tr.live, proto.AppendViewerCommand(nil, proto.ViewerListSessions)},
		{"live: truncated payload", tr.live, append(proto.AppendViewerCommand(nil, proto.ViewerConnect), 1, 2)},
		{"live: unknown command", tr.live, append(append(proto.AppendViewerCommand(nil, proto.ViewerConnect), (&proto.Connect{Major: 2, Minor: 4, Type: 1}).Append(nil)...),
			proto.AppendViewerCommand(nil, 99)...)},
		{"live: connection type 7", tr.live, append(proto.AppendViewerCommand(nil, proto.ViewerConnect), (&proto.Connect{Major: 2, Minor: 4, Type: 7}).Append(nil)...)},
		{"live: second CONNECT", tr.live, append(append(proto.AppendViewerCommand(nil, proto.ViewerConnect), (&proto.Connect{Major: 2, Minor: 4, Type: 1}).Append(nil)...),
			append(proto.AppendViewerCommand(nil, proto.ViewerConnect), (&proto.Connect{Major: 2, Minor: 4, Type: 1}).Append(nil)...)...)},
		{"live: major version 9", tr.live, append(proto.AppendViewerCommand(nil, proto.ViewerConnect), (&proto.Connect{Major: 9, Type: 1}).Append(nil)...)},
	} {
		t.Run(tc.name, func(t *testing.T) { expectClosed(t, tr, tc.addr, tc.b) })
	}
	// Nothing was written beside the output folder.
	if ents, _ := os.ReadDir(base); len(ents) != 1 {
		t.Errorf("%d entries beside the output folder", len(ents))
	}
	// The healthy session still works.
	good.Write(chunkCmd())
	r := make([]byte, 4)
	if _, err := io.ReadFull(good, r); err != nil || binary.BigEndian.Uint32(r) != uint32(proto.OK) {
		t.Fatalf("healthy session: %v %x", err, r)
	}
}

func TestCleanRelPath(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"ust/uid/0/64-bit", "ust/uid/0/64-bit", true},
		{"/vm/s-1/kernel", "vm/s-1/kernel", true},
		{"a/../b", "", false},
		{"..", "", false},
		{"a/./b", "a/b", true},
		{"a\nb", "", false},
		{"", "", false},
	} {
		got, err := cleanRelPath("path", tc.in, false)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("%q: %q %v", tc.in, got, err)
		}
	}
}

// TestHalfOpenConnections: peers that stop in the middle of a message, or
// viewers that stay silent, are closed by the relay after its timeouts;
// peers beyond the connection limit are closed at once; so goroutines and
// memory stay bounded whatever the number of such peers, and a tracer idle
// between two commands keeps its connection.
func TestHalfOpenConnections(t *testing.T) {
	const maxConns = 40
	tr := startRelayConfig(t, Config{OutputDir: t.TempDir(), MessageTimeout: 200 * time.Millisecond,
		ViewerIdleTimeout: 300 * time.Millisecond, MaxConnections: maxConns})
	idle := dial(t, tr.ctl)
	idle.Write(versionCmd())
	if _, err := io.ReadFull(idle, make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	connect := append(proto.AppendViewerCommand(nil, proto.ViewerConnect), (&proto.Connect{Major: 2, Minor: 13, Type: 1}).Append(nil)...)
	dataHdr := (&proto.DataHeader{StreamID: 1, DataSize: 1 << 20}).Append(nil)
	peers := []struct {
		addr string
		b    []byte
	}{
		{tr.ctl, versionCmd()[:10]},                 // a part of a header
		{tr.ctl, versionCmd()[:proto.HeaderSize+3]}, // a part of a payload
		{tr.data, dataHdr[:20]},                     // a part of a packet header
		{tr.live, connect[:10]},                     // a part of a viewer command
		{tr.live, connect},                          // a viewer silent after CONNECT
	}
	// Tracers silent since they connected (a data connection before the
	// first stream) keep their connection, within the limit.
	var silent []net.Conn
	for range 3 {
		silent = append(silent, dial(t, tr.data))
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	g0 := runtime.NumGoroutine()
	maxG := g0
	var conns []net.Conn
	for i := range 300 {
		p := peers[i%len(peers)]
		c := dial(t, p.addr)
		c.Write(p.b)
		conns = append(conns, c)
		maxG = max(maxG, runtime.NumGoroutine())
	}
	runtime.ReadMemStats(&m1)
	// The relay closes every one of them (none of them closes first).
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err := io.Copy(io.Discard, c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("peer %d (%d bytes to %s): still open", i, len(peers[i%len(peers)].b), peers[i%len(peers)].addr)
		}
		c.Close()
	}
	// One goroutine per connection the relay holds, at most maxConns.
	if maxG > g0+maxConns {
		t.Errorf("%d goroutines with %d half-open peers, %d before (limit %d connections)", maxG, len(conns), g0, maxConns)
	}
	if grown := int64(m1.HeapInuse) - int64(m0.HeapInuse); grown > 16<<20 {
		t.Errorf("heap grew by %d bytes with %d half-open peers", grown, len(conns))
	}
	for _, c := range silent {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("silent tracer connection: %v", err)
		}
	}
	// The tracer idle all along still works.
	idle.Write(createCmd("idle", "h"))
	if _, err := io.ReadFull(idle, make([]byte, 16+len("h/idle-19700101-000001")+1)); err != nil {
		t.Fatalf("idle tracer: %v", err)
	}
}

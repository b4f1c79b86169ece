package relay

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracetop/tracetop/internal/relay/pcapreplay"
	"github.com/tracetop/tracetop/internal/relay/proto"
	"github.com/tracetop/tracetop/internal/testenv"
)

var captures = []string{"live-ust-uid", "live-ust-pid", "nonlive-ust-uid", "nonlive-rotate", "snapshot-ust-uid"}

// testRelay runs a relay on loopback ports chosen by the kernel.
type testRelay struct {
	*Server
	dir             string
	ctl, data, live string
	logs            atomic.Int64
	done            chan error
}

func startRelay(t testing.TB, dir string) *testRelay {
	t.Helper()
	return startRelayConfig(t, Config{OutputDir: dir})
}

// startRelayConfig runs a relay with cfg (its Location and Logf are set
// for the test).
func startRelayConfig(t testing.TB, cfg Config) *testRelay {
	t.Helper()
	tr := &testRelay{dir: cfg.OutputDir, done: make(chan error, 1)}
	cfg.Location = time.UTC
	cfg.Logf = func(f string, a ...any) {
		tr.logs.Add(1)
		t.Logf(f, a...)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr.Server = srv
	var ls [3]net.Listener
	for i := range ls {
		if ls[i], err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	tr.ctl, tr.data, tr.live = ls[0].Addr().String(), ls[1].Addr().String(), ls[2].Addr().String()
	go func() { tr.done <- srv.Serve(ls[0], ls[1], ls[2]) }()
	t.Cleanup(func() { tr.stop(t) })
	return tr
}

func (tr *testRelay) stop(t testing.TB) {
	if tr.Server == nil {
		return
	}
	tr.Close()
	if err := <-tr.done; err != nil {
		t.Error(err)
	}
	tr.Server = nil
}

// message is one client message of a captured connection.
type message struct {
	conn  int
	t     time.Duration
	bytes []byte
	cmd   proto.Cmd
	reply []byte // captured reply (control)
}

// splitControl cuts a captured control conversation into commands with
// their captured replies.
func splitControl(t *testing.T, c *pcapreplay.Conn, conn int) []message {
	req, rep := c.Client.Bytes(), c.Server.Bytes()
	var out []message
	ro := 0
	for off := 0; off < len(req); {
		var h proto.Header
		h.Decode(req[off:])
		n := proto.HeaderSize + int(h.DataSize)
		m := message{conn: conn, t: c.Client.TimeAt(off), bytes: req[off : off+n], cmd: h.Cmd}
		size := 4
		switch h.Cmd {
		case proto.CmdVersion:
			size = 8
		case proto.CmdGetConfiguration:
			size = 12
		case proto.CmdCreateSession:
			size = 16 + int(binary.BigEndian.Uint32(rep[ro+12:]))
		case proto.CmdAddStream:
			size = 12
		case proto.CmdSendMetadata:
			size = 0
		case proto.CmdCloseTraceChunk:
			size = 8 + int(binary.BigEndian.Uint32(rep[ro+4:]))
		case proto.CmdTraceChunkExists:
			size = 5
		}
		m.reply = rep[ro : ro+size]
		ro += size
		out = append(out, m)
		off += n
	}
	if ro != len(rep) {
		t.Fatalf("%d captured reply bytes left", len(rep)-ro)
	}
	return out
}

func splitData(c *pcapreplay.Conn, conn int) []message {
	b := c.Client.Bytes()
	var out []message
	for off := 0; off < len(b); {
		var h proto.DataHeader
		h.Decode(b[off:])
		n := proto.DataHeaderSize + int(h.DataSize)
		out = append(out, message{conn: conn, t: c.Client.TimeAt(off), bytes: b[off : off+n]})
		off += n
	}
	return out
}

// replayTracer replays the control and data connections of a capture in
// capture order and checks every reply.
func replayTracer(t *testing.T, tr *testRelay, conns []*pcapreplay.Conn) {
	var msgs []message
	var socks []net.Conn
	isData := map[int]bool{}
	for _, c := range conns {
		switch c.ServerPort {
		case 5342:
			msgs = append(msgs, splitControl(t, c, len(socks))...)
			socks = append(socks, dial(t, tr.ctl))
		case 5343:
			msgs = append(msgs, splitData(c, len(socks))...)
			isData[len(socks)] = true
			socks = append(socks, dial(t, tr.data))
		}
	}
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].t < msgs[j].t })
	var sent int64
	for _, m := range msgs {
		c := socks[m.conn]
		if isData[m.conn] {
			if _, err := c.Write(m.bytes); err != nil {
				t.Fatal(err)
			}
			sent += int64(len(m.bytes))
			continue
		}
		// Keep the captured order: data sent before this command is in.
		for atomic.LoadInt64(&tr.dataBytes) < sent {
			time.Sleep(time.Millisecond)
		}
		if _, err := c.Write(m.bytes); err != nil {
			t.Fatal(err)
		}
		if len(m.reply) == 0 {
			continue
		}
		got := make([]byte, len(m.reply))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("%v at +%v: reading reply: %v", m.cmd, m.t, err)
		}
		if !bytes.Equal(got, m.reply) {
			t.Errorf("%v at +%v: reply %x, real relay said %x", m.cmd, m.t, got, m.reply)
		}
	}
	for atomic.LoadInt64(&tr.dataBytes) < sent {
		time.Sleep(time.Millisecond)
	}
	for _, c := range socks {
		c.Close()
	}
}

func dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readTar returns the regular files of a .tar.gz.
func readTar(t *testing.T, path string) map[string][]byte {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	r := tar.NewReader(zr)
	for {
		h, err := r.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(r)
			files[filepath.Clean(h.Name)] = b
		}
	}
}

func readTree(t *testing.T, dir string) map[string][]byte {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func compareTrees(t *testing.T, want, got map[string][]byte) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("missing %s", name)
		case !bytes.Equal(g, w):
			t.Errorf("%s: %d bytes differ from the real relay's %d", name, len(g), len(w))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("extra file %s", name)
		}
	}
}

// TestReplayCaptures replays the tracer side of every capture against our
// relay: same replies as lttng-relayd, same files byte for byte.
func TestReplayCaptures(t *testing.T) {
	fix := testenv.SharedDir(t, "fixtures/lttng-proto")
	for _, name := range captures {
		t.Run(name, func(t *testing.T) {
			conns, err := pcapreplay.ReadFile(filepath.Join(fix, name+".pcap"))
			if err != nil {
				t.Fatal(err)
			}
			tr := startRelay(t, t.TempDir())
			replayTracer(t, tr, conns)
			tr.stop(t)
			compareTrees(t, readTar(t, filepath.Join(fix, "relay-output", name+".tar.gz")), readTree(t, tr.dir))
		})
	}
}

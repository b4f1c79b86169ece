package relay

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf/index"
	"github.com/tracetop/tracetop/internal/relay/client"
	"github.com/tracetop/tracetop/internal/relay/proto"
	"github.com/tracetop/tracetop/internal/testenv"
)

// startRelayProcess runs the test binary as a relay process on free ports.
func startRelayProcess(t *testing.T, dir string) (*exec.Cmd, [3]string) {
	var addrs [3]string
	var ports []string
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = l.Addr().String()
		_, p, _ := net.SplitHostPort(addrs[i])
		ports = append(ports, p)
		l.Close()
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "TRACETOP_TEST_RELAY="+dir, "TRACETOP_TEST_RELAY_PORTS="+strings.Join(ports, ","))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	if !strings.Contains(line, "ready") {
		t.Fatalf("relay process: %q", line)
	}
	return cmd, addrs
}

// TestKillRestart kills the relay with SIGKILL while a packet is being
// received; after a restart every acknowledged packet is readable by
// babeltrace2 and the index files match the data files.
func TestKillRestart(t *testing.T) {
	bt := testenv.Program(t, "babeltrace2")
	src := filepath.Join(testenv.SharedDir(t, "traces/generated/ust-libc-small"), "trace", "ust/uid/0/64-bit")
	dir := t.TempDir()
	cmd, addrs := startRelayProcess(t, dir)
	c, err := client.Dial(context.Background(), addrs[0], addrs[1])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cs := proto.CreateSession{SessionName: "k", Hostname: "h", SessiondUUID: [16]byte{7}, CreationTime: uint64(time.Now().Unix())}
	sid, sdir, err := c.CreateSession(cs)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ids, _ := addUSTStreams(t, c, cs.CreationTime, src, "channel0_0", "channel0_1")
	packet := func(ch string) ([]byte, index.Entry) {
		_, es, err := index.ReadFile(filepath.Join(src, "index", ch+".idx"))
		must(err)
		b, err := os.ReadFile(filepath.Join(src, ch))
		must(err)
		e := es[0]
		return b[e.Offset : e.Offset+(e.ContentSize+7)/8], e
	}
	// channel0_0: packet sent and acknowledged.
	p0, e0 := packet("channel0_0")
	must(c.SendPacket(ids["channel0_0"], 0, p0, uint32(e0.PacketSize/8-uint64(len(p0)))))
	must(c.SendIndex(proto.SendIndex{RelayStreamID: ids["channel0_0"], PacketSize: e0.PacketSize, ContentSize: e0.ContentSize,
		TimestampBegin: e0.TimestampBegin, TimestampEnd: e0.TimestampEnd, StreamID: e0.StreamID, StreamInstanceID: e0.StreamInstanceID}))
	// Acknowledged: data pending says the relay has both halves (the
	// SEND_INDEX reply alone does not: the data may still be on its way).
	for i := 0; ; i++ {
		pending, err := c.DataPending(sid, []client.Pending{{Stream: ids["channel0_0"], LastSeq: 0},
			{Stream: ids["channel0_1"], LastSeq: proto.NoSeq}}, []proto.StreamID{ids["metadata"]})
		must(err)
		if !pending {
			break
		}
		if i == 1000 {
			t.Fatal("the relay still misses the packet")
		}
		time.Sleep(time.Millisecond)
	}
	// channel0_1: the data is half sent, no index: the relay dies now.
	p1, _ := packet("channel0_1")
	h := proto.DataHeader{StreamID: ids["channel0_1"], DataSize: uint32(len(p1)), PaddingSize: 100}
	raw, err := net.Dial("tcp", addrs[1])
	must(err)
	defer raw.Close()
	raw.Write(append(h.Append(nil), p1[:len(p1)/2]...))
	// Wait until the relay wrote some of it, then kill it.
	data1 := filepath.Join(dir, sdir, "ust/uid/0/64-bit/channel0_1")
	for i := 0; ; i++ {
		if fi, err := os.Stat(data1); err == nil && fi.Size() > 0 {
			break
		}
		if i == 1000 {
			t.Fatal("the relay wrote nothing of the half packet")
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()

	startRelayProcess(t, dir) // recovers the folder
	tdir := filepath.Join(dir, sdir, "ust/uid/0/64-bit")
	for _, ch := range []string{"channel0_0", "channel0_1"} {
		fi, err := os.Stat(filepath.Join(tdir, ch))
		must(err)
		var end int64
		if _, es, err := index.ReadFile(filepath.Join(tdir, "index", ch+".idx")); err == nil {
			for _, e := range es {
				end = max(end, int64(e.Offset+e.PacketSize/8))
			}
		}
		if fi.Size() != end {
			t.Errorf("%s: %d bytes, its index covers %d", ch, fi.Size(), end)
		}
	}
	// Expected: the original trace without channel0_1.
	ref := filepath.Join(t.TempDir(), "ust/uid/0/64-bit")
	must(os.MkdirAll(filepath.Join(ref, "index"), 0o755))
	for _, f := range []string{"metadata", "channel0_0", "index/channel0_0.idx"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		must(err)
		must(os.WriteFile(filepath.Join(ref, f), b, 0o644))
	}
	want, err := exec.Command(bt, ref).Output()
	must(err)
	got, err := exec.Command(bt, tdir).CombinedOutput()
	if err != nil {
		t.Fatalf("babeltrace2 after recovery: %v\n%s", err, got)
	}
	if !bytes.Equal(got, want) || len(want) == 0 {
		t.Errorf("babeltrace2 prints %d lines after recovery, want the %d of the acknowledged packet", bytes.Count(got, []byte("\n")), bytes.Count(want, []byte("\n")))
	}
}

// TestKillBeforeFirstIndex kills the relay while the first packet of a
// trace is being received (no packet of that trace acknowledged yet):
// after a restart the half packet is gone and babeltrace2 reads the trace
// folder without error (it has no event).
func TestKillBeforeFirstIndex(t *testing.T) {
	bt := testenv.Program(t, "babeltrace2")
	src := filepath.Join(testenv.SharedDir(t, "traces/generated/ust-libc-small"), "trace", "ust/uid/0/64-bit")
	dir := t.TempDir()
	cmd, addrs := startRelayProcess(t, dir)
	c, err := client.Dial(context.Background(), addrs[0], addrs[1])
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
	cs := proto.CreateSession{SessionName: "k", Hostname: "h", SessiondUUID: [16]byte{8}, CreationTime: uint64(time.Now().Unix())}
	_, sdir, err := c.CreateSession(cs)
	must(err)
	ids, _ := addUSTStreams(t, c, cs.CreationTime, src, "channel0_0")
	b, err := os.ReadFile(filepath.Join(src, "channel0_0"))
	must(err)
	h := proto.DataHeader{StreamID: ids["channel0_0"], DataSize: uint32(len(b))}
	raw, err := net.Dial("tcp", addrs[1])
	must(err)
	defer raw.Close()
	raw.Write(append(h.Append(nil), b[:len(b)/2]...))
	data := filepath.Join(dir, sdir, "ust/uid/0/64-bit/channel0_0")
	for i := 0; ; i++ {
		if fi, err := os.Stat(data); err == nil && fi.Size() > 0 {
			break
		}
		if i == 1000 {
			t.Fatal("the relay wrote nothing of the half packet")
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	startRelayProcess(t, dir) // recovers the folder
	if fi, err := os.Stat(data); err != nil || fi.Size() != 0 {
		t.Errorf("data file after recovery: %v, %v bytes (no packet was acknowledged)", err, fi.Size())
	}
	if out, err := exec.Command(bt, filepath.Join(dir, sdir)).CombinedOutput(); err != nil || len(out) != 0 {
		t.Errorf("babeltrace2 after recovery: %v\n%s", err, out)
	}
}

// addUSTStreams creates the session's first trace chunk (created at
// creation), adds the channels (and "metadata") of the shared UST trace
// folder src as streams of ust/uid/0/64-bit, says they are all sent, and
// sends src's metadata. It returns the relay's stream ids by channel and
// the metadata.
func addUSTStreams(t *testing.T, c *client.Client, creation uint64, src string, channels ...string) (map[string]proto.StreamID, []byte) {
	t.Helper()
	if err := c.CreateTraceChunk(0, creation, ""); err != nil {
		t.Fatal(err)
	}
	ids := map[string]proto.StreamID{}
	for _, ch := range append(channels, "metadata") {
		id, err := c.AddStream(ch, "ust/uid/0/64-bit", 0)
		if err != nil {
			t.Fatal(err)
		}
		ids[ch] = id
	}
	if err := c.StreamsSent(); err != nil {
		t.Fatal(err)
	}
	meta, err := os.ReadFile(filepath.Join(src, "metadata"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendMetadata(ids["metadata"], meta, 0); err != nil {
		t.Fatal(err)
	}
	return ids, meta
}

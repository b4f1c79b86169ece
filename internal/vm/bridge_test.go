package vm

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/clocksync"
)

// socketpair returns the two ends of a unix stream socket pair, as the
// host sees a virtio-serial chardev.
func socketpair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c.(*net.UnixConn)
	}
	a, b := conn(fds[0]), conn(fds[1])
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// TestBridgeReplayedGuest runs the agent and the bridge in-process over a
// socketpair, the agent replaying one second of a real TCG guest's ring
// buffers: every event must arrive, and the clock sync (both ends share
// this machine's CLOCK_MONOTONIC) must find the identity within its bound.
func TestBridgeReplayedGuest(t *testing.T) {
	hostEnd, guestEnd := socketpair(t)
	newTracer, rt := newReplay(t, "fakeguest")
	dir := t.TempDir()

	actx, acancel := context.WithCancel(context.Background())
	defer acancel()
	type agentResult struct {
		st  Stats
		err error
	}
	agentDone := make(chan agentResult, 1)
	go func() {
		h := DefaultHello()
		h.Hostname = "fakeguest"
		st, err := RunAgent(actx, guestEnd, AgentOptions{Hello: h, NewTracer: newTracer})
		agentDone <- agentResult{st, err}
	}()

	b := NewBridge(hostEnd, BridgeOptions{Dir: dir, Burst: 60, BurstGap: time.Millisecond, Every: 20 * time.Millisecond, EveryN: 5, Logf: t.Logf})
	bctx, bcancel := context.WithCancel(context.Background())
	defer bcancel()
	runDone := make(chan error, 1)
	go func() { runDone <- b.Run(bctx) }()

	select {
	case <-b.Hello():
	case err := <-runDone:
		t.Fatalf("bridge ended before the hello: %v", err)
	}
	select {
	case <-b.BurstDone():
	case err := <-runDone:
		t.Fatalf("bridge ended before the burst: %v", err)
	}
	bcancel()
	if err := <-runDone; err != nil {
		t.Fatalf("bridge: %v", err)
	}
	ar := <-agentDone
	if ar.err != nil {
		t.Fatalf("agent: %v", ar.err)
	}

	sf, err := ReadSyncFile(filepath.Join(dir, "guests", "fakeguest"))
	if err != nil {
		t.Fatal(err)
	}
	if sf.QEMUPID != os.Getpid() {
		t.Errorf("SO_PEERCRED peer %d, want this process %d", sf.QEMUPID, os.Getpid())
	}
	if sf.Stats.DroppedPackets != 0 || sf.Received.SeqGaps != 0 || sf.Received.Packets != sf.Stats.Packets {
		t.Errorf("guest sent %d packets, dropped %d; host received %d, %d missing by seq", sf.Stats.Packets, sf.Stats.DroppedPackets, sf.Received.Packets, sf.Received.SeqGaps)
	}
	s, err := sf.Transform()
	if err != nil {
		t.Fatal(err)
	}
	f := s.Fit()
	if f.Quality != clocksync.QualityAccurate || len(s.Segments()) != 1 || len(sf.Samples) < 60 {
		t.Fatalf("sync: %v with %d samples, %d segments", f.Quality, len(sf.Samples), len(s.Segments()))
	}
	// Same clock on both sides: H(g) = g must lie inside the bound.
	for _, x := range []clocksync.Sample{sf.Samples[0], sf.Samples[len(sf.Samples)/2], sf.Samples[len(sf.Samples)-1]} {
		h, bound := s.Map(x.T2)
		if d := float64(h - x.T2); d > bound+1 || -d > bound+1 {
			t.Errorf("H(%d) = %d: %.0f ns from the identity, bound %.0f", x.T2, h, d, bound)
		}
	}
	rtts := b.RTTs()
	t.Logf("sync: %d samples, a∈[%.6f, %.6f], bound ±%.1f µs, min RTT %.1f µs; %d packets, %d bytes",
		len(sf.Samples), f.AMin, f.AMax, f.Bound()/1e3, float64(minOf(rtts))/1e3, sf.Received.Packets, sf.Received.Bytes)

	// Every event of the fixture, by name.
	src, err := ctf.Open([]string{filepath.Join(dir, "guests", "fakeguest", "kernel")}, ctf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	counts := map[string]int{}
	var ev ctf.Event
	var first, last uint64
	for {
		if err := src.Read(&ev); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if ev.Kind != ctf.KindEvent {
			t.Fatalf("message of kind %d (lost or discarded)", ev.Kind)
		}
		if first == 0 {
			first = ev.Cycles
		}
		last = ev.Cycles
		counts[ev.Class.Name]++
	}
	want := map[string]int{"sched_switch": 2659, "sched_wakeup": 1365, "sched_process_fork": 1}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%s: %d events, want %d (all: %v)", k, counts[k], n, counts)
		}
	}
	if rt.events != 4025 || (first+500)/1000 != 2451176 || (last+500)/1000 != 3450134 {
		t.Errorf("replayed %d events from %d to %d ns; want 4025 from 2.451176 s to 3.450134 s", rt.events, first, last)
	}
}

func minOf(v []int64) int64 {
	m := int64(1 << 62)
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

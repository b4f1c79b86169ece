package live

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/relay"
	"github.com/tracetop/tracetop/internal/relay/client"
	"github.com/tracetop/tracetop/internal/relay/proto"
	"github.com/tracetop/tracetop/internal/testenv"
)

// relayAddrs are the three ports of a relay under test.
type relayAddrs struct {
	ctl, data, live string
	out             string // output folder
}

// ourRelay serves tracetop's relay in the test process.
func ourRelay(t testing.TB) relayAddrs {
	t.Helper()
	out := t.TempDir()
	srv, err := relay.New(relay.Config{OutputDir: out})
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
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return relayAddrs{ls[0].Addr().String(), ls[1].Addr().String(), ls[2].Addr().String(), out}
}

// freePort returns a loopback port nobody listens on.
func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// lttngRelay runs the real lttng-relayd on free loopback ports.
func lttngRelay(t testing.TB) relayAddrs {
	t.Helper()
	a := relayAddrs{out: filepath.Join(t.TempDir(), "out")}
	a.ctl, a.data, a.live = testenv.LttngRelayd(t, a.out)
	return a
}

// producer is a live tracer made of ctf/writer streams and the relay
// client: it sends packets when the live timer ticks and beacons for
// streams with nothing new, as lttng-consumerd does.
type producer struct {
	c      *client.Client
	sid    proto.SessionID
	md     *writer.Metadata
	uuid   [16]byte
	metaID proto.StreamID
	origin time.Time
	timer  time.Duration

	mu      sync.Mutex
	ids     map[string]proto.StreamID
	sent    map[string]int
	streams map[string]*writer.Stream
	names   []string
	tick    *writer.EventClass
	late    *writer.EventClass
	events  map[string]int // events written per stream

	tickLate time.Duration // the most a live timer tick ran after its time (machine load)
}

const testHost = "livetest-host"

func newProducer(t testing.TB, r relayAddrs, name string, timer time.Duration, streams ...string) *producer {
	t.Helper()
	ctx := context.Background()
	c, err := client.Dial(ctx, r.ctl, r.data)
	if err != nil {
		t.Fatal(err)
	}
	p := &producer{c: c, timer: timer, ids: map[string]proto.StreamID{}, sent: map[string]int{},
		streams: map[string]*writer.Stream{}, events: map[string]int{}, names: streams}
	p.origin = time.Now()
	rand.Read(p.uuid[:])
	p.md = &writer.Metadata{UUID: p.uuid, ClockOffsetNS: p.origin.UnixNano(),
		Env: []writer.EnvValue{{Key: "hostname", Str: testHost}, {Key: "domain", Str: "kernel"}}}
	if err := p.md.AddStream(writer.StreamClass{ID: 0}); err != nil {
		t.Fatal(err)
	}
	if p.tick, err = p.md.Add(&writer.EventClass{Stream: 0, Name: "tick", Fields: []writer.Field{writer.U32("stream"), writer.U32("seq")}}); err != nil {
		t.Fatal(err)
	}
	cs := proto.CreateSession{SessionName: name, Hostname: testHost, CreationTime: uint64(time.Now().Unix()),
		LiveTimer: uint32(timer / time.Microsecond)}
	rand.Read(cs.SessiondUUID[:])
	if p.sid, _, err = c.CreateSession(cs); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTraceChunk(0, uint64(time.Now().Unix()), ""); err != nil {
		t.Fatal(err)
	}
	for i, n := range streams {
		id, err := c.AddStream(n, "kernel", 0)
		if err != nil {
			t.Fatal(err)
		}
		p.ids[n] = id
		st, err := writer.NewStream(writer.StreamConfig{Name: n, CPU: uint32(i), InstanceID: uint64(i), PacketSize: 64 << 10, UUID: p.uuid}, p)
		if err != nil {
			t.Fatal(err)
		}
		p.streams[n] = st
	}
	if p.metaID, err = c.AddStream("metadata", "kernel", 0); err != nil {
		t.Fatal(err)
	}
	if err := c.StreamsSent(); err != nil {
		t.Fatal(err)
	}
	if err := p.sendMetadata(); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *producer) sendMetadata() error {
	text := p.md.Pending()
	if text == "" {
		return nil
	}
	return p.c.SendMetadata(p.metaID, writer.AppendMetadataPackets(nil, p.uuid, text), 0)
}

// now is the monotonic clock of the trace, in ns.
func (p *producer) now() uint64 { return uint64(time.Since(p.origin)) }

// WriteMetadata is not used: metadata goes through sendMetadata.
func (p *producer) WriteMetadata(b []byte) error { return nil }

// WritePacket sends a packet and its index to the relay.
func (p *producer) WritePacket(stream string, packet []byte, e writer.IndexEntry) error {
	id := p.ids[stream]
	content := (e.ContentSize + 7) / 8
	seq := proto.SeqNum(p.sent[stream])
	if err := p.c.SendPacket(id, seq, packet[:content], uint32(uint64(len(packet))-content)); err != nil {
		return err
	}
	p.sent[stream]++
	return p.c.SendIndex(proto.SendIndex{RelayStreamID: id, NetSeqNum: seq, PacketSize: e.PacketSize,
		ContentSize: e.ContentSize, TimestampBegin: e.TimestampBegin, TimestampEnd: e.TimestampEnd,
		EventsDiscarded: e.EventsDiscarded, StreamID: e.StreamID, StreamInstanceID: e.StreamInstanceID,
		PacketSeqNum: proto.SeqNum(e.PacketSeqNum)})
}

// CloseStream is called by the writer at the end of a stream: the relay
// stream is closed later, as lttng destroy does after lttng stop
// (lttng-relayd drops what a viewer did not read of a closed stream).
func (p *producer) CloseStream(stream string) error { return nil }

func (p *producer) Close() error { return nil }

// emit writes one tick event on a stream.
func (p *producer) emit(stream string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var pl [8]byte
	idx := 0
	for i, n := range p.names {
		if n == stream {
			idx = i
		}
	}
	binary.LittleEndian.PutUint32(pl[0:], uint32(idx))
	binary.LittleEndian.PutUint32(pl[4:], uint32(p.events[stream]))
	if err := p.streams[stream].Append(p.now(), p.tick.ID, nil, pl[:]); err != nil {
		return err
	}
	p.events[stream]++
	return nil
}

// emitLate declares a new event class (the metadata grows) and writes
// one event of it.
func (p *producer) emitLate(stream string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.late == nil {
		var err error
		if p.late, err = p.md.Add(&writer.EventClass{Stream: 0, Name: "late_class", Fields: []writer.Field{writer.Str("msg")}}); err != nil {
			return err
		}
		if err := p.sendMetadata(); err != nil {
			return err
		}
	}
	if err := p.streams[stream].Append(p.now(), p.late.ID, nil, []byte("grown\x00")); err != nil {
		return err
	}
	p.events[stream+"/late"]++
	return nil
}

// timerTick flushes every stream with an open packet and sends a beacon
// for the others, as the consumer's live timer does.
func (p *producer) timerTick() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for _, n := range p.names {
		st := p.streams[n]
		before := p.sent[n]
		if err := st.Flush(now); err != nil {
			return err
		}
		if p.sent[n] == before && before > 0 {
			if err := p.c.SendBeacon(p.ids[n], proto.SeqNum(before-1), 0, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// run writes events on busy every step and one event on each idle stream
// at its start, middle and end, for d, with the live timer ticking; then
// ends the session (final packets, streams closed, connection closed).
func (p *producer) run(ctx context.Context, d, step time.Duration, busy string, idle ...string) error {
	for _, n := range append([]string{busy}, idle...) {
		if err := p.emit(n); err != nil {
			return err
		}
	}
	start := time.Now()
	nextTick := start.Add(p.timer)
	grown := false
	for time.Since(start) < d {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := p.emit(busy); err != nil {
			return err
		}
		if !grown && time.Since(start) > d/2 {
			grown = true
			for _, n := range idle {
				if err := p.emit(n); err != nil {
					return err
				}
			}
			if err := p.emitLate(busy); err != nil {
				return err
			}
		}
		if now := time.Now(); !now.Before(nextTick) {
			p.tickLate = max(p.tickLate, now.Sub(nextTick))
			if err := p.timerTick(); err != nil {
				return err
			}
			nextTick = nextTick.Add(p.timer)
		}
		time.Sleep(step)
	}
	for _, n := range idle {
		if err := p.emit(n); err != nil {
			return err
		}
	}
	return p.finish()
}

// finish ends the session as lttng stop and, a little later, lttng
// destroy do.
func (p *producer) finish() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for _, n := range p.names {
		if err := p.streams[n].Close(now); err != nil {
			return err
		}
	}
	time.Sleep(3 * p.timer)
	for _, n := range p.names {
		if err := p.c.CloseStream(p.ids[n], proto.SeqNum(p.sent[n]-1)); err != nil {
			return err
		}
	}
	if err := p.c.CloseStream(p.metaID, proto.NoSeq); err != nil {
		return err
	}
	return p.c.Close()
}

func (p *producer) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, v := range p.events {
		n += v
	}
	return n
}

func (p *producer) url(r relayAddrs, session string) string {
	return fmt.Sprintf("net://%s/host/%s/%s", r.live, testHost, session)
}

package vm

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/record"
)

// Host sync marker events, in the host trace.
const (
	PingEventName = "tracetop_sync_ping" // at t1: vm, seq
	PongEventName = "tracetop_sync_pong" // at t4: vm, seq
)

// HostMarkers is an event source for the host recorder: it takes the host
// times of the sync exchanges (t1, t4) and records them as events of the
// host trace, so the fused trace shows each exchange on both sides.
type HostMarkers struct {
	mu         sync.Mutex
	out        *record.Emitter
	ping, pong *writer.EventClass
	p          writer.Payload
}

// Name implements record.EventSource.
func (m *HostMarkers) Name() string { return "vm-sync-host" }

// Classes implements record.EventSource.
func (m *HostMarkers) Classes() []*writer.EventClass {
	f := []writer.Field{writer.Str("vm"), writer.U32("seq")}
	m.ping = &writer.EventClass{Name: PingEventName, Fields: f}
	m.pong = &writer.EventClass{Name: PongEventName, Fields: f}
	return []*writer.EventClass{m.ping, m.pong}
}

// Run implements record.EventSource.
func (m *HostMarkers) Run(ctx context.Context, out *record.Emitter) error {
	m.mu.Lock()
	m.out = out
	m.mu.Unlock()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			m.mu.Lock()
			m.out = nil
			m.mu.Unlock()
			return nil
		case <-t.C:
			m.mu.Lock()
			out.Watermark(record.Now())
			m.mu.Unlock()
		}
	}
}

// Stamp takes the current trace-clock time and records it as a ping (pong
// false) or pong marker; it returns the time. Nil HostMarkers just read
// the clock.
func (m *HostMarkers) Stamp(pong bool, vm string, seq uint32) int64 {
	if m == nil {
		return int64(record.Now())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t := int64(record.Now())
	if m.out != nil {
		m.p.Reset()
		m.p.String(vm)
		m.p.U32(seq)
		c := m.ping
		if pong {
			c = m.pong
		}
		m.out.Emit(0, record.Timestamp(t), int32(os.Getpid()), c, m.p.B)
	}
	return t
}

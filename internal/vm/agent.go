package vm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/record"
)

// PortName is the name of the virtio-serial port of the guest channel.
const PortName = "org.tracetop.0"

// Version is the agent protocol version sent in the hello.
const Version = "tracetop-vm/1"

// Tracer records the guest: the real recorder (RecordTracer), or a replay
// of recorded pages in tests. It writes its metadata and packets to the
// sink it was made with.
type Tracer interface {
	Start() error
	Stop() error
	Destroy() error
}

// NewTracer makes a Tracer writing to sink, with sync as an extra event
// source (the sync markers: one tracetop_sync event per ping answered).
type NewTracer func(cfg GuestConfig, sink writer.Sink, sync record.EventSource) (Tracer, error)

// RecordTracer records the guest kernel with package record.
func RecordTracer(cfg GuestConfig, sink writer.Sink, sync record.EventSource) (Tracer, error) {
	ch := record.Channel{
		Name:        "channel0",
		Events:      cfg.Events,
		SubbufSize:  cfg.SubbufSize,
		SubbufCount: cfg.SubbufCount,
		SwitchTimer: time.Duration(cfg.SwitchMS) * time.Millisecond,
		ReadTimer:   time.Duration(cfg.ReadMS) * time.Millisecond,
		Sources:     []record.EventSource{sync},
	}
	if len(ch.Events) == 0 {
		ch.Events = DefaultGuestEvents
	}
	return record.New(record.Config{Session: "tracetop-guest", Sink: sink, Channels: []record.Channel{ch}})
}

// DefaultGuestEvents are recorded in the guest when the host asks for none.
var DefaultGuestEvents = []string{"sched_switch", "sched_wakeup", "sched_waking", "sched_process_fork", "sched_process_exec", "sched_process_exit"}

// AgentOptions configure RunAgent.
type AgentOptions struct {
	Hello     Hello     // sent first; DefaultHello() when Hostname is ""
	NewTracer NewTracer // default RecordTracer
	// Queue is how many packets may wait for the channel; when it is full
	// whole packets are dropped and counted, so the ring-buffer readers
	// never stall on a slow host. Default 256.
	Queue int
	Logf  func(format string, args ...any)
}

// RunAgent is the guest agent: it sends the hello on port, then obeys the
// host (Config, Start, Stop, Ping) until Stop, the end of the channel or
// ctx. It returns what it sent and dropped.
func RunAgent(ctx context.Context, port io.ReadWriter, o AgentOptions) (Stats, error) {
	if o.Hello.Hostname == "" {
		o.Hello = DefaultHello()
	}
	if o.NewTracer == nil {
		o.NewTracer = RecordTracer
	}
	if o.Queue <= 0 {
		o.Queue = 256
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	a := &agent{o: o, w: NewWriter(port), sync: &syncSource{}}
	a.q = make(chan qitem, o.Queue)
	hello, _ := json.Marshal(o.Hello)
	if err := a.w.Write(KindHello, 0, hello); err != nil {
		return a.stats, fmt.Errorf("guest agent: send hello: %w", err)
	}

	type rframe struct {
		Frame
		t2  int64
		err error
	}
	frames := make(chan rframe, 16)
	go func() {
		r := NewReader(port)
		for {
			f, err := r.Next()
			t2 := int64(record.Now())
			if err == nil {
				f.Payload = append([]byte(nil), f.Payload...)
			}
			select {
			case frames <- rframe{f, t2, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	var cfg GuestConfig
	for {
		var f rframe
		select {
		case <-ctx.Done():
			return a.finish(true)
		case f = <-frames:
		}
		if f.err != nil {
			if f.err == io.EOF {
				a.finish(false)
				return a.stats, nil
			}
			a.finish(false)
			return a.stats, f.err
		}
		switch f.Kind {
		case KindConfig:
			if err := decodeJSON(f.Frame, &cfg); err != nil {
				a.finish(false)
				return a.stats, err
			}
		case KindStart:
			if err := a.start(cfg); err != nil {
				o.Logf("guest agent: %v", err)
				a.finish(true)
				return a.stats, err
			}
		case KindPing:
			seq, err := decodePing(f.Frame)
			if err != nil {
				a.finish(false)
				return a.stats, err
			}
			a.stats.Pings++
			err = a.w.WriteFunc(KindSyncReply, 0, func(b []byte) []byte {
				t3 := a.sync.mark(seq, f.t2)
				return appendSyncReply(b, seq, f.t2, t3)
			})
			if err != nil {
				a.finish(false)
				return a.stats, err
			}
		case KindStop:
			return a.finish(true)
		default:
			o.Logf("guest agent: ignoring %v frame at byte 0x%x", f.Kind, f.Off)
		}
	}
}

type qitem struct {
	kind   Kind
	stream string
	data   []byte
	e      writer.IndexEntry
	cpu    uint8
}

type agent struct {
	o      AgentOptions
	w      *Writer
	sync   *syncSource
	q      chan qitem
	tr     Tracer
	wdone  chan error
	mu     sync.Mutex
	stats  Stats
	closed bool
}

func (a *agent) start(cfg GuestConfig) error {
	if a.tr != nil {
		return nil
	}
	a.wdone = make(chan error, 1)
	go a.writeLoop()
	// Each step is logged with its duration: on a slow (TCG) guest the
	// console then says where the time went.
	t0 := time.Now()
	a.o.Logf("guest agent: setting up the recorder")
	tr, err := a.o.NewTracer(cfg, (*chanSink)(a), a.sync)
	if err != nil {
		return fmt.Errorf("guest recorder: %w", err)
	}
	a.tr = tr
	a.o.Logf("guest agent: recorder set up in %v, starting it (statedump)", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	if err := tr.Start(); err != nil {
		return fmt.Errorf("guest recorder: start: %w", err)
	}
	a.o.Logf("guest agent: recording (started in %v)", time.Since(t0).Round(time.Millisecond))
	// Pings answered while the recorder starts (statedump, a slow TCG
	// guest) would give useless round trips: the host waits for this.
	return a.w.Write(KindStarted, 0, nil)
}

func (a *agent) writeLoop() {
	var err error
	for it := range a.q {
		if err != nil {
			continue // drain: the channel is gone
		}
		switch it.kind {
		case KindPacket:
			err = a.w.WriteFunc(KindPacket, it.cpu, func(b []byte) []byte { return appendPacket(b, it.stream, it.data, it.e) })
			if err == nil {
				a.mu.Lock()
				a.stats.Packets++
				a.stats.Bytes += uint64(len(it.data))
				a.mu.Unlock()
			}
		default:
			err = a.w.Write(it.kind, 0, it.data)
		}
	}
	a.wdone <- err
}

// finish stops the recorder, flushes the queue, and (when bye) sends the
// statistics and the bye frame.
func (a *agent) finish(bye bool) (Stats, error) {
	var err error
	if a.tr != nil {
		t0 := time.Now()
		a.o.Logf("guest agent: stopping the recorder")
		err = a.tr.Stop()
		a.o.Logf("guest agent: recorder stopped in %v", time.Since(t0).Round(time.Millisecond))
		if l, ok := a.tr.(interface{ Lost() uint64 }); ok {
			a.mu.Lock()
			a.stats.LostEvents = l.Lost()
			a.mu.Unlock()
		}
		if derr := a.tr.Destroy(); err == nil {
			err = derr
		}
		a.mu.Lock()
		a.closed = true
		close(a.q)
		a.mu.Unlock()
		if werr := <-a.wdone; err == nil {
			err = werr
		}
		a.o.Logf("guest agent: recorder destroyed, queue sent, %v in all", time.Since(t0).Round(time.Millisecond))
		a.tr = nil
	}
	a.mu.Lock()
	st := a.stats
	a.mu.Unlock()
	if bye {
		b, _ := json.Marshal(st)
		if werr := a.w.Write(KindStats, 0, b); werr == nil {
			werr = a.w.Write(KindBye, 0, nil)
			if err == nil {
				err = werr
			}
		} else if err == nil {
			err = werr
		}
	}
	return st, err
}

// chanSink is the writer.Sink of the guest recorder: it queues metadata
// (never dropped, so it may block) and packets (dropped when the queue is
// full) for the channel writer.
type chanSink agent

func (s *chanSink) put(it qitem, block bool) bool {
	a := (*agent)(s)
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return false
	}
	if !block {
		select {
		case a.q <- it:
			a.mu.Unlock()
			return true
		default:
			a.stats.DroppedPackets++
			a.stats.DroppedBytes += uint64(len(it.data))
			a.mu.Unlock()
			return false
		}
	}
	a.mu.Unlock()
	// Blocking send outside the lock; finish closes the queue only after
	// the recorder stopped, so no sink call runs then.
	a.q <- it
	return true
}

func (s *chanSink) WriteMetadata(b []byte) error {
	s.put(qitem{kind: KindMetadata, data: append([]byte(nil), b...)}, true)
	return nil
}

func (s *chanSink) WritePacket(stream string, packet []byte, e writer.IndexEntry) error {
	cpu := uint8(0)
	if i := strings.LastIndexByte(stream, '_'); i >= 0 {
		if n, err := strconv.Atoi(stream[i+1:]); err == nil {
			cpu = uint8(n)
		}
	}
	s.put(qitem{kind: KindPacket, stream: stream, data: append([]byte(nil), packet...), e: e, cpu: cpu}, false)
	return nil
}

func (s *chanSink) CloseStream(stream string) error {
	s.put(qitem{kind: KindCloseStream, data: []byte(stream)}, true)
	return nil
}

func (s *chanSink) Close() error { return nil }

// syncSource writes one tracetop_sync event (seq, t2, t3) at t3 for every
// ping answered, so the guest trace itself holds the exchange, in its own
// trace clock.
type syncSource struct {
	mu    sync.Mutex
	out   *record.Emitter
	class *writer.EventClass
	p     writer.Payload
}

// SyncEventName is the guest's sync marker event.
const SyncEventName = "tracetop_sync"

func (s *syncSource) Name() string { return "vm-sync" }

func (s *syncSource) Classes() []*writer.EventClass {
	s.class = &writer.EventClass{Name: SyncEventName, Fields: []writer.Field{
		writer.U32("seq"), writer.I64("t2"), writer.I64("t3")}}
	return []*writer.EventClass{s.class}
}

func (s *syncSource) Run(ctx context.Context, out *record.Emitter) error {
	s.mu.Lock()
	s.out = out
	s.mu.Unlock()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			s.out = nil
			s.mu.Unlock()
			return nil
		case <-t.C:
			s.mu.Lock()
			out.Watermark(record.Now())
			s.mu.Unlock()
		}
	}
}

// mark takes t3 and records the marker event; it returns t3.
func (s *syncSource) mark(seq uint32, t2 int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	t3 := int64(record.Now())
	if s.out != nil {
		s.p.Reset()
		s.p.U32(seq)
		s.p.I64(t2)
		s.p.I64(t3)
		s.out.Emit(0, record.Timestamp(t3), int32(os.Getpid()), s.class, s.p.B)
	}
	return t3
}

// DefaultHello describes this machine.
func DefaultHello() Hello {
	h := Hello{Version: Version, Clock: "mono", PageSize: os.Getpagesize(), CPUs: runtime.NumCPU()}
	h.Hostname, _ = os.Hostname()
	h.BootID = readTrim("/proc/sys/kernel/random/boot_id")
	h.MachineID = readTrim("/etc/machine-id")
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && strings.TrimSpace(k) == "apicid" {
				if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
					h.APICIDs = append(h.APICIDs, uint32(n))
				}
			}
		}
	}
	return h
}

func readTrim(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}

// ErrNoPort says the guest has no virtio-serial port named PortName.
var ErrNoPort = errors.New("no virtio-serial port " + PortName)

// FindPort returns the device of the virtio-serial port named name, by
// scanning /sys/class/virtio-ports/*/name (there may be no udev links).
func FindPort(sysfs, name string) (string, error) {
	if sysfs == "" {
		sysfs = "/sys"
	}
	ms, _ := filepath.Glob(filepath.Join(sysfs, "class/virtio-ports/*/name"))
	for _, m := range ms {
		if readTrim(m) == name {
			return "/dev/" + filepath.Base(filepath.Dir(m)), nil
		}
	}
	return "", fmt.Errorf("%w (scanned %d ports under %s/class/virtio-ports; is virtio_console loaded?)", ErrNoPort, len(ms), sysfs)
}

// GuestOptions configure RunGuest.
type GuestOptions struct {
	Port     string        // device of the channel; default: found by PortName
	Hostname string        // set the guest's hostname first (an initramfs has none)
	Wait     time.Duration // wait this long for the port to appear (modules loading)
	Logf     func(format string, args ...any)
}

// RunGuest is `tracetop guest`: it finds and opens the virtio-serial port,
// sets the hostname if asked, and runs the agent until the host stops it.
func RunGuest(ctx context.Context, o GuestOptions) (Stats, error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Hostname != "" {
		if err := unix.Sethostname([]byte(o.Hostname)); err != nil {
			return Stats{}, fmt.Errorf("set hostname %q: %w", o.Hostname, err)
		}
	}
	dev := o.Port
	deadline := time.Now().Add(o.Wait)
	for dev == "" {
		var err error
		dev, err = FindPort("", PortName)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return Stats{}, err
		}
		time.Sleep(50 * time.Millisecond)
	}
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return Stats{}, fmt.Errorf("guest channel: %w", err)
	}
	defer f.Close()
	o.Logf("guest agent: channel %s", dev)
	return RunAgent(ctx, f, AgentOptions{Logf: o.Logf})
}

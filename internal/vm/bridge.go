package vm

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/clocksync"
)

// BridgeOptions configure a Bridge.
type BridgeOptions struct {
	// Dir is the host trace folder: the guest's trace goes to
	// Dir/guests/NAME/kernel and its sync stream to Dir/guests/NAME/sync.json.
	Dir string
	// Name names the guest folder; default: the guest's hostname, else
	// the QEMU -name, else qemu-PID.
	Name   string
	Config GuestConfig
	// Ping schedule: Burst pings BurstGap apart at attach (default 200,
	// 2 ms), then EveryN pings every Every (default 10 every second).
	Burst    int
	BurstGap time.Duration
	Every    time.Duration
	EveryN   int
	// HelloTimeout bounds the wait for the guest's hello (default 30 s);
	// StopTimeout the wait for its bye after Stop (default 30 s: a guest
	// under software emulation stopping its recorder and sending its last
	// packets was seen to take more than 10 s).
	HelloTimeout, StopTimeout time.Duration
	// Markers records t1/t4 in the host trace (may be nil).
	Markers *HostMarkers
	// Proc is the procfs root for VM discovery (default /proc).
	Proc string
	Logf func(format string, args ...any)
}

// Bridge is the host end of one guest channel: it identifies the VM,
// stores the guest's trace beside the host's, and runs the clock sync.
type Bridge struct {
	conn io.ReadWriteCloser
	o    BridgeOptions
	w    *Writer

	hello     chan struct{}
	started   chan struct{}
	burstDone chan struct{}

	mu       sync.Mutex
	sf       SyncFile
	sync     clocksync.Sync
	pending  map[uint32]int64 // seq → t1
	lastSeq  map[string]uint64
	lastDisc map[string]uint64
	dir      string
	sink     *writer.DirSink
	rtts     []int64
}

// NewBridge returns a bridge over an accepted or dialled guest channel.
func NewBridge(conn io.ReadWriteCloser, o BridgeOptions) *Bridge {
	if o.Burst == 0 {
		o.Burst = 200
	}
	if o.BurstGap == 0 {
		o.BurstGap = 2 * time.Millisecond
	}
	if o.Every == 0 {
		o.Every = time.Second
	}
	if o.EveryN == 0 {
		o.EveryN = 10
	}
	if o.HelloTimeout == 0 {
		o.HelloTimeout = 30 * time.Second
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 30 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return &Bridge{conn: conn, o: o, w: NewWriter(conn), hello: make(chan struct{}), started: make(chan struct{}), burstDone: make(chan struct{}),
		pending: map[uint32]int64{}, lastSeq: map[string]uint64{}, lastDisc: map[string]uint64{}}
}

// Hello is closed when the guest's hello has arrived.
func (b *Bridge) Hello() <-chan struct{} { return b.hello }

// Started is closed when the guest recorder runs.
func (b *Bridge) Started() <-chan struct{} { return b.started }

// BurstDone is closed when the replies of the attach burst are in.
func (b *Bridge) BurstDone() <-chan struct{} { return b.burstDone }

// Status returns a copy of the sync stream so far (identity, samples,
// counts) and the current fit.
func (b *Bridge) Status() (SyncFile, clocksync.Fit) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sf := b.sf
	sf.Samples = append([]clocksync.Sample(nil), b.sync.Samples...)
	sf.Segments = b.sync.Segments()
	return sf, b.sync.Fit()
}

// RTTs returns the round-trip times (t4 − t1, ns) of the answered pings.
func (b *Bridge) RTTs() []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int64(nil), b.rtts...)
}

// Dir returns the guest's folder (Dir/guests/NAME) once the hello is in.
func (b *Bridge) Dir() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dir
}

type bframe struct {
	Frame
	t4  int64
	err error
}

// Run serves the channel until the guest says bye, the channel ends, or
// ctx is done (then the guest is told to stop and its bye awaited). The
// guest's trace and sync.json are complete when Run returns.
func (b *Bridge) Run(ctx context.Context) error {
	frames := make(chan bframe, 64)
	rctx, rcancel := context.WithCancel(context.Background())
	defer rcancel()
	go func() {
		r := NewReader(b.conn)
		for {
			f, err := r.Next()
			var t4 int64
			if err == nil && f.Kind == KindSyncReply {
				if seq, _, _, derr := decodeSyncReply(f); derr == nil {
					t4 = b.o.Markers.Stamp(true, b.name(), seq)
				}
			}
			if err == nil {
				f.Payload = append([]byte(nil), f.Payload...)
			}
			select {
			case frames <- bframe{f, t4, err}:
			case <-rctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	// 1. hello
	timer := time.NewTimer(b.o.HelloTimeout)
	defer timer.Stop()
	var f bframe
	select {
	case f = <-frames:
	case <-timer.C:
		return fmt.Errorf("guest bridge: no hello within %v", b.o.HelloTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
	if f.err != nil {
		return fmt.Errorf("guest bridge: waiting for hello: %w", f.err)
	}
	if f.Kind != KindHello {
		return &FrameError{f.Off, fmt.Sprintf("first frame is %v, want hello", f.Kind)}
	}
	if err := b.attach(f.Frame); err != nil {
		return err
	}
	close(b.hello)
	defer b.finish()

	// 2. configuration, start, pings
	cfg, _ := json.Marshal(b.o.Config)
	if err := b.w.Write(KindConfig, 0, cfg); err != nil {
		return fmt.Errorf("guest bridge: send config: %w", err)
	}
	if err := b.w.Write(KindStart, 0, nil); err != nil {
		return fmt.Errorf("guest bridge: send start: %w", err)
	}
	pctx, pcancel := context.WithCancel(ctx)
	defer pcancel()
	burstSent := make(chan uint32, 1)
	go b.pinger(pctx, burstSent)

	// 3. frames until bye
	stopping := false
	var stopTimer <-chan time.Time
	burstLast := uint32(0)
	burstKnown := false
	done := ctx.Done()
	for {
		select {
		case <-done:
			done = nil
			stopping = true
			pcancel()
			if err := b.w.Write(KindStop, 0, nil); err != nil {
				return fmt.Errorf("guest bridge: send stop: %w", err)
			}
			st := time.NewTimer(b.o.StopTimeout)
			defer st.Stop()
			stopTimer = st.C
			continue
		case <-stopTimer:
			return fmt.Errorf("guest bridge %q: no bye within %v of stop", b.name(), b.o.StopTimeout)
		case s := <-burstSent:
			burstLast, burstKnown = s, true
			continue
		case f = <-frames:
		}
		if f.err != nil {
			if f.err == io.EOF || errors.Is(f.err, net.ErrClosed) {
				if stopping {
					return fmt.Errorf("guest bridge %q: channel closed before bye", b.name())
				}
				return fmt.Errorf("guest bridge %q: channel closed by the guest", b.name())
			}
			return fmt.Errorf("guest bridge %q: %w", b.name(), f.err)
		}
		if err := b.frame(f); err != nil {
			return err
		}
		if f.Kind == KindBye {
			return nil
		}
		if burstKnown && f.Kind == KindSyncReply {
			if seq, _, _, _ := decodeSyncReply(f.Frame); seq >= burstLast {
				select {
				case <-b.burstDone:
				default:
					close(b.burstDone)
				}
			}
		}
	}
}

func (b *Bridge) name() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sf.Name
}

func (b *Bridge) attach(f Frame) error {
	var h Hello
	if err := decodeJSON(f, &h); err != nil {
		return err
	}
	sf := SyncFile{Hello: h, Hostname: h.Hostname, Tier: "C", HostClock: "mono", GuestClock: h.Clock}
	if uc, ok := b.conn.(*net.UnixConn); ok {
		if pid, err := PeerPID(uc); err == nil {
			sf.QEMUPID = pid
			sf.QEMUName = QEMUName(b.o.Proc, pid)
			if vs, err := VCPUThreads(b.o.Proc, pid); err == nil {
				sf.VCPUs = vs
			}
		}
	}
	name := b.o.Name
	switch {
	case name != "":
	case h.Hostname != "" && h.Hostname != "(none)" && h.Hostname != "localhost":
		name = h.Hostname
	case sf.QEMUName != "":
		name = sf.QEMUName
	case sf.QEMUPID != 0:
		name = "qemu-" + strconv.Itoa(sf.QEMUPID)
	default:
		name = "guest"
	}
	sf.Name = sanitizeName(name)
	dir := filepath.Join(b.o.Dir, "guests", sf.Name)
	sink, err := writer.NewDirSink(filepath.Join(dir, "kernel"))
	if err != nil {
		return fmt.Errorf("guest bridge %q: %w", sf.Name, err)
	}
	b.mu.Lock()
	b.sf, b.dir, b.sink = sf, dir, sink
	b.mu.Unlock()
	b.o.Logf("guest %q: hello (hostname %q, %d CPUs, clock %s, qemu pid %d, %d vCPU threads)", sf.Name, h.Hostname, h.CPUs, h.Clock, sf.QEMUPID, len(sf.VCPUs))
	return nil
}

func sanitizeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r < ' ' || r == 0x7f {
			return '_'
		}
		return r
	}, s)
	if s == "" || s == "." || s == ".." {
		return "guest"
	}
	return s
}

func (b *Bridge) pinger(ctx context.Context, burstSent chan<- uint32) {
	var seq uint32
	ping := func() bool {
		seq++
		s := seq
		err := b.w.WriteFunc(KindPing, 0, func(p []byte) []byte {
			t1 := b.o.Markers.Stamp(false, b.name(), s)
			b.mu.Lock()
			b.pending[s] = t1
			if b.sf.Received.FirstPingNS == 0 {
				b.sf.Received.FirstPingNS = t1
			}
			b.mu.Unlock()
			return binary.BigEndian.AppendUint32(p, s)
		})
		return err == nil
	}
	sleep := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	select {
	case <-b.started:
	case <-ctx.Done():
		return
	}
	for i := 0; i < b.o.Burst; i++ {
		if !ping() || !sleep(b.o.BurstGap) {
			return
		}
	}
	burstSent <- seq
	for sleep(b.o.Every) {
		for i := 0; i < b.o.EveryN; i++ {
			if !ping() || !sleep(b.o.BurstGap) {
				return
			}
		}
		b.save()
	}
}

func (b *Bridge) frame(f bframe) error {
	switch f.Kind {
	case KindMetadata:
		b.mu.Lock()
		b.sf.Received.Metadata += uint64(len(f.Payload))
		b.mu.Unlock()
		return b.sink.WriteMetadata(f.Payload)
	case KindPacket:
		stream, pkt, e, err := decodePacket(f.Frame)
		if err != nil {
			return err
		}
		b.mu.Lock()
		b.sf.Received.Packets++
		b.sf.Received.Bytes += uint64(len(pkt))
		if last, ok := b.lastSeq[stream]; ok && e.PacketSeqNum > last+1 {
			b.sf.Received.SeqGaps += e.PacketSeqNum - last - 1
		}
		b.lastSeq[stream] = e.PacketSeqNum
		b.sf.Received.Discarded += e.EventsDiscarded - min(e.EventsDiscarded, b.lastDisc[stream])
		b.lastDisc[stream] = max(e.EventsDiscarded, b.lastDisc[stream])
		b.mu.Unlock()
		return b.sink.WritePacket(stream, pkt, e)
	case KindCloseStream:
		if !validStream(f.Payload) {
			return &FrameError{f.Off, fmt.Sprintf("close-stream frame: bad stream name %q", f.Payload)}
		}
		return b.sink.CloseStream(string(f.Payload))
	case KindSyncReply:
		seq, t2, t3, err := decodeSyncReply(f.Frame)
		if err != nil {
			return err
		}
		b.mu.Lock()
		t1, ok := b.pending[seq]
		delete(b.pending, seq)
		if ok {
			b.rtts = append(b.rtts, f.t4-t1)
			_, err = b.sync.Add(clocksync.Sample{Seq: seq, T1: t1, T2: t2, T3: t3, T4: f.t4})
		}
		b.mu.Unlock()
		if !ok {
			b.o.Logf("guest %q: sync reply %d to no ping", b.name(), seq)
		}
		if err != nil {
			b.o.Logf("guest %q: %v", b.name(), err)
		}
	case KindStats:
		var st Stats
		if err := decodeJSON(f.Frame, &st); err != nil {
			return err
		}
		b.mu.Lock()
		b.sf.Stats = st
		b.mu.Unlock()
	case KindStarted:
		select {
		case <-b.started:
		default:
			close(b.started)
		}
	case KindBye:
	case KindHello:
		return &FrameError{f.Off, "second hello"}
	default:
		b.o.Logf("guest %q: ignoring %v frame at byte 0x%x", b.name(), f.Kind, f.Off)
	}
	return nil
}

// save writes sync.json with what is known now.
func (b *Bridge) save() error {
	sf, _ := b.Status()
	dir := b.Dir()
	if dir == "" {
		return nil
	}
	b.mu.Lock()
	sf.Failures, sf.Outliers = b.sync.Failures, b.sync.Outliers
	b.mu.Unlock()
	return WriteSyncFile(dir, &sf)
}

func (b *Bridge) finish() {
	b.mu.Lock()
	sink := b.sink
	b.mu.Unlock()
	if sink != nil {
		if err := sink.Close(); err != nil {
			b.o.Logf("guest %q: closing trace: %v", b.name(), err)
		}
	}
	if err := b.save(); err != nil {
		b.o.Logf("guest %q: %v", b.name(), err)
	}
}

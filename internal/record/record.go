package record

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/ftrace"
	"github.com/tracetop/tracetop/internal/statedump"
)

// Errors a caller can test with errors.Is.
var (
	ErrNotRoot   = ftrace.ErrNotRoot
	ErrNoTracefs = ftrace.ErrNoTracefs
	ErrState     = errors.New("wrong recorder state")
)

type state int

const (
	created state = iota
	started
	stopped
	destroyed
)

func (s state) String() string {
	return [...]string{"created", "started", "stopped", "destroyed"}[s]
}

// Recorder records one session: a tracefs instance per channel, one
// reader goroutine per CPU and channel, the statedump, the extra event
// sources, and the CTF output. Its methods are safe for concurrent use.
type Recorder struct {
	cfg     Config
	fs      *ftrace.FS
	md      *writer.Metadata
	sink    writer.Sink
	uuid    [16]byte
	chans   []*channel
	procs   *procCache
	dir     string
	strings bool // syscall user strings available (a source provides syscalls)
	// onlineCPUs lists the online CPUs (ftrace.OnlineCPUs; tests inject
	// hotplug events through it).
	onlineCPUs func() ([]int, error)
	hpMu       sync.Mutex      // one hotplug check at a time
	runCtx     context.Context // the readers' context while started

	mu       sync.Mutex
	state    state
	cancel   context.CancelFunc // stops the CPU readers and hotplug watcher
	srcStop  context.CancelFunc // stops the event sources
	wg       sync.WaitGroup     // CPU readers and watcher
	srcWG    sync.WaitGroup     // sources
	metaMu   sync.Mutex
	srcErrMu sync.Mutex
	srcErr   error
}

// Now returns the current CLOCK_MONOTONIC time, the trace clock. It reads
// the vDSO clock (ftrace.MonoNow), not a system call: the readers call it
// once per page.
func Now() Timestamp { return Timestamp(ftrace.MonoNow()) }

// clockOffset returns realtime minus monotonic, from the closest of a few
// samples.
func clockOffset() int64 {
	best, off := int64(1<<62), int64(0)
	for i := 0; i < 5; i++ {
		var a, r, b unix.Timespec
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &a)
		unix.ClockGettime(unix.CLOCK_REALTIME, &r)
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &b)
		if d := b.Nano() - a.Nano(); d < best {
			best = d
			off = r.Nano() - (a.Nano()+b.Nano())/2
		}
	}
	return off
}

// New checks the configuration and the machine (root, tracefs, events),
// cleans up instances left by dead recorders, creates the tracefs
// instances and enables the events, and prepares the output. Nothing is
// recorded before Start.
func New(cfg Config) (*Recorder, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("record session %q: %w", cfg.Session, ErrNotRoot)
	}
	fs, err := ftrace.Open(cfg.Tracefs)
	if err != nil {
		return nil, fmt.Errorf("record session %q: %w", cfg.Session, err)
	}
	if gone, err := fs.CleanStale(); err != nil {
		cfg.Logf("cleaning stale tracefs instances: %v", err)
	} else if len(gone) > 0 {
		cfg.Logf("removed tracefs instances of dead recorders: %v", gone)
	}
	r := &Recorder{cfg: cfg, fs: fs, procs: newProcCache(), onlineCPUs: ftrace.OnlineCPUs}
	if _, err := rand.Read(r.uuid[:]); err != nil {
		return nil, err
	}
	r.uuid[6] = r.uuid[6]&0x0f | 0x40
	r.uuid[8] = r.uuid[8]&0x3f | 0x80
	var cuuid [16]byte
	rand.Read(cuuid[:])
	r.md = &writer.Metadata{UUID: r.uuid, ClockUUID: cuuid, ClockOffsetNS: clockOffset(), Env: r.env()}
	avail, err := fs.Events()
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			r.removeInstances()
		}
	}()
	for i := range cfg.Channels {
		ch, err := r.newChannel(uint32(i), cfg.Channels[i], avail, i == 0 && !cfg.NoStatedump)
		if err != nil {
			return nil, err
		}
		r.chans = append(r.chans, ch)
	}
	if cfg.Sink != nil {
		r.sink = cfg.Sink
	} else {
		r.dir = filepath.Join(cfg.OutputDir, "kernel")
		ds, err := writer.NewDirSink(r.dir)
		if err != nil {
			return nil, fmt.Errorf("record session %q: %w", cfg.Session, err)
		}
		r.sink = ds
	}
	if err := r.flushMetadata(); err != nil {
		return nil, err
	}
	ok = true
	return r, nil
}

func (r *Recorder) env() []writer.EnvValue {
	host, _ := os.Hostname()
	var u unix.Utsname
	unix.Uname(&u)
	str := func(b []byte) string {
		for i, c := range b {
			if c == 0 {
				return string(b[:i])
			}
		}
		return string(b)
	}
	now := time.Now()
	return []writer.EnvValue{
		{Key: "hostname", Str: host},
		{Key: "domain", Str: "kernel"},
		{Key: "sysname", Str: str(u.Sysname[:])},
		{Key: "kernel_release", Str: str(u.Release[:])},
		{Key: "kernel_version", Str: str(u.Version[:])},
		{Key: "tracer_name", Str: "lttng-modules"},
		{Key: "tracer_major", Int: 2, IsInt: true},
		{Key: "tracer_minor", Int: 13, IsInt: true},
		{Key: "tracer_patchlevel", Int: 0, IsInt: true},
		{Key: "trace_buffering_scheme", Str: "global"},
		{Key: "trace_name", Str: r.cfg.Session},
		{Key: "trace_creation_datetime", Str: now.Format("20060102T150405-0700")},
		{Key: "product_uri", Str: "tracetop"},
	}
}

// Dir returns the trace directory (OUTPUT/kernel), empty with a Sink.
func (r *Recorder) Dir() string { return r.dir }

// UUID returns the trace uuid.
func (r *Recorder) UUID() [16]byte { return r.uuid }

// SyscallStrings reports whether syscall string arguments (paths) are
// recorded: true only when an event source provides the syscalls.
func (r *Recorder) SyscallStrings() bool { return r.strings }

func (r *Recorder) flushMetadata() error {
	r.metaMu.Lock()
	defer r.metaMu.Unlock()
	text := r.md.Pending()
	if text == "" {
		return nil
	}
	return r.sink.WriteMetadata(writer.AppendMetadataPackets(nil, r.uuid, text))
}

func (r *Recorder) removeInstances() {
	for _, ch := range r.chans {
		if ch.own != nil {
			ch.own.Close()
			ch.own = nil
		}
	}
	for _, ch := range r.chans {
		if ch.inst != nil {
			if err := ch.inst.Remove(); err != nil {
				r.cfg.Logf("%v", err)
			}
			ch.inst = nil
		}
	}
}

// Start starts recording: tracing on, the statedump, the sources and one
// reader per online CPU and channel. A stopped recorder can start again;
// its streams go on in the same files.
func (r *Recorder) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != created && r.state != stopped {
		return fmt.Errorf("start session %q: %w: %s", r.cfg.Session, ErrState, r.state)
	}
	cpus, err := r.onlineCPUs()
	if err != nil {
		return fmt.Errorf("start session %q: %w", r.cfg.Session, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sctx, scancel := context.WithCancel(context.Background())
	r.cancel, r.srcStop = cancel, scancel
	r.runCtx = ctx
	for _, ch := range r.chans {
		ch.resetMarks(Now())
		for _, c := range cpus {
			if err := ch.startCPU(ctx, CPU(c)); err != nil {
				cancel()
				scancel()
				r.wg.Wait()
				return err
			}
		}
	}
	// The sources are attached before tracefs records: the first
	// switches come from them, and a thread switched out on a CPU ran
	// there since the first event of the trace (with tracefs first, a
	// thread switched in between the first tracefs event and the
	// attachment of the switch program was credited with that time).
	for _, ch := range r.chans {
		for _, src := range ch.srcs {
			if a, ok := src.(Attacher); ok {
				if err := a.Attach(); err != nil {
					cancel()
					scancel()
					r.wg.Wait()
					return fmt.Errorf("start session %q: event source %s: %w", r.cfg.Session, src.Name(), err)
				}
			}
		}
	}
	for _, ch := range r.chans {
		if err := ch.inst.SetTracing(true); err != nil {
			for _, ch := range r.chans {
				ch.inst.SetTracing(false)
			}
			cancel()
			scancel()
			r.wg.Wait()
			return err
		}
	}
	for _, ch := range r.chans {
		for i, src := range ch.srcs {
			if ch.dump != nil && src == EventSource(ch.dump) && r.state == stopped {
				ch.markDone(i)
				continue // one statedump per session
			}
			r.srcWG.Add(1)
			go func(ch *channel, i int, src EventSource) {
				defer r.srcWG.Done()
				defer ch.markDone(i)
				if err := src.Run(sctx, &Emitter{ch: ch, src: i}); err != nil && !errors.Is(err, context.Canceled) {
					r.cfg.Logf("event source %s: %v", src.Name(), err)
					r.srcErrMu.Lock()
					if r.srcErr == nil {
						r.srcErr = fmt.Errorf("event source %s: %w", src.Name(), err)
					}
					r.srcErrMu.Unlock()
				}
			}(ch, i, src)
		}
	}
	r.wg.Add(1)
	go r.watchHotplug(ctx)
	r.state = started
	return nil
}

// watchHotplug starts a stream for each CPU coming online and ends the
// reader of each CPU going offline, checking the online CPUs every
// hotplugPeriod.
func (r *Recorder) watchHotplug(ctx context.Context) {
	defer r.wg.Done()
	t := time.NewTicker(hotplugPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.hotplug(ctx)
	}
}

// hotplugPeriod is how often the online CPUs are checked.
const hotplugPeriod = time.Second

// hotplug compares the online CPUs (r.onlineCPUs) with the running
// streams once.
func (r *Recorder) hotplug(ctx context.Context) {
	r.hpMu.Lock()
	defer r.hpMu.Unlock()
	cpus, err := r.onlineCPUs()
	if err != nil {
		return
	}
	online := map[CPU]bool{}
	for _, c := range cpus {
		online[CPU(c)] = true
	}
	for _, ch := range r.chans {
		for _, c := range cpus {
			if !ch.running(CPU(c)) {
				r.cfg.Logf("cpu %d online: stream %s_%d", c, ch.cfg.Name, c)
				if err := ch.startCPU(ctx, CPU(c)); err != nil {
					r.cfg.Logf("cpu %d: %v", c, err)
				}
			}
		}
		ch.stopOffline(online)
	}
}

// Stop stops recording: tracing off, sources stopped, every buffer read to
// its end and every open packet flushed. The trace on disk is complete and
// readable when Stop returns.
func (r *Recorder) Stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != started {
		return fmt.Errorf("stop session %q: %w: %s", r.cfg.Session, ErrState, r.state)
	}
	var first error
	for _, ch := range r.chans {
		if err := ch.inst.SetTracing(false); err != nil && first == nil {
			first = err
		}
	}
	r.srcStop()
	r.srcWG.Wait()
	r.cancel()
	r.wg.Wait()
	for _, ch := range r.chans {
		if err := ch.err(); err != nil && first == nil {
			first = err
		}
	}
	if err := r.flushMetadata(); err != nil && first == nil {
		first = err
	}
	r.state = stopped
	return first
}

// Destroy stops the recorder if needed, ends every stream, closes the
// output and removes the tracefs instances.
func (r *Recorder) Destroy() error {
	var first error
	r.mu.Lock()
	st := r.state
	r.mu.Unlock()
	if st == destroyed {
		return nil
	}
	if st == started {
		first = r.Stop()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	end := uint64(Now())
	for _, ch := range r.chans {
		for _, s := range ch.allStreams() {
			if err := s.st.Close(end); err != nil && first == nil {
				first = err
			}
		}
	}
	if err := r.sink.Close(); err != nil && first == nil {
		first = err
	}
	r.removeInstances()
	r.state = destroyed
	return first
}

// CPUStats are the figures of one stream.
type CPUStats struct {
	Channel string
	CPU     CPU
	Events  uint64 // events written
	Lost    uint64 // events discarded (tracefs buffer full, source lost)
}

// Stats returns the figures of every stream.
func (r *Recorder) Stats() []CPUStats {
	var out []CPUStats
	for _, ch := range r.chans {
		for _, s := range ch.allStreams() {
			out = append(out, CPUStats{Channel: ch.cfg.Name, CPU: s.cpu,
				Events: s.nEvents.Load(), Lost: s.nLost.Load()})
		}
	}
	return out
}

// Lost returns the total of events discarded so far.
func (r *Recorder) Lost() uint64 {
	var n uint64
	for _, s := range r.Stats() {
		n += s.Lost
	}
	return n
}

// statedumpSource runs the statedump as an event source of the first
// channel, in the stream of the lowest online CPU.
type statedumpSource struct {
	d    *statedump.Dumper
	ch   *channel
	cpu  CPU
	pids []int32
}

func (s *statedumpSource) Name() string                  { return "statedump" }
func (s *statedumpSource) Classes() []*writer.EventClass { return s.d.Classes() }
func (s *statedumpSource) Run(ctx context.Context, out *Emitter) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	err := s.d.Run(func(c *writer.EventClass, tid int32, payload []byte) {
		out.Emit(s.cpu, Now(), tid, c, payload)
	})
	out.Watermark(Now())
	return err
}

var _ = atomic.Uint64{}

package record

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/ftrace"
	"github.com/tracetop/tracetop/internal/statedump"
)

// readSlack is how far behind the moment a buffer was found empty the
// tracefs watermark stays: an event reserved just before may still be
// committing.
const readSlack = Timestamp(2 * time.Millisecond)

const cloneThread = 0x00010000

type ctxKind uint8

const (
	ctxPid ctxKind = iota
	ctxTid
	ctxVpid
	ctxVtid
	ctxPpid
	ctxVppid
	ctxProcname
	ctxPrio
	ctxNice
	ctxCPU
	ctxPerf // a perf counter: 8 bytes, filled from BPF values (see perf.go)
)

var contextFields = map[string]struct {
	k ctxKind
	f writer.Field
}{
	"pid":      {ctxPid, writer.I32("pid")},
	"tid":      {ctxTid, writer.I32("tid")},
	"vpid":     {ctxVpid, writer.I32("vpid")},
	"vtid":     {ctxVtid, writer.I32("vtid")},
	"ppid":     {ctxPpid, writer.I32("ppid")},
	"vppid":    {ctxVppid, writer.I32("vppid")},
	"procname": {ctxProcname, writer.Comm("procname")},
	"prio":     {ctxPrio, writer.I32("prio")},
	"nice":     {ctxNice, writer.I32("nice")},
	"cpu_id":   {ctxCPU, writer.I32("cpu_id")},
}

type channel struct {
	rec   *Recorder
	cfg   Channel
	id    uint32
	inst  *ftrace.Instance
	page  ftrace.PageLayout
	convs []*conv // by tracefs event id
	ctxs  []ctxKind
	perf  perfContexts
	srcs  []EventSource
	dump  *statedumpSource
	own   *bpfSource      // the recorder's own BPF fork and switch programs, nil when sources or tracefs record them
	marks []atomic.Uint64 // per source watermark

	mu      sync.Mutex
	streams map[CPU]*cpuStream
	firstEr error
}

func (r *Recorder) newChannel(id uint32, cfg Channel, avail []ftrace.EventName, withDump bool) (_ *channel, retErr error) {
	ch := &channel{rec: r, cfg: cfg, id: id, page: r.fs.PageLayout(), streams: map[CPU]*cpuStream{}}
	sc := writer.StreamClass{ID: id}
	ctxSize := 0
	for _, name := range cfg.Contexts {
		name = strings.TrimSpace(name)
		if sp, isPerf, err := CheckContext(name); isPerf {
			if err != nil {
				return nil, fmt.Errorf("channel %q: %w", cfg.Name, err)
			}
			ch.ctxs = append(ch.ctxs, ctxPerf)
			ch.perf.add(sp, ctxSize)
			sc.Context = append(sc.Context, writer.U64(sp.Field()))
			ctxSize += 8
			continue
		}
		c, ok := contextFields[name]
		if !ok {
			return nil, fmt.Errorf("channel %q: context %q not supported (have pid, tid, vpid, vtid, ppid, vppid, procname, prio, nice, cpu_id, perf:cpu:NAME, perf:thread:NAME)", cfg.Name, name)
		}
		ch.ctxs = append(ch.ctxs, c.k)
		sc.Context = append(sc.Context, c.f)
		ctxSize += fieldSize(c.f)
	}
	if len(ch.perf.specs) > 0 {
		if err := ch.perf.provide(cfg); err != nil {
			return nil, fmt.Errorf("channel %q: %w", cfg.Name, err)
		}
	}
	if err := r.md.AddStream(sc); err != nil {
		return nil, err
	}
	tracefsSys := !cfg.NoTracefsSyscalls
	for _, s := range cfg.Sources {
		if p, ok := s.(SyscallProvider); ok && p.ProvidesSyscalls() {
			tracefsSys = false
			r.strings = true
		}
	}
	if len(cfg.Syscalls) > 0 && tracefsSys {
		r.cfg.Logf("channel %q: syscalls from tracefs: no user-space strings (paths) without the eBPF source", cfg.Name)
	}
	sels, err := selectEvents(avail, cfg.Events, cfg.Syscalls, tracefsSys)
	if err != nil {
		return nil, fmt.Errorf("channel %q: %w", cfg.Name, err)
	}
	// Sources that record a tracepoint better than tracefs take it over.
	if len(cfg.Sources) > 0 && len(sels) > 0 {
		names := make([]string, len(sels))
		for i, s := range sels {
			names[i] = s.name
		}
		taken := map[string]bool{}
		for _, src := range cfg.Sources {
			if p, ok := src.(TracepointProvider); ok {
				for _, n := range p.ProvideTracepoints(names) {
					taken[n] = true
				}
			}
		}
		sels = slices.DeleteFunc(sels, func(s selection) bool { return s.sys == 0 && taken[s.name] })
	}
	// Without a source taking them, sched_process_fork and sched_switch
	// come from BPF programs of the recorder's own when the kernel has
	// BPF (bpfSource says why).
	var own []string
	for _, name := range []string{"sched_process_fork", "sched_switch"} {
		if (name == "sched_process_fork" && r.cfg.NoBPFFork) || (name == "sched_switch" && r.cfg.NoBPFSwitch) {
			continue
		}
		if slices.ContainsFunc(sels, func(s selection) bool { return s.sys == 0 && s.name == name }) {
			own = append(own, name)
		}
	}
	if len(own) > 0 {
		if bs, err := newBPFSource(slices.Contains(own, "sched_process_fork"), slices.Contains(own, "sched_switch")); err == nil {
			if len(ch.ctxs) > 0 {
				bs.onSwitch = r.procs.setComm
			}
			ch.own = bs
			sels = slices.DeleteFunc(sels, func(s selection) bool { return s.sys == 0 && slices.Contains(own, s.name) })
		} else {
			r.cfg.Logf("channel %q: %s from tracefs (fork: ids in nested pid namespaces from /proc, while the child lives; switch: may miss those of idle tasks): %v", cfg.Name, strings.Join(own, " and "), err)
		}
	}
	// sched_process_fork needs the clone flags of task_newtask to tell a
	// thread from a process.
	hasFork, hasNewtask := false, false
	for _, s := range sels {
		hasFork = hasFork || s.tp == tp("sched", "sched_process_fork")
		hasNewtask = hasNewtask || s.tp == tp("task", "task_newtask")
	}
	hiddenNewtask := false
	if hasFork && !hasNewtask && slices.Contains(avail, tp("task", "task_newtask")) {
		sels = append(sels, selection{tp: tp("task", "task_newtask"), name: "task_newtask"})
		hiddenNewtask = true
	}
	inst, err := r.fs.NewInstance(sanitize(r.cfg.Session) + "-" + sanitize(cfg.Name))
	if err != nil {
		return nil, err
	}
	ch.inst = inst
	// A channel that fails from here on removes its instance: the caller
	// only knows of the channels returned, and a session retried under the
	// same name would find the instance in its way.
	defer func() {
		if retErr != nil {
			if err := inst.Remove(); err != nil {
				r.cfg.Logf("%v", err)
			}
			if ch.own != nil {
				ch.own.Close()
			}
		}
	}()
	kb := cfg.SubbufSize * cfg.SubbufCount / 1024
	if err := inst.SetBufferSizeKB(kb); err != nil {
		return nil, fmt.Errorf("channel %q: %w: %d KiB per CPU (%v); choose smaller or fewer sub-buffers (lttng enable-channel --subbuf-size, --num-subbuf)", cfg.Name, ErrBufferRefused, kb, err)
	}
	if r.cfg.LeaveOutSelf {
		if err := inst.LeaveOut(os.Getpid()); err != nil {
			return nil, fmt.Errorf("channel %q: %w", cfg.Name, err)
		}
	}
	if err := inst.SetClock("mono"); err != nil {
		return nil, fmt.Errorf("channel %q: trace clock mono: %w", cfg.Name, err)
	}
	if err := inst.SetOverwrite(cfg.Overwrite); err != nil {
		return nil, err
	}
	_ = inst.SetBufferPercent(25)
	for _, s := range sels {
		fm, err := r.fs.Format(s.tp.System, s.tp.Name)
		if err != nil {
			return nil, fmt.Errorf("channel %q: %w", cfg.Name, err)
		}
		c, err := buildConv(s, fm, id)
		if err != nil {
			return nil, fmt.Errorf("channel %q: %w", cfg.Name, err)
		}
		if s.tp == tp("task", "task_newtask") {
			c.newtask = true
			c.hidden = hiddenNewtask
		}
		if !c.hidden {
			if c.class, err = r.md.Add(c.class); err != nil {
				return nil, err
			}
		}
		for int(fm.ID) >= len(ch.convs) {
			ch.convs = append(ch.convs, nil)
		}
		ch.convs[fm.ID] = c
		if err := inst.Enable(s.tp, true); err != nil {
			return nil, fmt.Errorf("channel %q: enable %s: %w", cfg.Name, s.tp, err)
		}
	}
	ch.srcs = append(ch.srcs, cfg.Sources...)
	if ch.own != nil {
		ch.srcs = append(ch.srcs, ch.own)
	}
	if withDump {
		cpus, _ := ftrace.OnlineCPUs()
		cpu := CPU(0)
		if len(cpus) > 0 {
			cpu = CPU(cpus[0])
		}
		ch.dump = &statedumpSource{d: statedump.New(), ch: ch, cpu: cpu}
		ch.srcs = append(ch.srcs, ch.dump)
	}
	for _, src := range ch.srcs {
		for _, c := range src.Classes() {
			c.Stream = id
			if _, err := r.md.Add(c); err != nil {
				return nil, fmt.Errorf("event source %s: %w", src.Name(), err)
			}
		}
	}
	ch.marks = make([]atomic.Uint64, len(ch.srcs))
	return ch, nil
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}

func (ch *channel) resetMarks(now Timestamp) {
	for i := range ch.marks {
		ch.marks[i].Store(0)
	}
}

func (ch *channel) markDone(src int) { ch.marks[src].Store(math.MaxUint64) }

func (ch *channel) watermark(src int, ts Timestamp) {
	for {
		old := ch.marks[src].Load()
		if uint64(ts) <= old || ch.marks[src].CompareAndSwap(old, uint64(ts)) {
			return
		}
	}
}

// sourceMark is the lowest watermark of the channel's sources.
func (ch *channel) sourceMark() Timestamp {
	m := uint64(math.MaxUint64)
	for i := range ch.marks {
		m = min(m, ch.marks[i].Load())
	}
	return Timestamp(m)
}

func (ch *channel) stream(cpu CPU) *cpuStream {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.streams[cpu]
}

func (ch *channel) allStreams() []*cpuStream {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	out := make([]*cpuStream, 0, len(ch.streams))
	for _, s := range ch.streams {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *cpuStream) int { return int(a.cpu) - int(b.cpu) })
	return out
}

func (ch *channel) running(cpu CPU) bool {
	s := ch.stream(cpu)
	return s != nil && s.active.Load()
}

func (ch *channel) setErr(err error) {
	ch.mu.Lock()
	if ch.firstEr == nil {
		ch.firstEr = err
	}
	ch.mu.Unlock()
}

func (ch *channel) err() error {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.firstEr
}

func (ch *channel) emit(cpu CPU, ts Timestamp, tid int32, class *writer.EventClass, payload []byte) {
	ch.emitPerf(cpu, ts, tid, class, payload, nil, nil)
}

// emitPerf queues an event whose perf contexts are at (the values at the
// event) and after (the values of the CPU's current thread after it: the
// next task's for a context switch); both nil when the source has none.
func (ch *channel) emitPerf(cpu CPU, ts Timestamp, tid int32, class *writer.EventClass, payload []byte, at, after []uint64) {
	s := ch.stream(cpu)
	if s == nil {
		return
	}
	s.xmu.Lock()
	if !s.active.Load() {
		s.xmu.Unlock()
		s.nLost.Add(1)
		return
	}
	off := len(s.xarena)
	s.xarena = s.encodeCtx(s.xarena, tid)
	n := len(s.xarena) - off
	if at != nil {
		ch.perf.set(s.xarena[off:off+n], at)
	}
	s.xarena = append(s.xarena, payload...)
	end := len(s.xarena)
	if after != nil && len(ch.perf.specs) > 0 {
		for i := range ch.perf.specs {
			s.xarena = binary.LittleEndian.AppendUint64(s.xarena, after[i])
		}
	}
	id := uint32(noEvent)
	if class != nil {
		id = class.ID
	}
	s.xq = append(s.xq, pevent{ts: ts, id: id, off: int32(off), ctx: int32(n), n: int32(end - off), x: int32(len(s.xarena) - end)})
	s.xmu.Unlock()
}

func (ch *channel) lost(cpu CPU, n uint64) {
	if s := ch.stream(cpu); s != nil {
		s.lostMu.Lock()
		s.srcLost += n
		s.lostMu.Unlock()
	}
}

// stopOffline ends the readers of CPUs that went offline.
func (ch *channel) stopOffline(online map[CPU]bool) {
	for _, s := range ch.allStreams() {
		if s.active.Load() && !online[s.cpu] {
			ch.rec.cfg.Logf("cpu %d offline: stream %s ends", s.cpu, s.st.Name())
			s.stopCPU()
		}
	}
}

// noEvent is the id of a queued entry that is not written, only read for
// the perf values it brings (a context switch the channel does not record).
const noEvent = 1<<32 - 1

// pevent is one converted event waiting to be written: its bytes (context
// then payload) are arena[off:off+n].
type pevent struct {
	ts          Timestamp
	id          uint32
	off, ctx, n int32
	// x is the length of the perf values after the event's bytes (the
	// values the CPU's current thread has after it, 0 when the event
	// brings none): arena[off+n:off+n+x].
	x int32
}

// cpuStream is the reader of one CPU of one channel and its CTF stream.
type cpuStream struct {
	ch     *channel
	cpu    CPU
	st     *writer.Stream
	rd     *ftrace.CPUReader
	active atomic.Bool
	cancel context.CancelFunc
	done   chan struct{}

	buf   []byte
	pg    ftrace.Page
	pend  []pevent
	arena []byte

	xmu      sync.Mutex
	xq       []pevent
	xarena   []byte
	xl       []pevent // taken from xq, not yet written
	xlar     []byte
	xscratch []byte

	lostMu  sync.Mutex
	srcLost uint64

	pay       writer.Payload
	mark      Timestamp
	lastFlush time.Time
	lastLive  time.Time
	lastPerf  [maxPerf]uint64 // perf contexts of the CPU's current thread, as of the last event that had them
	newtask   struct {
		pid   int32
		flags uint64
	}
	kernelLost uint64 // lost events counted from page flags
	livePacket bool   // the live timer has written a packet (later ticks may send beacons)
	nEvents    atomic.Uint64
	nLost      atomic.Uint64
}

func (ch *channel) startCPU(ctx context.Context, cpu CPU) error {
	// The reader first: a CPU tracefs does not know gets no stream file.
	rd, err := ch.inst.OpenCPU(int(cpu))
	if err != nil {
		return err
	}
	ch.mu.Lock()
	s := ch.streams[cpu]
	if s == nil {
		st, err := writer.NewStream(writer.StreamConfig{
			Name:        fmt.Sprintf("%s_%d", ch.cfg.Name, cpu),
			StreamClass: ch.id,
			InstanceID:  uint64(ch.id)<<32 | uint64(cpu),
			CPU:         uint32(cpu),
			PacketSize:  ch.cfg.SubbufSize,
			UUID:        ch.rec.uuid,
		}, ch.rec.sink)
		if err != nil {
			ch.mu.Unlock()
			rd.Close()
			return err
		}
		s = &cpuStream{ch: ch, cpu: cpu, st: st, buf: make([]byte, ch.page.PageSize)}
		ch.streams[cpu] = s
	}
	ch.mu.Unlock()
	s.rd = rd
	cctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.done = make(chan struct{})
	s.lastFlush, s.lastLive = time.Now(), time.Now()
	s.active.Store(true)
	ch.rec.wg.Add(1)
	go s.run(cctx)
	return nil
}

func (s *cpuStream) stopCPU() {
	s.cancel()
	<-s.done
}

func (s *cpuStream) run(ctx context.Context) {
	defer s.ch.rec.wg.Done()
	defer close(s.done)
	// Wake up when the buffer is a quarter full (buffer_percent) or at
	// each read-timer period, whichever comes first.
	wait := s.ch.cfg.ReadTimer
	if lt := s.ch.cfg.LiveTimer; lt > 0 && lt < wait {
		wait = lt
	}
	if sw := s.ch.cfg.SwitchTimer; sw > 0 && sw < wait {
		wait = sw
	}
	period := wait                         // the live and switch timers shorten the read period
	wait = min(wait, 100*time.Millisecond) // bounds the delay of Stop
	last := time.Now()
	for {
		if ctx.Err() != nil {
			s.finish()
			return
		}
		ready, err := s.rd.Wait(wait)
		if err != nil {
			s.ch.setErr(err)
			time.Sleep(wait)
		}
		if !ready && time.Since(last) < period && ctx.Err() == nil {
			continue
		}
		last = time.Now()
		if err := s.poll(false); err != nil {
			s.ch.setErr(err)
			s.ch.rec.cfg.Logf("%v", err)
		}
	}
}

// finish drains the buffer, writes everything and flushes the packet.
func (s *cpuStream) finish() {
	s.xmu.Lock()
	s.active.Store(false)
	s.xmu.Unlock()
	if err := s.poll(true); err != nil {
		s.ch.setErr(err)
	}
	// Count losses the page flags did not tell (overwrite mode overruns).
	if st, err := s.ch.inst.Stats(int(s.cpu)); err == nil {
		k := st.Overrun + st.DroppedEvents
		if k > s.kernelLost {
			s.st.AddDiscarded(k - s.kernelLost)
			s.nLost.Add(k - s.kernelLost)
			s.kernelLost = k
		}
	}
	end := uint64(Now())
	var err error
	if s.st.Events() == 0 {
		err = s.st.Beacon(end) // every stream file holds at least one packet
	} else {
		err = s.st.Flush(end)
	}
	if err != nil {
		s.ch.setErr(err)
	}
	s.rd.Close()
}

// poll reads every page the buffer holds, converts the records, and
// writes the events older than every source's watermark.
func (s *cpuStream) poll(final bool) error {
	for {
		t0 := Now()
		n, err := s.rd.ReadPage(s.buf)
		if err == ftrace.ErrNoData {
			if t0 > readSlack {
				s.mark = max(s.mark, t0-readSlack)
			}
			break
		}
		if err != nil {
			return err
		}
		if err := s.page(s.buf[:n]); err != nil {
			s.ch.rec.cfg.Logf("%s: %v", s.st.Name(), err)
		}
	}
	limit := s.mark
	if final {
		limit = math.MaxUint64
	} else {
		limit = min(limit, s.ch.sourceMark())
	}
	s.lostMu.Lock()
	if s.srcLost > 0 {
		s.st.AddDiscarded(s.srcLost)
		s.nLost.Add(s.srcLost)
		s.srcLost = 0
	}
	s.lostMu.Unlock()
	if err := s.write(limit); err != nil {
		return err
	}
	now := time.Now()
	if sw := s.ch.cfg.SwitchTimer; sw > 0 && now.Sub(s.lastFlush) >= sw && !final {
		s.lastFlush = now
		if err := s.st.Flush(uint64(min(limit, s.mark))); err != nil {
			return err
		}
	}
	if lt := s.ch.cfg.LiveTimer; lt > 0 && now.Sub(s.lastLive) >= lt && !final {
		s.lastLive = now
		end := max(uint64(min(limit, s.mark)), s.st.Last())
		h := s.ch.rec.cfg.Live
		// With a hook (a relay), an idle stream sends an index-only
		// beacon instead of an empty packet, as LTTng's consumer does;
		// only its first tick writes a packet, since a relay ignores the
		// beacons of a stream that has none.
		var err error
		if h == nil || !s.livePacket && s.st.Events() == 0 {
			err = s.st.Beacon(end)
			s.livePacket = true
		} else {
			err = s.st.Flush(end)
		}
		if err != nil {
			return err
		}
		if h != nil {
			h(s.st.Name(), Timestamp(end))
		}
	}
	return nil
}

// page converts the records of one ring-buffer page into pend.
func (s *cpuStream) page(b []byte) error {
	if err := s.pg.Reset(b, s.ch.page); err != nil {
		return err
	}
	if missed, n := s.pg.Missed(); missed {
		if n == 0 {
			n = 1
		}
		s.kernelLost += n
		s.st.AddDiscarded(n)
		s.nLost.Add(n)
	}
	var rec ftrace.Record
	for s.pg.Next(&rec) {
		s.record(Timestamp(rec.TS), rec.Data)
	}
	return s.pg.Err()
}

func (s *cpuStream) record(ts Timestamp, data []byte) {
	if len(data) < 8 {
		return
	}
	id := uint16(data[0]) | uint16(data[1])<<8
	if int(id) >= len(s.ch.convs) || s.ch.convs[id] == nil {
		return
	}
	c := s.ch.convs[id]
	tid := int32(c.pid.Int(data))
	if c.newtask {
		if f := c.fmt.Field("clone_flags"); f != nil {
			s.newtask.flags = f.Int(data)
		}
		if f := c.fmt.Field("pid"); f != nil {
			s.newtask.pid = int32(f.Int(data))
		}
		if c.hidden {
			return
		}
	}
	off := len(s.arena)
	s.arena = s.encodeCtx(s.arena, tid)
	nctx := len(s.arena) - off
	s.pay.B = s.arena
	if c.fork {
		s.encodeFork(c, data)
	} else {
		c.encode(&s.pay, data)
	}
	s.arena = s.pay.B
	s.pend = append(s.pend, pevent{ts: ts, id: c.class.ID, off: int32(off), ctx: int32(nctx), n: int32(len(s.arena) - off)})
	s.track(c, data)
}

// track keeps the thread cache in step with the records.
func (s *cpuStream) track(c *conv, data []byte) {
	switch c.class.Name {
	case "sched_process_exec":
		if f := c.fmt.Field("pid"); f != nil {
			s.ch.rec.procs.forget(int32(f.Int(data)))
		}
	case "sched_process_free":
		if f := c.fmt.Field("pid"); f != nil {
			s.ch.rec.procs.forget(int32(f.Int(data)))
		}
	case "sched_switch":
		if len(s.ch.ctxs) > 0 {
			if f, p := c.fmt.Field("next_comm"), c.fmt.Field("next_pid"); f != nil && p != nil {
				prio := c.fmt.Field("next_prio")
				s.ch.rec.procs.setComm(int32(p.Int(data)), f.Bytes(data), int32(prio.Int(data)))
			}
		}
	}
}

// encodeFork writes sched_process_fork in lttng-modules 2.13's layout.
// tracefs gives thread ids only; the rest comes from the clone flags of
// the task_newtask record just before and from /proc. A new process may
// live in a pid namespace of its own (the first child after
// unshare(CLONE_NEWPID) is its pid 1): its ids there and the namespace
// inode are read from /proc/CHILD while the child exists; once it has
// exited, the namespace is its parent's pid_for_children and the ids
// inside it are unknown (0). The BPF source (events.Source) records
// sched_process_fork exactly and takes it over when present.
func (s *cpuStream) encodeFork(c *conv, data []byte) {
	fm := c.fmt
	ptid := int32(fm.Field("parent_pid").Int(data))
	ctid := int32(fm.Field("child_pid").Int(data))
	procs := s.ch.rec.procs
	parent := procs.get(ptid)
	var child procInfo
	if s.newtask.pid == ctid {
		child = forkChild(parent, ptid, ctid, s.newtask.flags)
		procs.put(ctid, child)
	} else {
		child = procs.get(ctid)
	}
	p := &s.pay
	p.Text(fm.Field("parent_comm").Bytes(data), 16)
	p.I32(ptid)
	p.I32(parent.tgid)
	p.U32(parent.pidns)
	p.Text(fm.Field("child_comm").Bytes(data), 16)
	p.I32(ctid)
	vt := child.vtids
	if len(vt) == 0 {
		vt = []int32{ctid}
	}
	if len(vt) > 255 {
		vt = vt[:255]
	}
	p.U8(uint8(len(vt)))
	for _, v := range vt {
		p.I32(v)
	}
	p.I32(child.tgid)
	p.U32(child.pidns)
}

// forkChild returns what is known of a task just created by parent ptid
// with clone flags.
func forkChild(parent procInfo, ptid, ctid int32, flags uint64) procInfo {
	if flags&cloneThread != 0 {
		// A thread shares its process's pid namespace (the kernel refuses
		// CLONE_THREAD across namespaces): its ids come from /proc when it
		// is still there, else from its process.
		if rp := readProc(ctid); rp.known && rp.tgid == parent.tgid {
			return rp
		}
		child := procInfo{known: true, tgid: parent.tgid, ppid: parent.ppid, vppid: parent.vppid,
			pidns: parent.pidns, vpids: parent.vpids, vtids: []int32{ctid}}
		if len(parent.vtids) > 1 {
			child.vtids = make([]int32, len(parent.vtids)) // inner ids unknown
			child.vtids[0] = ctid
		}
		return child
	}
	if rp := readProc(ctid); rp.known && rp.ppid == parent.tgid {
		return rp
	}
	// The child has gone: its namespace is the parent's pid_for_children.
	child := procInfo{known: true, tgid: ctid, ppid: parent.tgid, pidns: parent.pidns}
	depth := len(parent.vtids)
	if depth == 0 {
		depth = 1
	}
	if ns := nsInode(ptid, "pid_for_children"); ns != 0 && ns != parent.pidns {
		child.pidns = ns
		depth++
	}
	child.vtids = make([]int32, depth)
	child.vtids[0] = ctid
	if depth == 1 {
		child.vppid = parent.tgid
	} else if depth == len(parent.vpids) {
		child.vppid = parent.vpids[depth-1]
	}
	child.vpids = child.vtids
	return child
}

// encodeCtx appends the channel's context fields for thread tid.
func (s *cpuStream) encodeCtx(b []byte, tid int32) []byte {
	if len(s.ch.ctxs) == 0 {
		return b
	}
	var pi procInfo
	need := false
	for _, k := range s.ch.ctxs {
		need = need || k != ctxTid && k != ctxCPU && k != ctxPerf
	}
	if need && tid > 0 {
		pi = s.ch.rec.procs.get(tid)
	}
	p := writer.Payload{B: b}
	last := func(v []int32, d int32) int32 {
		if len(v) == 0 {
			return d
		}
		return v[len(v)-1]
	}
	for _, k := range s.ch.ctxs {
		switch k {
		case ctxPid:
			p.I32(pi.tgid)
		case ctxTid:
			p.I32(tid)
		case ctxVpid:
			p.I32(last(pi.vpids, pi.tgid))
		case ctxVtid:
			p.I32(last(pi.vtids, tid))
		case ctxPpid:
			p.I32(pi.ppid)
		case ctxVppid:
			p.I32(pi.vppid)
		case ctxProcname:
			p.Text(pi.comm[:], 16)
		case ctxPrio:
			p.I32(pi.prio)
		case ctxNice:
			p.I32(pi.prio - 120)
		case ctxCPU:
			p.I32(int32(s.cpu))
		case ctxPerf:
			p.U64(0) // set at write time (patchPerf)
		}
	}
	return p.B
}

// write merges the pending tracefs events and source events and writes
// those at or before limit, in time order.
func (s *cpuStream) write(limit Timestamp) error {
	s.xmu.Lock()
	if len(s.xq) > 0 {
		base := int32(len(s.xlar))
		s.xlar = append(s.xlar, s.xarena...)
		for _, e := range s.xq {
			e.off += base
			s.xl = append(s.xl, e)
		}
		s.xq, s.xarena = s.xq[:0], s.xarena[:0]
	}
	s.xmu.Unlock()
	if len(s.xl) > 1 {
		slices.SortStableFunc(s.xl, func(a, b pevent) int {
			switch {
			case a.ts < b.ts:
				return -1
			case a.ts > b.ts:
				return 1
			}
			return 0
		})
	}
	i, j := 0, 0
	var werr error
	for werr == nil {
		var e pevent
		var ar []byte
		switch {
		case i < len(s.pend) && (j >= len(s.xl) || s.pend[i].ts <= s.xl[j].ts):
			if s.pend[i].ts > limit {
				goto done
			}
			e, ar = s.pend[i], s.arena
			i++
		case j < len(s.xl):
			if s.xl[j].ts > limit {
				goto done
			}
			e, ar = s.xl[j], s.xlar
			j++
		default:
			goto done
		}
		b := ar[e.off : e.off+e.n]
		if len(s.ch.perf.specs) > 0 {
			s.patchPerf(b[:e.ctx], ar[e.off+e.n:e.off+e.n+e.x])
		}
		if e.id == noEvent {
			continue // it only brought perf values
		}
		werr = s.st.Append(uint64(e.ts), e.id, b[:e.ctx], b[e.ctx:])
		s.nEvents.Add(1)
	}
done:
	s.pend, s.arena = compact(s.pend, s.arena, i)
	s.xl, s.xlar, s.xscratch = compactCopy(s.xl, s.xlar, s.xscratch, j)
	if werr != nil && !errors.Is(werr, writer.ErrClosed) {
		return werr
	}
	return nil
}

// compact drops the first n events and moves the bytes of the others to
// the front of the arena.
func compact(evs []pevent, ar []byte, n int) ([]pevent, []byte) {
	if n == 0 {
		return evs, ar
	}
	if n == len(evs) {
		return evs[:0], ar[:0]
	}
	rest := evs[n:]
	start := rest[0].off
	copy(ar, ar[start:])
	ar = ar[:len(ar)-int(start)]
	k := copy(evs, rest)
	evs = evs[:k]
	for i := range evs {
		evs[i].off -= start
	}
	return evs, ar
}

// compactCopy drops the first n events of evs, whose bytes lie anywhere in
// ar, copying the bytes of the others into scratch; it returns the new
// events, arena and scratch (the old arena).
func compactCopy(evs []pevent, ar, scratch []byte, n int) ([]pevent, []byte, []byte) {
	if n == 0 {
		return evs, ar, scratch
	}
	if n == len(evs) {
		return evs[:0], ar[:0], scratch
	}
	scratch = scratch[:0]
	k := copy(evs, evs[n:])
	evs = evs[:k]
	for i := range evs {
		e := &evs[i]
		off := int32(len(scratch))
		scratch = append(scratch, ar[e.off:e.off+e.n+e.x]...)
		e.off = off
	}
	return evs, scratch, ar[:0]
}

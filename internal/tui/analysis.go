package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/analysis"
	"github.com/tracetop/tracetop/internal/state"
)

// AnalysisOptions configure an AnalysisSource.
type AnalysisOptions struct {
	// Live says the source grows (a live session): the top follows its
	// newest events instead of replaying it at its pace.
	Live bool
	// Interval is the interval the top starts with; the history keeps
	// the figures of these intervals from its forward pass.
	Interval time.Duration
	// Lag, when set, says how far a relay is behind real time.
	Lag func() time.Duration
	// Keep is how many intervals of figures the forward pass keeps in
	// memory (default 3600).
	Keep int
	// Slot is the step a live top moves by (default 200 ms, at most the
	// interval): the forward pass keeps figures per slot, and the shown
	// interval, [end - Interval, end[, ends at the newest complete slot.
	Slot time.Duration
}

// DefaultSlot is the step of a live top: the newest interval is shown
// at most this long after its events are complete.
const DefaultSlot = 200 * time.Millisecond

// AnalysisSource is the Source of the top on a trace: it reads a
// ctf.Source forward in a goroutine into an analysis.History, and answers
// any interval from it (the intervals of the forward pass from memory,
// others by replaying from the nearest checkpoint).
type AnalysisSource struct {
	opt   AnalysisOptions
	chunk int64

	mu   sync.Mutex // guards h and last
	h    *analysis.History
	last *Frame // the last frame of a live session (asked again until the next slot)

	cs     *countingSource
	closed atomic.Int64 // the end of the newest window of the forward pass closed
	done   atomic.Bool
	behind atomic.Bool
	err    atomic.Pointer[error]
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// NewAnalysisSource opens a trace with open (called again by the history
// to replay; it must give the same messages each time) and starts reading
// it. Close stops the reading and closes the trace.
func NewAnalysisSource(open analysis.Opener, opt AnalysisOptions) (*AnalysisSource, error) {
	if opt.Interval <= 0 {
		opt.Interval = time.Second
	}
	if opt.Keep <= 0 {
		opt.Keep = 3600
	}
	src, err := open()
	if err != nil {
		return nil, err
	}
	if t, ok := src.(*Tail); ok {
		t.NonBlocking = true // waited for outside the lock (ingest)
	}
	s := &AnalysisSource{opt: opt, cs: &countingSource{Source: src}}
	s.chunk = min(int64(opt.Interval), int64(100*time.Millisecond))
	reopen := open
	if opt.Live {
		reopen = nil // a live session is read once; its history is what was read
	}
	hopt := analysis.Options{Interval: int64(opt.Interval), KeepIntervals: opt.Keep}
	if opt.Live {
		if opt.Slot <= 0 {
			opt.Slot = DefaultSlot
		}
		hopt.Slot = int64(min(opt.Slot, opt.Interval))
		s.opt.Slot = opt.Slot
	}
	s.h = analysis.NewHistorySource(s.cs, reopen, hopt)
	if opt.Live {
		s.opt.Slot = time.Duration(s.h.Step())
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.wg.Add(1)
	go s.ingest(ctx)
	return s, nil
}

// countingSource watches the messages the history reads: the first and
// newest times, and the events lost.
type countingSource struct {
	ctf.Source
	started atomic.Bool
	first   atomic.Int64
	last    atomic.Int64
	lost    atomic.Uint64
}

func (c *countingSource) Read(ev *ctf.Event) error {
	err := c.Source.Read(ev)
	if err != nil {
		return err
	}
	if ev.Kind == ctf.KindDiscarded || ev.Kind == ctf.KindLostPackets {
		c.lost.Add(ev.Count)
	}
	if ev.HasTime || ev.NS != 0 {
		if c.started.CompareAndSwap(false, true) {
			c.first.Store(ev.NS)
		}
		if ev.NS > c.last.Load() {
			c.last.Store(ev.NS)
		}
	}
	return nil
}

// Streams lists the data streams of the source, when it knows them.
func (c *countingSource) Streams() []*ctf.Stream {
	if s, ok := c.Source.(interface{ Streams() []*ctf.Stream }); ok {
		return s.Streams()
	}
	return nil
}

// SeekTime lets the history seek the source it reads forward.
func (c *countingSource) SeekTime(ns int64) error {
	if s, ok := c.Source.(analysis.Seeker); ok {
		return s.SeekTime(ns)
	}
	return errors.ErrUnsupported
}

// ingest reads the trace forward, chunk by chunk, letting Frame calls in
// between.
func (s *AnalysisSource) ingest(ctx context.Context) {
	defer s.wg.Done()
	waiter, _ := s.cs.Source.(readyWaiter)
	upTo, _ := s.cs.Source.(readUpToer)
	for ctx.Err() == nil {
		s.mu.Lock()
		var err error
		if !s.cs.started.Load() {
			err = s.h.Advance(math.MinInt64 + 1) // reads the first message only
		} else {
			first := s.cs.first.Load()
			b := first + ((s.cs.last.Load()-first)/s.chunk+1)*s.chunk
			err = s.h.Advance(b)
		}
		if err == ErrNotYet && upTo != nil {
			// Everything complete is read: the windows that end before
			// the completion mark are final, though no later event
			// came yet (an idle machine, or a CPU busy in user space).
			if e := upTo.ReadUpTo(); e > 0 {
				s.h.CloseBefore(e)
			}
		}
		s.closed.Store(s.h.Closed())
		s.mu.Unlock()
		if err == ErrNotYet && waiter != nil {
			// A live source with nothing complete yet: wait outside the
			// lock, so the screen's frames are answered meanwhile.
			if err := waiter.WaitReady(); err != nil {
				if err != io.EOF && ctx.Err() == nil {
					s.err.Store(&err)
				}
				return
			}
			continue
		}
		if err == io.EOF {
			s.done.Store(true)
			return
		}
		if err != nil {
			if ctx.Err() == nil {
				s.err.Store(&err)
			}
			return
		}
	}
}

// Span implements Source.
func (s *AnalysisSource) Span() (int64, int64, bool) {
	if !s.cs.started.Load() {
		return 0, 0, false
	}
	// A live session is analysed up to the end of its newest closed
	// window, when no event came since.
	return s.cs.first.Load(), max(s.cs.last.Load(), s.closed.Load()), true
}

// Status implements Source.
func (s *AnalysisSource) Status() Status {
	st := Status{Live: s.opt.Live, Done: s.done.Load(), Lost: s.cs.lost.Load(), Behind: s.behind.Load(), Step: s.opt.Slot}
	if e, ok := s.cs.Source.(edger); ok && s.opt.Live {
		// Catching up: the analysis is more than an interval (at least a
		// second) behind what the producer has completed.
		if edge := e.Edge(); edge > 0 && s.cs.started.Load() {
			st.Behind = edge-s.cs.last.Load() > max(int64(s.opt.Interval), int64(time.Second))
		}
	}
	if s.opt.Lag != nil {
		st.Lag = s.opt.Lag()
	}
	if e := s.err.Load(); e != nil {
		st.Err = *e
	}
	return st
}

// readUpToer is a live source that knows up to when it returned every
// event (Tail).
type readUpToer interface{ ReadUpTo() int64 }

// readyWaiter is a non-blocking live source: Read returns ErrNotYet,
// WaitReady waits for more.
type readyWaiter interface{ WaitReady() error }

// edger is a live source that knows its live edge (Tail, the live
// client): the time, in ns, up to which the producer has completed.
type edger interface{ Edge() int64 }

// Close stops reading and closes the trace.
func (s *AnalysisSource) Close() error {
	s.stop()
	s.mu.Lock()
	err := s.h.Close() // unblocks a live read
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// WaitDone blocks until the forward pass reached the end of a recorded
// trace (tests, batch use).
func (s *AnalysisSource) WaitDone() error {
	s.wg.Wait()
	if e := s.err.Load(); e != nil {
		return *e
	}
	return nil
}

// Frame implements Source.
func (s *AnalysisSource) Frame(t1, t2 int64) (*Frame, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opt.Live && !s.h.Composable(t1, t2) {
		// A live session is not read twice: an interval the top asks
		// that does not fall on the kept windows (its length is not a
		// multiple of the slot, or it is older than the slots kept) is
		// made of the nearest windows that cover it.
		if a, b, ok := s.nearest(t1, t2); ok {
			t1, t2 = a, b
		}
	}
	if s.last != nil && s.last.Start == t1 && s.last.End == t2 && s.opt.Live {
		return s.last, nil // a window of a live session once closed does not change
	}
	f, err := s.h.Figures(t1, t2)
	if err != nil {
		return nil, err
	}
	fr := convertFigures(f)
	if s.opt.Live && t2 <= s.h.Closed() {
		s.last = fr
	}
	return fr, nil
}

// nearest returns a window of kept figures close to [t1, t2[: its start
// moved back to a slot boundary, or both ends moved back to interval
// boundaries.
func (s *AnalysisSource) nearest(t1, t2 int64) (int64, int64, bool) {
	first := s.cs.first.Load()
	down := func(t, step int64) int64 {
		if t <= first || step <= 0 {
			return first
		}
		return first + (t-first)/step*step
	}
	slot, iv := int64(s.opt.Slot), int64(s.opt.Interval)
	if a := down(t1, slot); s.h.Composable(a, t2) {
		return a, t2, true
	}
	b := down(t2, iv)
	a := down(b-(t2-t1), iv)
	if b > a && s.h.Composable(a, b) {
		return a, b, true
	}
	return 0, 0, false
}

// Details implements Source.
func (s *AnalysisSource) Details(tid TID, t1, t2 int64) (*Details, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pid := state.PID(tid)
	if th := s.h.Head().Thread(state.TID(tid)); th != nil && th.PID > 0 {
		pid = th.PID
	}
	d, err := s.h.Details(pid, t1, t2)
	if err != nil {
		return nil, err
	}
	out := &Details{At: d.At}
	found := false
	for i := range d.ThreadFigures {
		tf := &d.ThreadFigures[i]
		t := convertThread(tf)
		out.Threads = append(out.Threads, t)
		if tf.TID == state.TID(tid) {
			out.Task, found = t, true
		}
	}
	if !found {
		out.Task = Task{TID: tid, PID: PID(pid), PPID: PID(d.Process.PPID), VPID: VPID(d.Process.VPID),
			Name: d.Process.Comm, Container: containerName(d.Process.NS)}
		for _, th := range d.Threads {
			if th.TID == state.TID(tid) {
				out.Task.Name, out.Task.State, out.Task.VTID = th.Comm, th.Status.Letter(), VTID(th.VTID)
			}
		}
	}
	if out.Task.PPID == 0 {
		out.Task.PPID = PID(d.Process.PPID)
	}
	if pp := s.h.Head().Process(d.Process.PPID); pp != nil {
		out.ParentName = pp.Comm
	}
	for _, c := range d.Children {
		out.Children = append(out.Children, Task{TID: TID(c.PID), PID: PID(c.PID), PPID: PID(c.PPID), Name: c.Comm})
	}
	for _, of := range d.Files {
		out.Files = append(out.Files, OpenFile{FD: of.FD, Name: of.Name, Socket: of.Kind == state.FileSocket,
			Read: of.WindowRead, Write: of.WindowWritten})
	}
	return out, nil
}

func containerName(inode uint64) string {
	if inode == 0 {
		return ""
	}
	return strconv.FormatUint(inode, 10)
}

func convertThread(tf *analysis.ThreadFigures) Task {
	t := Task{
		TID: TID(tf.TID), PID: PID(tf.PID), PPID: PID(tf.PPID), VTID: VTID(tf.VTID), VPID: VPID(tf.VPID),
		Name: tf.Comm, Container: containerName(tf.Container), State: tf.Status.Letter(),
		CPU: tf.CPUTime, Switches: tf.Switches, Born: tf.Born, Dead: tf.Died,
		Read: tf.Read, Write: tf.Written,
	}
	if t.PID == 0 {
		t.PID = PID(t.TID)
	}
	if len(tf.Perf) > 0 {
		t.Perf = make([]int64, len(tf.Perf))
		for i, v := range tf.Perf {
			t.Perf[i] = int64(v)
		}
	}
	return t
}

// convertFigures turns the analysis' figures into the screen's.
func convertFigures(f *analysis.Figures) *Frame {
	fr := &Frame{
		Start: f.Begin, End: f.End, CPUs: f.NumCPU,
		Threads: f.Running, NewThreads: f.Born, DeadThreads: f.Died,
		FDs: f.FDs, OpenedFDs: f.Opened, ClosedFDs: f.Closed,
		ReadBytes: f.Read, WriteBytes: f.Written,
		PerfNames: f.PerfNames,
		Tasks:     make([]Task, 0, len(f.Threads)),
	}
	for i := range f.Threads {
		if f.Threads[i].TID <= 0 {
			continue // the idle task
		}
		fr.Tasks = append(fr.Tasks, convertThread(&f.Threads[i]))
	}
	for i := range f.Processes {
		p := &f.Processes[i]
		for _, fl := range p.Files {
			fr.Files = append(fr.Files, FileIO{PID: PID(p.PID), FD: fl.FD, Name: fl.Name,
				Socket: fl.Kind == state.FileSocket, Read: fl.Read, Write: fl.Written})
		}
	}
	for i := range f.VMs {
		v := &f.VMs[i]
		vm := VM{PID: PID(v.PID), Name: v.Comm, CPU: v.CPUTime, Guest: v.GuestTime, VCPUs: make([]VCPU, len(v.VCPUs))}
		for j, c := range v.VCPUs {
			vm.VCPUs[j] = VCPU{Index: c.Index, TID: TID(c.TID), OnCPU: c.OnCPU, Preempted: c.Preempted,
				Blocked: c.Blocked, HostCPU: int(c.CPU)}
		}
		fr.VMs = append(fr.VMs, vm)
	}
	if len(f.Containers) > 0 {
		fr.ContainerParent = make(map[string]string, len(f.Containers))
		for _, c := range f.Containers {
			fr.ContainerParent[containerName(c.Inode)] = containerName(c.Parent)
		}
	}
	return fr
}

// String describes the source for errors.
func (s *AnalysisSource) String() string {
	first, last, _ := s.Span()
	return fmt.Sprintf("trace [%d, %d]", first, last)
}

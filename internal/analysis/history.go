package analysis

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/state"
)

// Opener opens the source again from its beginning. History calls it to
// replay from a checkpoint; nil means the source cannot be reopened (some
// live sources), and only windows of the forward pass can be answered.
type Opener func() (ctf.Source, error)

// Seeker is implemented by sources that can position themselves: after
// SeekTime(ns), Read returns the first message whose time is >= ns.
type Seeker interface {
	SeekTime(ns int64) error
}

// ErrNotAvailable is returned for a window the history cannot rebuild:
// beyond what was read, or before the oldest checkpoint of a source that
// cannot be reopened.
var ErrNotAvailable = errors.New("window not available")

// Options tune a History. Zero values take the defaults.
type Options struct {
	// CheckpointEvery is the number of events between two checkpoints of
	// the model (default 1<<18): reaching any T replays at most this many
	// events plus the ones between the checkpoint time and T.
	CheckpointEvery uint64
	// MaxCheckpoints bounds the checkpoints kept (default 256: a 1 GB
	// trace of 55 M events keeps one every 256 k events). When
	// full, every other checkpoint of the older half is dropped, so old
	// times get coarser and memory stays bounded on day-long sessions.
	MaxCheckpoints int
	// Interval is the grid of windows the forward pass accumulates as it
	// reads (0: none). Figures of these windows, aligned on the first
	// event time, are kept (the last KeepIntervals of them) and answered
	// without replay.
	Interval int64
	// KeepIntervals is how many grid windows are kept (default 64).
	KeepIntervals int
	// Slot, when set and below Interval, makes the forward pass
	// accumulate windows of Slot ns instead (shortened so that it divides
	// Interval). The newest slots are kept (KeepSlots), older ones are
	// merged into Interval windows. Figures answers any window made of
	// kept slots and Interval windows by merging them (Merge): a live top
	// shows the last Interval ending at the newest slot, a fraction of an
	// Interval after the events happened.
	Slot int64
	// KeepSlots is how many slots are kept before they are merged into
	// Interval windows (default: 64, at least two Intervals of slots).
	KeepSlots int
}

func (o *Options) defaults() {
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = 1 << 18
	}
	if o.MaxCheckpoints < 4 {
		o.MaxCheckpoints = 256
	}
	if o.KeepIntervals <= 0 {
		o.KeepIntervals = 64
	}
	if o.Interval <= 0 || o.Slot <= 0 || o.Slot >= o.Interval {
		o.Slot = 0
		return
	}
	// The slot divides the interval, so that slots and intervals share
	// their boundaries.
	k := (o.Interval + o.Slot - 1) / o.Slot
	for o.Interval%k != 0 {
		k++
	}
	o.Slot = o.Interval / k
	o.KeepSlots = max(o.KeepSlots, 64, int(2*k))
}

// perInterval is the number of slots in an interval (1 without slots).
func (o *Options) perInterval() int {
	if o.Slot == 0 {
		return 1
	}
	return int(o.Interval / o.Slot)
}

// step is the length of the windows the forward pass accumulates.
func (o *Options) step() int64 {
	if o.Slot != 0 {
		return o.Slot
	}
	return o.Interval
}

// checkpoint is a copy of the model after every message with a time
// below at was applied (and none at or after it).
type checkpoint struct {
	at     int64
	events uint64 // messages applied, to skip exactly when reopening
	m      *state.Machine
}

// History reads a source forward and answers figures and states for any
// window of what was read. It is not safe for concurrent use.
type History struct {
	open Opener
	opt  Options

	src  ctf.Source
	ev   ctf.Event
	head *state.Machine
	// pending is true when ev holds a message read but not yet applied.
	pending bool
	eof     bool
	first   int64
	last    int64
	started bool

	sinceCheckpoint uint64
	checkpoints     []checkpoint
	spare           ctf.Source // the source of the last replay, kept open

	// grid accumulation of the forward pass
	gridAcc *acc
	grid    []*Figures
	slots   []*Figures // with Options.Slot: the newest slots
	closed  int64      // the end of the newest window closed
}

// NewHistory opens the source with open and returns a History positioned
// at its beginning (nothing read yet: call Advance).
func NewHistory(open Opener, opt Options) (*History, error) {
	if open == nil {
		return nil, errors.New("analysis: nil opener")
	}
	src, err := open()
	if err != nil {
		return nil, err
	}
	return NewHistorySource(src, open, opt), nil
}

// NewHistorySource reads src; open (may be nil) reopens the same source
// for replays.
func NewHistorySource(src ctf.Source, open Opener, opt Options) *History {
	opt.defaults()
	return &History{open: open, opt: opt, src: src, head: state.New()}
}

// Close closes the source.
func (h *History) Close() error {
	if h.spare != nil {
		h.spare.Close()
		h.spare = nil
	}
	if h.src == nil {
		return nil
	}
	err := h.src.Close()
	h.src = nil
	return err
}

// Bounds returns the times of the first and last messages read so far.
func (h *History) Bounds() (first, last int64) { return h.first, h.last }

// EOF reports whether the source ended (a live source never does).
func (h *History) EOF() bool { return h.eof }

// Head returns the model after everything read so far. It belongs to the
// History: read it between calls, Clone it to keep it.
func (h *History) Head() *state.Machine { return h.head }

// Intervals returns the grid windows kept from the forward pass, oldest
// first (Options.Interval); with slots, the complete intervals of the
// slots kept are merged in.
func (h *History) Intervals() []*Figures {
	if h.opt.Slot == 0 {
		return h.grid
	}
	out := append([]*Figures(nil), h.grid...)
	k := h.opt.perInterval()
	for i := 0; i+k <= len(h.slots); i += k {
		out = append(out, Merge(h.slots[i:i+k]))
	}
	return out
}

// Advance reads and applies messages until the next one is at or after
// until (it stays unread) or the source ends. It returns io.EOF at the end
// of the source.
func (h *History) Advance(until int64) error {
	if h.eof {
		return io.EOF
	}
	for {
		if !h.pending {
			if err := h.src.Read(&h.ev); err != nil {
				if err == io.EOF {
					h.eof = true
					h.finishGrid()
				}
				return err
			}
			h.pending = true
		}
		ns := h.ev.NS
		if ns >= until {
			return nil
		}
		h.pending = false
		if !h.started {
			h.started = true
			h.first = ns
			h.head.SetStreamsOf(h.src)
			if h.opt.Interval > 0 {
				h.gridAcc = newAcc(ns, ns+h.opt.step())
				h.head.SetObserver(h.gridAcc)
			}
		}
		// A checkpoint is taken before the first message of a new time
		// (so "every message below at" is exact).
		if h.sinceCheckpoint >= h.opt.CheckpointEvery && ns > h.last || len(h.checkpoints) == 0 {
			h.takeCheckpoint(ns)
		}
		if h.gridAcc != nil {
			for ns >= h.gridAcc.end {
				h.closeGrid()
			}
		}
		if ns > h.last {
			h.last = ns
		}
		h.head.Apply(&h.ev)
		h.sinceCheckpoint++
	}
}

func (h *History) takeCheckpoint(at int64) {
	m := h.head.Clone()
	h.checkpoints = append(h.checkpoints, checkpoint{at: at, events: h.head.Events(), m: m})
	h.sinceCheckpoint = 0
	if len(h.checkpoints) > h.opt.MaxCheckpoints {
		// Thin the older half: keep the oldest, drop every other one.
		half := len(h.checkpoints) / 2
		kept := h.checkpoints[:1]
		for i := 1; i < half; i++ {
			if i%2 == 0 {
				kept = append(kept, h.checkpoints[i])
			}
		}
		kept = append(kept, h.checkpoints[half:]...)
		h.checkpoints = append([]checkpoint(nil), kept...)
	}
}

func (h *History) closeGrid() {
	a := h.gridAcc
	h.head.SetStreamsOf(h.src) // a live source may have new streams
	h.head.Flush(a.end)
	h.keep(a.figures(h.head))
	h.closed = a.end
	h.gridAcc = newAcc(a.end, a.end+h.opt.step())
	h.gridAcc.events0 = h.head.Events()
	h.head.SetObserver(h.gridAcc)
}

// keep stores a window of the forward pass: a slot, merged with its
// interval's other slots once old, or an interval.
func (h *History) keep(f *Figures) {
	if h.opt.Slot != 0 {
		h.slots = append(h.slots, f)
		k := h.opt.perInterval()
		for len(h.slots) >= h.opt.KeepSlots+k {
			f = Merge(h.slots[:k])
			h.slots = append(h.slots[:0:0], h.slots[k:]...)
			h.keepInterval(f)
		}
		return
	}
	h.keepInterval(f)
}

func (h *History) keepInterval(f *Figures) {
	h.grid = append(h.grid, f)
	if len(h.grid) > h.opt.KeepIntervals {
		h.grid = append(h.grid[:0:0], h.grid[len(h.grid)-h.opt.KeepIntervals:]...)
	}
}

// CloseBefore tells the history that the source holds no message below
// edge that it has not read (a live source read up to its completion
// mark): the windows of the forward pass that end at or before edge are
// closed, though no later message came yet, and answered from memory.
func (h *History) CloseBefore(edge int64) {
	if h.gridAcc == nil || h.eof {
		return
	}
	if h.pending && h.ev.NS < edge {
		edge = h.ev.NS
	}
	for h.gridAcc.end <= edge {
		h.closeGrid()
	}
}

// Step returns the length of the windows the forward pass accumulates:
// the slot (Options.Slot, as rounded), else the interval.
func (h *History) Step() int64 { return h.opt.step() }

// Closed returns the end of the newest window of the forward pass closed
// (0: none): every figure before it is final.
func (h *History) Closed() int64 { return h.closed }

// finishGrid closes the last, partial, grid window at the last event.
func (h *History) finishGrid() {
	a := h.gridAcc
	if a == nil || h.last < a.begin {
		return
	}
	clipped := a.end > h.last
	a.end, a.incl = h.last, true
	h.head.Flush(a.end)
	f := a.figures(h.head)
	f.Clipped = clipped
	h.keep(f)
	h.gridAcc = nil
	h.head.SetObserver(nil)
}

// Checkpoints returns the times of the checkpoints kept.
func (h *History) Checkpoints() []int64 {
	out := make([]int64, len(h.checkpoints))
	for i, c := range h.checkpoints {
		out[i] = c.at
	}
	return out
}

// replayer is a model restored from a checkpoint with a source positioned
// just after it.
type replayer struct {
	m       *state.Machine
	src     ctf.Source
	ev      ctf.Event
	pending bool
	eof     bool
}

// restore returns a model at the latest checkpoint at or before t and a
// source positioned on the next message.
func (h *History) restore(t int64) (*replayer, error) {
	if !h.started {
		return nil, ErrNotAvailable
	}
	i := sort.Search(len(h.checkpoints), func(i int) bool { return h.checkpoints[i].at > t }) - 1
	if i < 0 {
		i = 0
	}
	cp := h.checkpoints[i]
	if h.open == nil {
		return nil, fmt.Errorf("analysis: time %d: %w (source cannot be reopened)", t, ErrNotAvailable)
	}
	// The source of the last replay is kept open and positioned again:
	// opening a large trace (metadata, packet index) would cost more
	// than the replay itself.
	src, reused := h.spare, h.spare != nil
	h.spare = nil
	if !reused {
		var err error
		if src, err = h.open(); err != nil {
			return nil, fmt.Errorf("analysis: reopen source: %w", err)
		}
	}
	r := &replayer{m: cp.m.Clone(), src: src}
	if s, ok := src.(Seeker); ok && (cp.events > 0 || reused) {
		at := cp.at
		if cp.events == 0 {
			at = math.MinInt64 // from the very first message
		}
		if err := s.SeekTime(at); err != nil {
			src.Close()
			return nil, fmt.Errorf("analysis: seek to %d: %w", cp.at, err)
		}
		return r, nil
	}
	// No seek: skip the messages the checkpoint already holds.
	for n := uint64(0); n < cp.events; n++ {
		if err := src.Read(&r.ev); err != nil {
			src.Close()
			if err == io.EOF {
				return nil, fmt.Errorf("analysis: source shorter on reopening: %w", ErrNotAvailable)
			}
			return nil, err
		}
	}
	return r, nil
}

// release ends a replay: its source is kept for the next one when it can
// seek.
func (h *History) release(r *replayer) {
	if _, ok := r.src.(Seeker); ok && h.spare == nil {
		h.spare = r.src
		return
	}
	r.src.Close()
}

// until applies messages with a time below t.
func (r *replayer) until(t int64) error {
	for !r.eof {
		if !r.pending {
			if err := r.src.Read(&r.ev); err != nil {
				if err == io.EOF {
					r.eof = true
					return nil
				}
				return err
			}
			r.pending = true
		}
		if r.ev.NS >= t {
			return nil
		}
		r.pending = false
		r.m.Apply(&r.ev)
	}
	return nil
}

// window replays [t1, t2[ and returns its figures and the model at t2.
func (h *History) window(t1, t2 int64) (*Figures, *state.Machine, error) {
	if t2 < t1 {
		return nil, nil, fmt.Errorf("analysis: window [%d, %d[ ends before it begins", t1, t2)
	}
	r, err := h.restore(t1)
	if err != nil {
		return nil, nil, err
	}
	defer h.release(r)
	if err := r.until(t1); err != nil {
		return nil, nil, err
	}
	r.m.Flush(t1)
	a := newAcc(t1, t2)
	a.events0 = r.m.Events()
	r.m.SetObserver(a)
	if err := r.until(t2); err != nil {
		return nil, nil, err
	}
	if r.eof && h.eof && t2 > h.last {
		// The trace ended: running tasks run until its last event, which
		// the window counts.
		a.end, a.incl = max(h.last, t1), true
	}
	r.m.Flush(a.end)
	f := a.figures(r.m)
	f.Clipped = a.incl
	r.m.SetObserver(nil)
	return f, r.m, nil
}

// Figures returns the figures of [t1, t2[. A window made of windows of
// the forward pass (intervals, slots) is answered from memory, merging
// them; any other is replayed from the nearest checkpoint. Use
// math.MaxInt64 as t2 for "until the end".
func (h *History) Figures(t1, t2 int64) (*Figures, error) {
	if f := h.compose(t1, t2); f != nil {
		return f, nil
	}
	f, _, err := h.window(t1, t2)
	return f, err
}

// Composable says whether Figures(t1, t2) is answered from memory.
func (h *History) Composable(t1, t2 int64) bool { return h.parts(t1, t2) != nil }

// compose merges the kept windows that make [t1, t2[ exactly; nil when
// they do not.
func (h *History) compose(t1, t2 int64) *Figures {
	return Merge(h.parts(t1, t2))
}

func (h *History) parts(t1, t2 int64) []*Figures {
	if t2 <= t1 {
		return nil
	}
	var parts []*Figures
	for p := t1; p < t2; {
		f := findWindow(h.grid, p, t2)
		if f == nil {
			f = findWindow(h.slots, p, t2)
		}
		if f == nil || f.End <= p {
			return nil
		}
		parts = append(parts, f)
		p = f.End
	}
	return parts
}

// findWindow returns the window of ws (sorted, not overlapping) that
// begins at p and ends at or before t2.
func findWindow(ws []*Figures, p, t2 int64) *Figures {
	i := sort.Search(len(ws), func(i int) bool { return ws[i].Begin >= p })
	if i < len(ws) && ws[i].Begin == p && ws[i].End <= t2 {
		return ws[i]
	}
	return nil
}

// StateAt returns a copy of the model at time t: every message with a
// time below t applied.
func (h *History) StateAt(t int64) (*state.Machine, error) {
	r, err := h.restore(t)
	if err != nil {
		return nil, err
	}
	defer h.release(r)
	if err := r.until(t); err != nil {
		return nil, err
	}
	return r.m, nil
}

// Details returns process pid at t2 (its threads, children and open files)
// with its figures over [t1, t2[.
func (h *History) Details(pid state.PID, t1, t2 int64) (*Details, error) {
	f, m, err := h.window(t1, t2)
	if err != nil {
		return nil, err
	}
	return details(f, m, pid)
}

func details(f *Figures, m *state.Machine, pid state.PID) (*Details, error) {
	p := m.Process(pid)
	if p == nil {
		return nil, fmt.Errorf("analysis: process %d unknown at %d", pid, f.End)
	}
	d := &Details{At: f.End, Process: *p}
	d.Process.Files = make(map[int32]*state.File, len(p.Files))
	for fd, fl := range p.Files {
		c := *fl
		d.Process.Files[fd] = &c
	}
	for _, t := range m.ThreadsOf(pid) {
		d.Threads = append(d.Threads, *t)
	}
	for _, c := range m.Children(pid) {
		cc := *c
		cc.Files = nil
		d.Children = append(d.Children, cc)
	}
	for _, pf := range f.Processes {
		if pf.PID == pid {
			d.Figures = pf
		}
	}
	for _, tf := range f.Threads {
		if tf.PID == pid || (tf.PID == 0 && state.PID(tf.TID) == pid) {
			d.ThreadFigures = append(d.ThreadFigures, tf)
		}
	}
	for _, fl := range p.Files {
		of := OpenFile{File: *fl}
		for _, ff := range d.Figures.Files {
			if ff.FD == fl.FD && ff.Name == fl.Name {
				of.WindowRead, of.WindowWritten = ff.Read, ff.Written
			}
		}
		d.Files = append(d.Files, of)
	}
	sort.Slice(d.Files, func(i, j int) bool { return d.Files[i].FD < d.Files[j].FD })
	return d, nil
}

// Window selects the intervals of a one-pass run: from Begin (0: the first
// event) to End (0: the last event), in steps of Step ns (0: one window).
type Window struct {
	Begin, End, Step int64
}

// Intervals reads src once and calls fn with the figures of each interval
// of w, in order: [Begin, Begin+Step[, ... up to End exactly, the last one
// shorter when Step does not divide the selection. When the trace ends
// before End (or End is 0), the last interval ends at the last event,
// which it counts, as lttng-analyses does; it is marked Clipped when it
// was asked to go further (End given, or a Step interval cut short).
func Intervals(src ctf.Source, w Window, fn func(*Figures) error) error {
	m := state.New()
	m.SetStreamsOf(src)
	var ev ctf.Event
	var a *acc
	var last int64
	started, entered, atEnd := false, false, false
	end := w.End
	if end <= 0 {
		end = math.MaxInt64
	}
	next := func(b int64) int64 {
		if w.Step <= 0 {
			return end
		}
		if b > end-w.Step {
			return end
		}
		return b + w.Step
	}
	enter := func() {
		entered = true
		m.Flush(a.begin)
		a.events0 = m.Events()
		m.SetObserver(a)
	}
	// emit closes the window and opens the next one.
	emit := func() error {
		m.Flush(a.end)
		if err := fn(a.figures(m)); err != nil {
			return err
		}
		a = newAcc(a.end, next(a.end))
		a.events0 = m.Events()
		m.SetObserver(a)
		return nil
	}
	for {
		err := src.Read(&ev)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		ns := ev.NS
		if !started {
			started = true
			b := ns
			if w.Begin > 0 {
				b = w.Begin
			}
			if b >= end {
				return nil
			}
			a = newAcc(b, next(b))
		}
		if ns >= end {
			atEnd = true
			break
		}
		if !entered && ns >= a.begin {
			enter()
		}
		for entered && ns >= a.end {
			if err := emit(); err != nil {
				return err
			}
		}
		m.Apply(&ev)
		last = ns
	}
	if a == nil {
		return nil
	}
	if atEnd {
		// The trace goes on after End: every window up to End is whole.
		if !entered {
			enter()
		}
		for {
			done := a.end >= end
			if done {
				m.Flush(a.end)
				return fn(a.figures(m))
			}
			if err := emit(); err != nil {
				return err
			}
		}
	}
	if !entered {
		return nil
	}
	if a.end > last {
		// The trace ended inside the window: as lttng-analyses, it ends at
		// the last event (which it counts) and running tasks are credited
		// until then.
		clipped := w.End > 0 || w.Step > 0 && a.end != end
		a.end, a.incl = max(last, a.begin), true
		m.Flush(a.end)
		f := a.figures(m)
		f.Clipped = clipped
		return fn(f)
	}
	m.Flush(a.end)
	return fn(a.figures(m))
}

package tui

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracetop/tracetop/ctf"
)

// Tail is a ctf.Source on a trace folder that a recorder in the same
// process is still writing: it reads the events every stream has
// completed (Complete gives that time as a clock value; 0: none yet).
// It keeps the reader open and, when it has read everything complete,
// waits and picks up the packets appended since (ctf.Reader.Refresh), so
// following a session costs what its new events cost, not its length.
// Read returns io.EOF once ctx ends.
type Tail struct {
	Dir      string
	Complete func() uint64
	Poll     time.Duration
	// NonBlocking makes Read return ErrNotYet instead of waiting (the top's
	// forward pass waits with WaitReady, outside its lock).
	NonBlocking bool
	// Wake, when set, ends a wait before Poll: the producer signals it
	// when its completion mark moves, so new events are read at once.
	Wake <-chan struct{}

	ctx    context.Context
	r      *ctf.Reader
	lastNS int64
	atLast int // events returned with NS == lastNS
	skip   int
	traces []*ctf.Trace
	fails  int

	limit     uint64 // the last completion mark seen
	seen      uint64 // the mark under which packets were last picked up
	edge      atomic.Int64
	upTo      atomic.Int64 // ns below which every event was returned
	off       int64        // ns - cycles of the stream clock, from the last event
	haveOff   bool
	refreshes int
	reopens   int
	stop      atomic.Uint64 // StopAt's mark
	mu        sync.Mutex    // guards r against Close from another goroutine
	closed    bool
	// reopenEachPoll opens the folder again at every poll instead of
	// reading what was appended (benchmarks compare both).
	reopenEachPoll bool
}

// NewTail returns a Tail; ctx ends it.
func NewTail(ctx context.Context, dir string, complete func() uint64) *Tail {
	return &Tail{Dir: dir, Complete: complete, Poll: 100 * time.Millisecond, ctx: ctx}
}

func (t *Tail) wait() error {
	select {
	case <-t.ctx.Done():
		return io.EOF
	case <-t.Wake:
		return nil
	case <-time.After(t.Poll):
		return nil
	}
}

func (t *Tail) reopen() error {
	r, err := ctf.Open([]string{t.Dir}, ctf.Options{})
	if err != nil {
		return err
	}
	if t.lastNS != 0 {
		if err := r.SeekTime(t.lastNS); err != nil {
			r.Close()
			return err
		}
	}
	t.r, t.skip, t.traces = r, t.atLast, r.Traces()
	t.reopens++
	return nil
}

func (t *Tail) drop() {
	if t.r != nil {
		t.r.Close()
		t.r = nil
	}
}

// ErrNotYet is returned by a non-blocking live source's Read when no
// complete event is there yet: call WaitReady, then Read again.
var ErrNotYet = errors.New("no complete event yet")

// ready tries once to have a complete event to read: it opens the folder
// or picks up appended packets as needed. It never waits.
func (t *Tail) ready() (bool, error) {
	if t.r != nil && t.peek() && t.stop.Load() == 0 && t.ctx.Err() == nil {
		// The next event is below the mark already picked up under: no
		// need to ask the recorder (a lock and a look at every stream).
		return true, nil
	}
	if t.ctx.Err() != nil || t.closed {
		t.drop()
		return false, io.EOF
	}
	limit := t.Complete()
	if t.r == nil {
		if limit == 0 {
			return false, nil
		}
		if err := t.reopen(); err != nil {
			// The folder may be half written (a packet being appended):
			// try again a little later, give up after a while.
			t.fails++
			if t.fails > 100 {
				return false, err
			}
			return false, nil
		}
		t.fails = 0
		t.seen = limit // the folder was read after the mark was taken
	}
	t.limit = limit
	if t.haveOff {
		t.edge.Store(int64(limit) + t.off)
	}
	if st := t.stop.Load(); st != 0 && t.seen >= st {
		// Everything before the stop mark is in the indexed packets.
		if _, c, ok := t.r.Next(); !ok || c >= st {
			t.drop()
			return false, io.EOF
		}
	}
	// Events below a new mark may sit in packets not indexed yet, in any
	// stream: pick up the appended packets before reading past the mark
	// the last pick-up was made under, so the merge stays in order.
	if limit > t.seen || !t.peek() {
		if t.reopenEachPoll {
			t.drop() // the first version's way, kept to measure it
			return false, nil
		}
		if _, err := t.r.Refresh(); err != nil {
			// New event classes in the metadata: open the folder again,
			// going on after the last event returned.
			t.drop()
			if err != ctf.ErrMetadataChanged {
				t.fails++
				if t.fails > 100 {
					return false, err
				}
			}
			return false, nil
		}
		t.seen = limit
		t.refreshes++
	}
	ok := t.peek()
	if !ok && t.haveOff {
		// Nothing left below the mark: every event before it was read.
		t.upTo.Store(int64(t.seen) + t.off)
	}
	return ok, nil
}

// ReadUpTo is the time in ns before which every event of the trace was
// returned by Read (0: not known yet): the figures of windows that end
// there are final, even if no later event came yet. Safe to call from
// any goroutine.
func (t *Tail) ReadUpTo() int64 { return t.upTo.Load() }

// peek says whether the next event is below the mark the last pick-up of
// appended packets was made under.
func (t *Tail) peek() bool {
	_, cycles, ok := t.r.Next()
	return ok && cycles < t.seen
}

// WaitReady blocks until a complete event can be read (nil), or the
// Tail's context ends (io.EOF).
func (t *Tail) WaitReady() error {
	for {
		t.mu.Lock()
		ok, err := t.ready()
		t.mu.Unlock()
		if ok || err != nil {
			return err
		}
		if err := t.wait(); err != nil {
			return err
		}
	}
}

// Read implements ctf.Source. It waits for complete events, unless
// NonBlocking is set: then it returns ErrNotYet.
func (t *Tail) Read(ev *ctf.Event) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		ok, err := t.ready()
		if err != nil {
			return err
		}
		if !ok {
			if t.NonBlocking {
				return ErrNotYet
			}
			if err := t.wait(); err != nil {
				return err
			}
			continue
		}
		if err := t.r.Read(ev); err != nil {
			t.drop()
			t.fails++
			if t.fails > 100 {
				return err
			}
			continue
		}
		if ev.NS < t.lastNS {
			continue
		}
		if ev.NS == t.lastNS {
			if t.skip > 0 {
				t.skip--
				continue
			}
			t.atLast++
		} else {
			t.lastNS, t.atLast, t.skip = ev.NS, 1, 0
		}
		t.off, t.haveOff = ev.NS-int64(ev.Cycles), true
		t.edge.Store(int64(t.limit) + t.off)
		return nil
	}
}

// Edge is the live edge in ns: the time every stream has completed,
// as the last event read tells the clock (0 before the first event).
// The analysis is behind when its newest event is far from it.
// (The recorder's clock counts ns, so cycles and ns differ by an offset.)
// Safe to call from any goroutine.
func (t *Tail) Edge() int64 { return t.edge.Load() }

// StopAt makes the Tail end (io.EOF) once it has returned every event
// below the clock value c, when the recorder has completed past c (a
// traced program exited at c).
func (t *Tail) StopAt(c uint64) { t.stop.Store(c) }

// Refreshes counts the times the reader looked for appended packets.
func (t *Tail) Refreshes() int { return t.refreshes }

// Streams returns the streams of the trace being read.
func (t *Tail) Streams() []*ctf.Stream {
	if t.r == nil {
		return nil
	}
	return t.r.Streams()
}

// Traces implements ctf.Source.
func (t *Tail) Traces() []*ctf.Trace { return t.traces }

// Close implements ctf.Source. It may be called while another goroutine
// waits in WaitReady (which then returns io.EOF).
func (t *Tail) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	t.drop()
	return nil
}

package tui

import (
	"context"
	"io"
	"time"

	"github.com/tracetop/tracetop/ctf"
)

// Tail is a ctf.Source on a trace folder that a recorder in the same
// process is still writing: it reads the events every stream has
// completed (Complete gives that time as a clock value; 0: none yet), and
// when it has read them all it waits and opens the folder again, going on
// after the last event it returned. Read returns io.EOF once ctx ends.
type Tail struct {
	Dir      string
	Complete func() uint64
	Poll     time.Duration

	ctx    context.Context
	r      *ctf.Reader
	lastNS int64
	atLast int // events returned with NS == lastNS
	skip   int
	traces []*ctf.Trace
	fails  int
}

// NewTail returns a Tail; ctx ends it.
func NewTail(ctx context.Context, dir string, complete func() uint64) *Tail {
	return &Tail{Dir: dir, Complete: complete, Poll: 100 * time.Millisecond, ctx: ctx}
}

func (t *Tail) wait() error {
	select {
	case <-t.ctx.Done():
		return io.EOF
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
	return nil
}

func (t *Tail) drop() {
	if t.r != nil {
		t.r.Close()
		t.r = nil
	}
}

// Read implements ctf.Source.
func (t *Tail) Read(ev *ctf.Event) error {
	for {
		if t.ctx.Err() != nil {
			t.drop()
			return io.EOF
		}
		limit := t.Complete()
		if t.r == nil {
			if limit == 0 {
				if err := t.wait(); err != nil {
					return err
				}
				continue
			}
			if err := t.reopen(); err != nil {
				// The folder may be half written (a packet being appended):
				// try again a little later, give up after a while.
				t.fails++
				if t.fails > 100 {
					return err
				}
				if err := t.wait(); err != nil {
					return err
				}
				continue
			}
			t.fails = 0
		}
		err := t.r.Read(ev)
		if err == io.EOF || (err == nil && ev.Kind == ctf.KindEvent && ev.Cycles >= limit) {
			t.drop()
			if err := t.wait(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			t.drop()
			t.fails++
			if t.fails > 100 {
				return err
			}
			if err := t.wait(); err != nil {
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
		return nil
	}
}

// Traces implements ctf.Source.
func (t *Tail) Traces() []*ctf.Trace { return t.traces }

// Close implements ctf.Source.
func (t *Tail) Close() error {
	t.drop()
	return nil
}

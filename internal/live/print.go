package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"syscall"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/pretty"
)

// PrintOptions tune Print.
type PrintOptions struct {
	Pretty pretty.Options
	Range  pretty.Range
	// Live tunes the session; its Idle runs after the text is flushed.
	Live Options
	// Event, if set, is called after each message is printed
	// (measurements).
	Event func(*ctf.Event)
}

// Print prints the live session named by url
// (net://HOST[:PORT]/host/HOSTNAME/SESSION) to w in babeltrace2's text
// format, as `babeltrace2 --input-format=lttng-live` does, until the
// session ends; the text is flushed whenever the session waits for the
// relay. Cancelling ctx (Ctrl-C) detaches from the relay and ends the
// printing without error, also while the session is awaited. A closed
// output (EPIPE) detaches and ends without error. It returns what the
// session received.
func Print(ctx context.Context, url string, w io.Writer, o PrintOptions) (Stats, error) {
	p := pretty.New(w, o.Pretty)
	opt := o.Live
	idle := opt.Idle
	opt.Idle = func() {
		p.Flush()
		if idle != nil {
			idle()
		}
	}
	s, err := Open(ctx, url, opt)
	if err != nil {
		if ctx.Err() != nil {
			return Stats{}, nil // interrupted while attaching
		}
		return Stats{}, err
	}
	defer s.Close()
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	r := o.Range
	resolved := !r.Begin.Set && !r.End.Set
	loc := time.Local
	if o.Pretty.ClockGMT {
		loc = time.UTC
	} else if o.Pretty.Location != nil {
		loc = o.Pretty.Location
	}
	var ev ctf.Event
	for {
		if err := s.Read(&ev); err == io.EOF {
			break
		} else if err != nil {
			p.Flush()
			return s.Stats(), err
		}
		if !resolved && ev.HasTime {
			first := ev.NS
			if ev.Kind != ctf.KindEvent && ev.HasBounds {
				first = ev.BeginNS
			}
			if r.Begin.Set {
				lo = r.Begin.NS(first, loc)
			}
			if r.End.Set {
				hi = r.End.NS(first, loc)
			}
			resolved = true
		}
		if ev.Kind == ctf.KindEvent && ev.HasTime {
			if ev.NS < lo {
				continue
			}
			if ev.NS > hi {
				break // detached by the deferred Close
			}
		}
		if err := p.Print(&ev); err != nil {
			if errors.Is(err, syscall.EPIPE) {
				return s.Stats(), nil
			}
			return s.Stats(), err
		}
		if o.Event != nil {
			o.Event(&ev)
		}
	}
	if err := p.Flush(); err != nil && !errors.Is(err, syscall.EPIPE) {
		return s.Stats(), err
	}
	return s.Stats(), nil
}

// PrintList writes the sessions of the relay named by url
// (net://HOST[:PORT]) to w, one line each, as babeltrace2 lists them:
// net://HOST[:PORT]/host/HOSTNAME/NAME (timer = µs, N stream(s), N
// client(s) connected). timeout bounds each reply (0: 10 s).
func PrintList(ctx context.Context, url string, w io.Writer, timeout time.Duration) error {
	u, list, err := List(ctx, url, timeout)
	if err != nil {
		return err
	}
	if u.Session != "" {
		return fmt.Errorf("live URL %q names a session: list the relay's sessions with %s", url, u.base())
	}
	for _, l := range list {
		if _, err := fmt.Fprintln(w, u.Line(l)); err != nil {
			return err
		}
	}
	return nil
}

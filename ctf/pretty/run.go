package pretty

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/tracetop/tracetop/ctf"
)

// Range limits printing to events between Begin and End (inclusive), as
// babeltrace2's --begin and --end.
type Range struct {
	Begin, End Bound
}

// Run prints every message of src, then flushes. A read error ends the
// run after everything before it was printed; it is returned. A closed
// output (EPIPE, `| head`) ends the run without error.
//
// Decoding and printing run in two goroutines, handing batches of events
// over (the events of a batch are read in place, nothing is copied), so a
// trace is printed in about the time the slower of the two takes.
func Run(src ctf.Source, w io.Writer, o Options, r Range) error {
	p := New(w, o)
	for _, t := range src.Traces() {
		p.MetadataWarnings(t)
	}
	const nBatches, batchLen = 4, 1024
	free := make(chan *batch, nBatches)
	full := make(chan *batch, nBatches)
	quit := make(chan struct{})
	for range nBatches {
		free <- &batch{evs: make([]ctf.Event, batchLen)}
	}
	done := make(chan error, 1)
	go func() {
		done <- printBatches(p, o, r, full, free, quit)
	}()

	var rerr error
read:
	for {
		var b *batch
		select {
		case b = <-free:
		case <-quit:
			break read
		}
		b.n = 0
		for b.n < len(b.evs) {
			err := src.Read(&b.evs[b.n])
			if err != nil {
				if err != io.EOF {
					rerr = err
				}
				full <- b
				break read
			}
			b.n++
		}
		full <- b
	}
	close(full)
	perr := <-done
	if perr != nil {
		return perr
	}
	if rerr != nil && p.stopped {
		return nil
	}
	return rerr
}

// Buffers of a batched event larger than these are given back to the
// garbage collector after printing.
const (
	maxKeptValues = 512
	maxKeptText   = 8 << 10
)

type batch struct {
	evs []ctf.Event
	n   int
}

// printBatches prints the events of full batches and gives them back.
func printBatches(p *Printer, o Options, r Range, full <-chan *batch, free chan<- *batch, quit chan struct{}) error {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	resolved := !r.Begin.Set && !r.End.Set
	var err error
	for b := range full {
		for i := 0; i < b.n && err == nil && !p.stopped; i++ {
			ev := &b.evs[i]
			if !resolved && ev.HasTime {
				first := ev.NS
				if ev.Kind != ctf.KindEvent && ev.HasBounds {
					first = ev.BeginNS
				}
				if r.Begin.Set {
					lo = r.Begin.NS(first, o.location())
				}
				if r.End.Set {
					hi = r.End.NS(first, o.location())
				}
				resolved = true
			}
			if (r.Begin.Set || r.End.Set) && !ev.HasTime {
				// As babeltrace2's trimmer: a time range needs times.
				name := ""
				if ev.Stream != nil {
					name = ev.Stream.Name
				}
				err = fmt.Errorf("--begin/--end: stream %q has no clock, its events have no time", name)
				break
			}
			switch ev.Kind {
			case ctf.KindEvent:
				if ev.HasTime && ev.NS < lo {
					continue
				}
				if ev.HasTime && ev.NS > hi {
					p.stopped = true
					continue
				}
			default:
				if ev.HasBounds && (ev.EndNS < lo || ev.BeginNS > hi) {
					continue
				}
			}
			if perr := p.Print(ev); perr != nil {
				if isPipe(perr) {
					p.stopped = true
				} else {
					err = perr
				}
			}
		}
		// Keep what a batch holds bounded whatever the events: buffers
		// grown by a big event are dropped, not kept in circulation.
		for i := 0; i < b.n; i++ {
			ev := &b.evs[i]
			if cap(ev.Values) > maxKeptValues {
				ev.Values = nil
			}
			if cap(ev.Text) > maxKeptText {
				ev.Text = nil
			}
		}
		if (err != nil || p.stopped) && quit != nil {
			close(quit)
			quit = nil
		}
		free <- b
	}
	if err != nil {
		return err
	}
	return finish(p)
}

func finish(p *Printer) error {
	if err := p.Flush(); err != nil && !isPipe(err) {
		return err
	}
	return nil
}

func isPipe(err error) bool { return errors.Is(err, syscall.EPIPE) }

// InputNames returns babeltrace2's trace and stream names for traces found
// under the input paths: a trace is named by its hostname followed by its
// folder relative to the input path that holds it (nothing when it is
// the input path itself or spans several session rotation chunks); a
// stream is named by the absolute path of its first file.
func InputNames(inputs []string) (trace func(*ctf.Trace) string, stream func(*ctf.Stream) string) {
	var roots []string
	for _, in := range inputs {
		if a, err := filepath.Abs(in); err == nil {
			roots = append(roots, a)
		}
	}
	trace = func(t *ctf.Trace) string {
		host, _ := envString(t, "hostname")
		if len(t.Dirs) > 1 {
			return host
		}
		dir, err := filepath.Abs(t.Path)
		if err != nil {
			return host
		}
		suffix := ""
		for _, r := range roots {
			rel, err := filepath.Rel(r, dir)
			if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
				continue
			}
			if rel != "." {
				suffix = rel
			}
			break
		}
		if suffix == "" {
			return host
		}
		if host != "" {
			return host + "/" + suffix
		}
		return suffix
	}
	stream = func(s *ctf.Stream) string {
		if len(s.Files) > 0 {
			if a, err := filepath.Abs(s.Files[0]); err == nil {
				return a
			}
			return s.Files[0]
		}
		if s.Trace != nil && !strings.Contains(s.Trace.Path, "://") {
			if a, err := filepath.Abs(filepath.Join(s.Trace.Path, s.Name)); err == nil {
				return a
			}
		}
		return s.Name
	}
	return trace, stream
}

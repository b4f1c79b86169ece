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
// Decoding and printing run in the calling goroutine, one event at a
// time: the event's values are still in the core's cache when they are
// printed. (Handing batches of events to a second goroutine lowered the
// wall time on an idle machine but cost about 40% more CPU, spent moving
// every event's values from one core's cache to the other's.)
func Run(src ctf.Source, w io.Writer, o Options, r Range) error {
	p := New(w, o)
	for _, t := range src.Traces() {
		p.MetadataWarnings(t)
	}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	resolved := !r.Begin.Set && !r.End.Set
	var ev ctf.Event
	for !p.stopped {
		if err := src.Read(&ev); err != nil {
			if err == io.EOF {
				break
			}
			if ferr := finish(p); ferr != nil {
				return ferr
			}
			return err
		}
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
			return fmt.Errorf("--begin/--end: stream %q has no clock, its events have no time", name)
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
		if perr := p.Print(&ev); perr != nil {
			if isPipe(perr) {
				p.stopped = true
				continue
			}
			return perr
		}
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

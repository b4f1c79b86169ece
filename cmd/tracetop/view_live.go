package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/pretty"
	"github.com/tracetop/tracetop/internal/analysis"
	"github.com/tracetop/tracetop/internal/live"
)

func init() {
	// The top shows a live session of a relay: net://HOST[:PORT]/host/H/S.
	topSources = append(topSources, func(source string) (analysis.Opener, bool, bool, error) {
		if !live.IsURL(source) {
			return nil, false, false, nil
		}
		u, err := live.ParseURL(source)
		if err != nil {
			return nil, false, true, err
		}
		if u.Session == "" {
			return nil, false, true, fmt.Errorf("%s names no session: list them with `tracetop view %s`", source, source)
		}
		open := func() (ctf.Source, error) {
			return live.Open(context.Background(), source, live.Options{WaitSession: true})
		}
		return open, true, true, nil
	})
}

// viewLive handles `tracetop view net://...`: a relay's session listing
// (net://HOST[:PORT]) or a live session printed until it ends
// (net://HOST[:PORT]/host/HOSTNAME/SESSION). handled is false for other
// paths.
func viewLive(args []string, output string, po pretty.Options, r pretty.Range) (handled bool, err error) {
	if len(args) == 0 || !live.IsURL(args[0]) {
		return false, nil
	}
	if len(args) > 1 {
		return true, fmt.Errorf("view: a live session (%s) is read alone", args[0])
	}
	u, err := live.ParseURL(args[0])
	if err != nil {
		return true, err
	}
	var w io.Writer = os.Stdout
	if output != "" {
		f, err := os.Create(output)
		if err != nil {
			return true, err
		}
		defer f.Close()
		w = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if u.Session == "" {
		_, list, err := live.List(ctx, args[0], 0)
		if err != nil {
			return true, err
		}
		for _, l := range list {
			fmt.Fprintln(w, u.Line(l))
		}
		return true, nil
	}
	return true, printLive(ctx, args[0], w, po, r)
}

// printLive prints a live session as babeltrace2 does, flushing whenever
// the session waits for the relay; Ctrl-C (ctx) detaches and ends.
func printLive(ctx context.Context, url string, w io.Writer, po pretty.Options, r pretty.Range) error {
	p := pretty.New(w, po)
	s, err := live.Open(ctx, url, live.Options{WaitSession: true, Idle: func() { p.Flush() },
		Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }})
	if errors.Is(err, context.Canceled) {
		return nil // Ctrl-C while waiting for the session
	}
	if err != nil {
		return err
	}
	defer s.Close()
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	resolved := !r.Begin.Set && !r.End.Set
	loc := time.Local
	if po.ClockGMT {
		loc = time.UTC
	} else if po.Location != nil {
		loc = po.Location
	}
	var ev ctf.Event
	for {
		err := s.Read(&ev)
		if err == io.EOF {
			break
		}
		if err != nil {
			p.Flush()
			return err
		}
		if !resolved && ev.HasTime {
			if r.Begin.Set {
				lo = r.Begin.NS(ev.NS, loc)
			}
			if r.End.Set {
				hi = r.End.NS(ev.NS, loc)
			}
			resolved = true
		}
		if ev.Kind == ctf.KindEvent && ev.HasTime {
			if ev.NS < lo {
				continue
			}
			if ev.NS > hi {
				break
			}
		}
		if err := p.Print(&ev); err != nil {
			return err
		}
	}
	if n := s.Late(); n > 0 {
		fmt.Fprintf(os.Stderr, "tracetop view: %d events older than events already printed were dropped (the tracer wrote them after its live beacon)\n", n)
	}
	return p.Flush()
}

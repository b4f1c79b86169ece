package fuse

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/clocksync"
	"github.com/tracetop/tracetop/internal/vm"
)

// ErrNoTrace says a folder holds neither a host trace nor a guest.
var ErrNoTrace = errors.New("no host or guest trace")

func hasMetadata(dir string) bool {
	found := false
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "metadata" {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

// Options configure Open.
type Options struct {
	// CTF are the options of the underlying trace readers.
	CTF ctf.Options
}

// Guest describes one fused guest.
type Guest struct {
	Name     string
	Dir      string // DIR/guests/NAME
	Hostname string
	Sync     *vm.SyncFile
	Quality  clocksync.Quality // of the last segment
	Bound    time.Duration     // ± at the centre of the last segment
	Segments int
	Traces   []*ctf.Trace
}

type input struct {
	src   ctf.Source
	ev    ctf.Event
	ok    bool  // ev holds the next message
	key   int64 // its time on the host axis (ns from the host clock's origin)
	guest *Guest
	sync  *clocksync.Sync
	g     int64 // guest clock time of ev (ns)
	goff  int64 // guest ns from origin minus guest cycles
}

// Source merges the host trace and the guest traces in host time order.
type Source struct {
	ins     []*input
	guests  []*Guest
	hostOff int64 // host ns from origin minus host trace-clock ns
	hostSet bool
	last    *input
	lastG   int64
}

// HasGuests reports whether dir holds a host recording with guests.
func HasGuests(dir string) bool {
	ms, _ := filepath.Glob(filepath.Join(dir, "guests", "*", vm.SyncFileName))
	return len(ms) > 0
}

// Open opens the host trace of dir (every folder but guests/) and each
// guest under dir/guests.
func Open(dir string, o Options) (*Source, error) {
	s := &Source{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var hostPaths []string
	for _, e := range ents {
		if p := filepath.Join(dir, e.Name()); e.IsDir() && e.Name() != "guests" && hasMetadata(p) {
			hostPaths = append(hostPaths, p)
		}
	}
	fail := func(err error) (*Source, error) {
		s.Close()
		return nil, err
	}
	if len(hostPaths) > 0 {
		src, err := ctf.Open(hostPaths, o.CTF)
		if err != nil {
			return fail(fmt.Errorf("host trace: %w", err))
		}
		s.ins = append(s.ins, &input{src: src})
	}
	gdirs, _ := filepath.Glob(filepath.Join(dir, "guests", "*"))
	for _, gd := range gdirs {
		sf, err := vm.ReadSyncFile(gd)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return fail(err)
		}
		sy, err := sf.Transform()
		if err != nil {
			return fail(fmt.Errorf("guest %q: %w", sf.Name, err))
		}
		src, err := ctf.Open([]string{filepath.Join(gd, "kernel")}, o.CTF)
		if err != nil {
			return fail(fmt.Errorf("guest %q: %w", sf.Name, err))
		}
		f := sy.Fit()
		g := &Guest{Name: sf.Name, Dir: gd, Hostname: sf.Hostname, Sync: sf, Quality: f.Quality,
			Bound: time.Duration(f.Bound()), Segments: len(sy.Segments()), Traces: src.Traces()}
		s.guests = append(s.guests, g)
		s.ins = append(s.ins, &input{src: src, guest: g, sync: sy})
	}
	if len(s.ins) == 0 {
		return nil, fmt.Errorf("%s: %w", dir, ErrNoTrace)
	}
	// The host's first message gives its clock offset (origin − trace
	// clock), which guest times mapped to the host trace clock need.
	for _, in := range s.ins {
		if in.guest == nil {
			if err := s.advance(in); err != nil {
				return fail(err)
			}
		}
	}
	for _, in := range s.ins {
		if in.guest != nil {
			if err := s.advance(in); err != nil {
				return fail(err)
			}
		}
	}
	return s, nil
}

// Guests describes the fused guests.
func (s *Source) Guests() []*Guest { return s.guests }

// advance reads the next message of in and computes its host-axis key.
func (s *Source) advance(in *input) error {
	err := in.src.Read(&in.ev)
	if err == io.EOF {
		in.ok = false
		return nil
	}
	if err != nil {
		in.ok = false
		return err
	}
	in.ok = true
	ev := &in.ev
	if in.guest == nil {
		if !s.hostSet && ev.Kind == ctf.KindEvent && ev.HasTime {
			s.hostOff, s.hostSet = ev.NS-int64(ev.Cycles), true
		}
		in.key = ev.NS
		return nil
	}
	// Guest: its clock is the guest's CLOCK_MONOTONIC in ns (the
	// recorder's); the sync samples are in the same units.
	if ev.Kind == ctf.KindEvent && ev.HasTime {
		in.goff = ev.NS - int64(ev.Cycles)
		in.g = int64(ev.Cycles)
		h, _ := in.sync.Map(in.g)
		in.key = h + s.hostOff
		return nil
	}
	in.key = s.mapNS(in, ev.NS)
	return nil
}

func (s *Source) mapNS(in *input, ns int64) int64 {
	h, _ := in.sync.Map(ns - in.goff)
	return h + s.hostOff
}

// Read implements ctf.Source: the next message in host time order. Guest
// events get their host-axis time in NS and the host trace clock's value
// in Cycles.
func (s *Source) Read(ev *ctf.Event) error {
	var best *input
	for _, in := range s.ins {
		if in.ok && (best == nil || in.key < best.key) {
			best = in
		}
	}
	if best == nil {
		return io.EOF
	}
	copyEvent(ev, &best.ev)
	if best.guest != nil {
		ev.NS = best.key
		if ev.Kind == ctf.KindEvent {
			ev.Cycles = uint64(best.key - s.hostOff)
		}
		if ev.HasBounds {
			ev.BeginNS, ev.EndNS = s.mapNS(best, ev.BeginNS), s.mapNS(best, ev.EndNS)
		}
	}
	s.last, s.lastG = best, best.g
	return s.advance(best)
}

// LastBound returns, for the last message read, the guest it belongs to
// and the half-width of the interval its host time lies in; host events
// give ("", 0).
func (s *Source) LastBound() (guest string, bound time.Duration) {
	if s.last == nil || s.last.guest == nil {
		return "", 0
	}
	_, b := s.last.sync.Map(s.lastG)
	return s.last.guest.Name, time.Duration(b)
}

// copyEvent copies src into dst, reusing dst's buffers.
func copyEvent(dst, src *ctf.Event) {
	vals, text := dst.Values[:0], dst.Text[:0]
	*dst = *src
	dst.Values = append(vals, src.Values...)
	dst.Text = append(text, src.Text...)
}

// Traces implements ctf.Source.
func (s *Source) Traces() []*ctf.Trace {
	var ts []*ctf.Trace
	for _, in := range s.ins {
		ts = append(ts, in.src.Traces()...)
	}
	return ts
}

// Close implements ctf.Source.
func (s *Source) Close() error {
	var err error
	for _, in := range s.ins {
		if cerr := in.src.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

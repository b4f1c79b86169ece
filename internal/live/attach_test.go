package live

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/pretty"
)

// TestAttachLast: a viewer attaches from the last packet (the default, as
// babeltrace2 does) to a session that has run for a while, and its
// connection is cut once. It does not deliver what the streams held
// before their last packet, delivers every event written after it
// attached, each once, in time order, and each stream's events it
// delivers are exactly the tail of that stream in the relay's folder
// (the reconnection attaches from the beginning and skips what was
// read).
func TestAttachLast(t *testing.T) {
	for _, rk := range relays {
		t.Run(rk.name, func(t *testing.T) {
			r := rk.start(t)
			px := newCutter(t, r.live)
			p := newProducer(t, r, "last", 100*time.Millisecond, "busy_0", "idle_1")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ran := make(chan error, 1)
			go func() { ran <- p.run(ctx, 1500*time.Millisecond, 2*time.Millisecond, "busy_0", "idle_1") }()
			for p.packetsSent("busy_0") < 4 {
				time.Sleep(5 * time.Millisecond)
			}
			s, err := Open(ctx, fmt.Sprintf("net://%s/host/%s/last", px.l.Addr(), testHost), Options{Logf: t.Logf})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			attachedAt := int64(p.now()) + p.origin.UnixNano() // no event after it is older than the attachment
			var lines []string
			first := map[string]int64{} // each stream's first event delivered
			var last int64
			var ev ctf.Event
			for {
				if err := s.Read(&ev); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				if ev.Kind == ctf.KindEvent {
					if ev.NS < last {
						t.Fatalf("event at %d delivered after one at %d", ev.NS, last)
					}
					last = ev.NS
					if _, ok := first[ev.Stream.Name]; !ok {
						first[ev.Stream.Name] = ev.NS
					}
				}
				lines = append(lines, line(&ev))
				if len(lines) == 100 {
					px.cut()
				}
			}
			if err := <-ran; err != nil {
				t.Fatal(err)
			}
			all := folderLines(t, r.out)
			// The folder's events of each stream from the viewer's first
			// one of that stream on, and the first of each stream written
			// after the attachment.
			var want []string
			firstAfter := map[string]int64{}
			for _, l := range all {
				var ns int64
				var stream string
				fmt.Sscanf(l, "%d %s", &ns, &stream)
				if f, ok := first[stream]; ok && ns >= f {
					want = append(want, l)
				}
				if _, ok := firstAfter[stream]; !ok && ns >= attachedAt {
					firstAfter[stream] = ns
				}
			}
			if !slices.Equal(lines, want) {
				t.Errorf("viewer attached from the last packet: %d lines, the folder's tails %d%s",
					len(lines), len(want), firstDiff(strings.Join(lines, "\n"), strings.Join(want, "\n")))
			}
			for stream, ns := range firstAfter {
				if f, ok := first[stream]; !ok || f > ns {
					t.Errorf("stream %s: first event delivered at %d, but the folder has one at %d, written after the attachment (%d)", stream, f, ns, attachedAt)
				}
			}
			if len(lines) >= len(all) {
				t.Errorf("%d lines delivered, the folder has %d: nothing older than the last packets was left out", len(lines), len(all))
			}
			st := s.Stats()
			if st.Reconnects != 1 || s.Late() != 0 {
				t.Errorf("%d reconnections (want 1), %d late events", st.Reconnects, s.Late())
			}
			t.Logf("%d of the folder's %d lines delivered; %+v", len(lines), len(all), st)
		})
	}
}

// packetsSent returns the packets sent so far on a stream.
func (p *producer) packetsSent(stream string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent[stream]
}

// TestCancelStuckRelay: a relay stops answering in the middle of a
// session (its replies held back) and the viewer's context is then
// cancelled, as Ctrl-C does: Read ends at once (after what it holds),
// without waiting for the reply timeout (a minute here), and Close
// returns.
func TestCancelStuckRelay(t *testing.T) {
	r := ourRelay(t)
	px := newCutter(t, r.live)
	p := newProducer(t, r, "stuck", 100*time.Millisecond, "busy_0", "idle_1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- p.run(ctx, time.Second, 2*time.Millisecond, "busy_0", "idle_1") }()
	vctx, stop := context.WithCancel(ctx)
	defer stop()
	s, err := Open(vctx, fmt.Sprintf("net://%s/host/%s/stuck", px.l.Addr(), testHost),
		Options{Beginning: true, WaitSession: true, Timeout: time.Minute, Reconnect: -1})
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	n := 0
	go func() {
		var ev ctf.Event
		for {
			if err := s.Read(&ev); err != nil {
				ended <- err
				return
			}
			if n++; n == 20 {
				px.frozen.Store(true)
				time.AfterFunc(300*time.Millisecond, stop)
			}
		}
	}()
	select {
	case err := <-ended:
		if err != io.EOF {
			t.Errorf("Read after the cancellation: %v, want io.EOF", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Read still blocked 30 s after the cancellation (reply timeout: a minute)")
	}
	s.Close()
	if n < 20 {
		t.Errorf("%d events before the relay stopped answering", n)
	}
	px.frozen.Store(false)
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
}

// TestPrintRange: Print with --begin and --end bounds prints only the
// events between them, in babeltrace2's format, and stops (detaching)
// after the end bound while the session still runs.
func TestPrintRange(t *testing.T) {
	r := ourRelay(t)
	p := newProducer(t, r, "range", 100*time.Millisecond, "busy_0", "idle_1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- p.run(ctx, 1500*time.Millisecond, 2*time.Millisecond, "busy_0", "idle_1") }()
	lo, hi := p.origin.Add(200*time.Millisecond).UnixNano(), p.origin.Add(500*time.Millisecond).UnixNano()
	bound := func(ns int64) pretty.Bound {
		b, err := pretty.ParseBound(fmt.Sprintf("%d.%09d", ns/1e9, ns%1e9))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	po := pretty.DefaultOptions()
	po.ClockSeconds, po.NoDelta = true, true
	var b strings.Builder
	var times []int64
	st, err := Print(ctx, p.url(r, "range"), &b, PrintOptions{Pretty: po,
		Range: pretty.Range{Begin: bound(lo), End: bound(hi)},
		Live:  Options{Beginning: true, WaitSession: true},
		Event: func(ev *ctf.Event) { times = append(times, ev.NS) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(times) == 0 || lines(b.String()) != len(times) {
		t.Fatalf("%d events, %d lines printed", len(times), lines(b.String()))
	}
	for _, ns := range times {
		if ns < lo || ns > hi {
			t.Errorf("event at %d printed, outside [%d, %d]", ns, lo, hi)
		}
	}
	first := strings.SplitN(b.String(), "\n", 2)[0]
	if want := fmt.Sprintf("[%d.%09d] ", times[0]/1e9, times[0]%1e9); !strings.HasPrefix(first, want) {
		t.Errorf("first line %q, want it to begin with %q", first, want)
	}
	t.Logf("%d events printed between the bounds; %+v", len(times), st)
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
}

// TestReconnectAfterEnd: the connection drops and the relay cannot be
// reached again until the tracer has ended the session, which the relay
// then forgets (no viewer attached): the viewer delivers what it received,
// once and in order, says that the rest is lost, and ends without error.
func TestReconnectAfterEnd(t *testing.T) {
	for _, rk := range relays {
		t.Run(rk.name, func(t *testing.T) {
			r := rk.start(t)
			px := newCutter(t, r.live)
			p := newProducer(t, r, "gone", 100*time.Millisecond, "busy_0", "idle_1")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ran := make(chan error, 1)
			go func() { ran <- p.run(ctx, time.Second, 2*time.Millisecond, "busy_0", "idle_1") }()
			var notes []string
			var mu sync.Mutex
			logf := func(f string, a ...any) {
				mu.Lock()
				notes = append(notes, fmt.Sprintf(f, a...))
				mu.Unlock()
			}
			s, err := Open(ctx, fmt.Sprintf("net://%s/host/%s/gone", px.l.Addr(), testHost),
				Options{Beginning: true, WaitSession: true, Logf: logf})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var lines []string
			var ev ctf.Event
			for {
				if err := s.Read(&ev); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				lines = append(lines, line(&ev))
				if len(lines) == 50 {
					px.refuse.Store(true)
					px.cut()
					go func() { // the relay is back once the session is over
						<-ran
						time.Sleep(200 * time.Millisecond)
						px.refuse.Store(false)
						ran <- nil
					}()
				}
			}
			if err := <-ran; err != nil {
				t.Fatal(err)
			}
			all := folderLines(t, r.out)
			if len(lines) < 50 || len(lines) >= len(all) || !slices.Equal(lines, all[:len(lines)]) {
				t.Errorf("%d lines delivered, not the beginning of the folder's %d%s", len(lines), len(all),
					firstDiff(strings.Join(lines, "\n"), strings.Join(all[:min(len(all), len(lines))], "\n")))
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, "is lost") }) {
				t.Errorf("no note about the lost end of the session: %q", notes)
			}
			t.Logf("%d of %d lines; notes %q", len(lines), len(all), notes)
		})
	}
}

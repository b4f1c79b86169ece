package live

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/meta"
)

// got is what a viewer read: one line per message, and the delay from
// each event's time to its delivery.
type got struct {
	lines   []string
	delays  []time.Duration
	before  int // events delivered before the producer ended the session
	ordered bool
	late    uint64
	stats   Stats
}

// line identifies a message without its delivery time.
func line(ev *ctf.Event) string {
	if ev.Kind != ctf.KindEvent {
		return fmt.Sprintf("%d kind %d count %d", ev.NS, ev.Kind, ev.Count)
	}
	s := fmt.Sprintf("%d %s %s", ev.NS, ev.Stream.Name, ev.Class.Name)
	if p := ev.Scope(meta.ScopeEventPayload); p != nil {
		for i := range int(p.N) {
			v := ev.Child(p, i)
			if ev.Class.Name == "late_class" {
				s += " " + ev.String(v)
			} else {
				s += fmt.Sprintf(" %d", v.Bits)
			}
		}
	}
	return s
}

// view reads a live session to its end.
func view(t testing.TB, ctx context.Context, url string, opt Options, ended *atomic.Bool, onEvent func(n int)) (*got, error) {
	opt.WaitSession = true
	s, err := Open(ctx, url, opt)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	g := &got{ordered: true}
	var last int64
	var ev ctf.Event
	for {
		err := s.Read(&ev)
		if err == io.EOF {
			break
		}
		if err != nil {
			return g, err
		}
		now := time.Now()
		if ev.Kind == ctf.KindEvent {
			if ev.NS < last {
				g.ordered = false
			}
			last = ev.NS
			g.delays = append(g.delays, now.Sub(time.Unix(0, ev.NS)))
			if ended != nil && !ended.Load() {
				g.before++
			}
		}
		g.lines = append(g.lines, line(&ev))
		if onEvent != nil {
			onEvent(len(g.lines))
		}
	}
	g.late = s.Late()
	g.stats = s.Stats()
	return g, nil
}

// folderLines reads a trace folder written by a relay.
func folderLines(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*", "*", "kernel"))
	if len(m) != 1 {
		t.Fatalf("relay output: %v", m)
	}
	r, err := ctf.Open([]string{m[0]}, ctf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	err = ReadAll(r, func(ev *ctf.Event) error { out = append(out, line(ev)); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

type relayKind struct {
	name  string
	start func(testing.TB) relayAddrs
}

var relays = []relayKind{{"ours", ourRelay}, {"lttng-relayd", lttngRelay}}

// TestBusyAndIdle: one stream writes an event every 2 ms, another only at
// its start, middle and end. Every event arrives, once, in time order,
// while the session runs (the idle stream's beacons release the busy
// one's events); new metadata (an event class declared midway) is read.
// The viewer prints the same as the relay's output folder read
// afterwards.
func TestBusyAndIdle(t *testing.T) {
	for _, rk := range relays {
		t.Run(rk.name, func(t *testing.T) {
			r := rk.start(t)
			const timer = 100 * time.Millisecond
			p := newProducer(t, r, "busyidle", timer, "busy_0", "idle_1")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var ended atomic.Bool
			var g *got
			var verr error
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				g, verr = view(t, ctx, p.url(r, "busyidle"), Options{Beginning: true}, &ended, nil)
			}()
			if err := p.run(ctx, 1500*time.Millisecond, 2*time.Millisecond, "busy_0", "idle_1"); err != nil {
				t.Fatal(err)
			}
			ended.Store(true)
			wg.Wait()
			if verr != nil {
				t.Fatal(verr)
			}
			checkView(t, g, p.total(), folderLines(t, r.out))
			t.Logf("%d events, %d delivered before the session ended; delay from event to delivery: median %v, worst %v (live timer %v); %+v",
				len(g.lines), g.before, percentile(g.delays, 0.5), percentile(g.delays, 1), timer, g.stats)
			if g.before < len(g.lines)/2 {
				t.Errorf("only %d of %d events delivered while the session ran: the idle stream held the busy one back", g.before, len(g.lines))
			}
		})
	}
}

func checkView(t *testing.T, g *got, total int, want []string) {
	t.Helper()
	if !g.ordered {
		t.Errorf("events delivered out of time order")
	}
	if g.late != 0 {
		t.Errorf("%d late events dropped", g.late)
	}
	if len(g.lines) != total {
		t.Errorf("%d events delivered, %d written", len(g.lines), total)
	}
	if !slices.Equal(g.lines, want) {
		n := 0
		for n < min(len(g.lines), len(want)) && g.lines[n] == want[n] {
			n++
		}
		t.Errorf("live view (%d lines) differs from the relay's folder (%d lines) at line %d", len(g.lines), len(want), n)
	}
}

// cutter is a TCP proxy in front of a relay's live port whose
// connections can be cut.
type cutter struct {
	l      net.Listener
	to     string
	mu     sync.Mutex
	conns  []net.Conn
	cuts   int
	frozen atomic.Bool // the relay's replies are held back
	refuse atomic.Bool // new connections are closed at once
}

// freezer holds the relay's replies back while its cutter is frozen.
type freezer struct {
	c *cutter
	w io.Writer
}

func (f freezer) Write(b []byte) (int, error) {
	for f.c.frozen.Load() {
		time.Sleep(5 * time.Millisecond)
	}
	return f.w.Write(b)
}

func newCutter(t *testing.T, to string) *cutter {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{l: l, to: to}
	t.Cleanup(func() { l.Close(); c.frozen.Store(false); c.cut() })
	go func() {
		for {
			a, err := l.Accept()
			if err != nil {
				return
			}
			if c.refuse.Load() {
				a.Close()
				continue
			}
			b, err := net.Dial("tcp", to)
			if err != nil {
				a.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, a, b)
			c.mu.Unlock()
			go func() { io.Copy(freezer{c, a}, b); a.Close(); b.Close() }()
			go func() { io.Copy(b, a); a.Close(); b.Close() }()
		}
	}()
	return c
}

// cut closes every connection through the proxy.
func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range c.conns {
		x.Close()
	}
	c.conns = nil
	c.cuts++
}

// TestReconnect: the connection to the relay is cut twice while the
// session runs; the viewer reconnects and delivers every event once, in
// order, the same as the relay's folder.
func TestReconnect(t *testing.T) {
	for _, rk := range relays {
		t.Run(rk.name, func(t *testing.T) {
			r := rk.start(t)
			px := newCutter(t, r.live)
			const timer = 100 * time.Millisecond
			p := newProducer(t, r, "cut", timer, "busy_0", "idle_1", "busy_2")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var g *got
			var verr error
			var wg sync.WaitGroup
			wg.Add(1)
			url := fmt.Sprintf("net://%s/host/%s/cut", px.l.Addr(), testHost)
			go func() {
				defer wg.Done()
				g, verr = view(t, ctx, url, Options{Beginning: true, Logf: t.Logf}, nil, func(n int) {
					if n == 100 || n == 400 {
						px.cut()
					}
				})
			}()
			stop := make(chan struct{})
			go func() { // a second busy stream
				for {
					select {
					case <-stop:
						return
					case <-time.After(3 * time.Millisecond):
						p.emit("busy_2")
					}
				}
			}()
			err := p.run(ctx, 1500*time.Millisecond, 2*time.Millisecond, "busy_0", "idle_1")
			close(stop)
			if err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			if verr != nil {
				t.Fatal(verr)
			}
			checkView(t, g, p.total(), folderLines(t, r.out))
			if g.stats.Reconnects != 2 {
				t.Errorf("%d reconnections, want 2", g.stats.Reconnects)
			}
			t.Logf("%d events; %+v", len(g.lines), g.stats)
		})
	}
}

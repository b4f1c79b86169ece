package ctf

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tracetop/tracetop/internal/testenv"
)

// livePacket is one packet of a recorded trace replayed as if live.
type livePacket struct {
	sl         *liveSlot
	data       []byte
	begin, end int64 // ns
	last       bool
}

// liveSlot is a stream of the replay, announced when mk is called.
type liveSlot struct {
	ls   *LiveStream
	mk   func()
	rest []*livePacket
}

// replayLive feeds the packets of a recorded trace to a LiveReader in the
// order a live relay receives them (by end time). After each packet, every
// stream gets the bound a beacon would give: the start of its next packet.
// Streams are announced late, just before their first packet, unless
// early.
func replayLive(t *testing.T, dir string, early bool) (*LiveReader, *int) {
	t.Helper()
	r, err := Open([]string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var pkts []*livePacket
	lr := NewLiveReader(nil)
	feeds := 0
	var slots []*liveSlot
	for ti, tr := range r.traces {
		lt := lr.AddTrace(tr.Path)
		mb, err := os.ReadFile(filepath.Join(tr.Path, "metadata"))
		if err != nil {
			t.Fatal(err)
		}
		if err := lt.SetMetadata(mb); err != nil {
			t.Fatal(err)
		}
		for _, s := range r.streams {
			if s.tp != r.plans[ti] {
				continue
			}
			sl := &liveSlot{}
			name := s.pub.Name
			sl.mk = func() { sl.ls = lt.AddStream(name) }
			if early {
				sl.mk()
			}
			slots = append(slots, sl)
			for i, p := range s.packets {
				b := make([]byte, p.Size)
				f, err := os.Open(s.files[p.File].path)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.ReadAt(b, p.Offset); err != nil {
					t.Fatal(err)
				}
				f.Close()
				lp := &livePacket{sl: sl, data: b, last: i == len(s.packets)-1}
				lp.begin, _ = s.sp.clock.ns(p.Begin)
				lp.end, _ = s.sp.clock.ns(p.End)
				pkts = append(pkts, lp)
				sl.rest = append(sl.rest, lp)
			}
		}
	}
	slices.SortStableFunc(pkts, func(a, b *livePacket) int {
		switch {
		case a.end < b.end:
			return -1
		case a.end > b.end:
			return 1
		}
		return 0
	})
	next := 0
	lr.feed = FeederFunc(func(blocking []*LiveStream) error {
		feeds++
		if next == len(pkts) {
			lr.EndStreams()
			return nil
		}
		p := pkts[next]
		next++
		// Announce the streams that start before this packet ends, as
		// late as a relay could.
		for _, o := range slots {
			if o.ls == nil && len(o.rest) > 0 && o.rest[0].begin <= p.end {
				o.mk()
			}
		}
		sl := p.sl
		if err := sl.ls.AddPacket(p.data); err != nil {
			return err
		}
		sl.rest = sl.rest[1:]
		if p.last {
			sl.ls.End()
		}
		for _, o := range slots {
			if o.ls == nil || o.ls.ended {
				continue
			}
			if len(o.rest) > 0 {
				o.ls.SetBound(o.rest[0].begin)
			}
		}
		return nil
	})
	return lr, &feeds
}

type liveKey struct {
	ns     int64
	kind   Kind
	name   string
	stream string
	count  uint64
	vals   uint64
}

func liveKeyOf(ev *Event) liveKey {
	k := liveKey{ns: ev.NS, kind: ev.Kind, count: ev.Count}
	if ev.Class != nil {
		k.name = ev.Class.Name
	}
	if ev.Stream != nil {
		k.stream = ev.Stream.Name
	}
	h := fnv.New64a()
	for _, v := range ev.Values {
		fmt.Fprint(h, v.Bits, v.N, ",")
	}
	h.Write(ev.Text)
	k.vals = h.Sum64()
	return k
}

func readLiveKeys(t *testing.T, src Source) []liveKey {
	t.Helper()
	var out []liveKey
	var ev Event
	for {
		err := src.Read(&ev)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("after %d messages: %v", len(out), err)
		}
		out = append(out, liveKeyOf(&ev))
	}
}

// TestLiveReplay: a recorded trace replayed packet by packet, with
// beacon-like bounds, is read live in the same order with the same
// values as from its folder; never older than what was delivered.
func TestLiveReplay(t *testing.T) {
	for _, name := range []string{"tracevizlab/ls-ust", "tracevizlab/simple-kernel", "tracevizlab/cat-kern-ust",
		"generated/ust-libc-small", "babeltrace/packet-seq-num-2-streams-lost-in-1"} {
		for _, early := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/early=%v", name, early), func(t *testing.T) {
				dir := filepath.Join(testenv.SharedDir(t, "traces/"+name), "trace")
				r, err := Open([]string{dir}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				want := readLiveKeys(t, r)
				r.Close()
				lr, feeds := replayLive(t, dir, early)
				got := readLiveKeys(t, lr)
				for i := 1; i < len(got); i++ {
					if got[i].kind == KindEvent && got[i].ns < got[i-1].ns {
						t.Fatalf("message %d at %d ns is older than message %d at %d ns", i, got[i].ns, i-1, got[i-1].ns)
					}
				}
				if lr.Late() != 0 {
					t.Errorf("%d late events", lr.Late())
				}
				if len(got) != len(want) {
					t.Fatalf("%d messages live, %d from the folder", len(got), len(want))
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("message %d: live %+v, folder %+v", i, got[i], want[i])
					}
				}
				t.Logf("%d messages, %d feeds", len(got), *feeds)
			})
		}
	}
}

// TestLiveHoldsBack: a stream without a bound holds the others back; a
// beacon releases them up to its time, not further; an ended stream
// holds nothing back.
func TestLiveHoldsBack(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t, "traces/tracevizlab/ls-ust"), "trace")
	r, err := Open([]string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var busy, idle *stream
	for _, s := range r.streams {
		if len(s.packets) > 0 && busy == nil {
			busy = s
		} else if busy != nil && s.tp == busy.tp && idle == nil {
			idle = s
		}
	}
	if busy == nil || idle == nil {
		t.Skip("trace without two streams")
	}
	var fed [][]string
	lr := NewLiveReader(nil)
	stop := errors.New("blocked")
	lr.feed = FeederFunc(func(b []*LiveStream) error {
		var names []string
		for _, ls := range b {
			names = append(names, ls.name)
		}
		fed = append(fed, names)
		return stop
	})
	lt := lr.AddTrace(dir)
	mb, err := os.ReadFile(filepath.Join(filepath.Dir(busy.files[0].path), "metadata"))
	if err != nil {
		t.Fatal(err)
	}
	if err := lt.SetMetadata(mb); err != nil {
		t.Fatal(err)
	}
	a, b := lt.AddStream("a"), lt.AddStream("b")
	p := busy.packets[0]
	data := make([]byte, p.Size)
	f, _ := os.Open(busy.files[p.File].path)
	f.ReadAt(data, p.Offset)
	f.Close()
	if err := a.AddPacket(data); err != nil {
		t.Fatal(err)
	}
	var ev Event
	if err := lr.Read(&ev); err != stop {
		t.Fatalf("read with a stream without bound: %v, want the feeder's error", err)
	}
	if len(fed) != 1 || !slices.Equal(fed[0], []string{"b"}) {
		t.Fatalf("feeder asked for %v, want [[b]]", fed)
	}
	// A beacon at the first event's time releases exactly that event.
	lr.err = nil
	first := a.st.key
	b.SetBound(first)
	if err := lr.Read(&ev); err != nil || ev.NS != first {
		t.Fatalf("read after a beacon at %d: %v at %d", first, err, ev.NS)
	}
	if a.inHeap && a.st.key > first {
		if err := lr.Read(&ev); err != stop {
			t.Fatalf("read past the beacon: %v at %d", err, ev.NS)
		}
	}
	lr.err = nil
	b.End()
	n := 1
	for {
		err := lr.Read(&ev)
		if err == stop {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if a.inHeap {
		t.Fatalf("stream a still holds messages after %d", n)
	}
	// An older packet on a stream after a newer event was delivered: its
	// events are dropped, not delivered out of order.
	lr.err = nil
	c := lt.AddStream("c")
	c.SetBound(0)
	if err := c.AddPacket(data); err != nil {
		t.Fatal(err)
	}
	a.End()
	c.End()
	lr.EndStreams()
	last := ev.NS
	delivered := 0
	for {
		err := lr.Read(&ev)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.NS < last {
			t.Fatalf("late event at %d delivered after %d", ev.NS, last)
		}
		delivered++
	}
	if lr.Late() == 0 || lr.Late()+uint64(delivered) != uint64(n) {
		t.Fatalf("%d late events dropped and %d delivered, want %d in all", lr.Late(), delivered, n)
	}
}

// TestLiveDamagedPacket: a packet whose tail is damaged delivers the
// events before the damage, then the error, and nothing after it.
func TestLiveDamagedPacket(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t, "traces/generated/ust-libc-small"), "trace")
	r, err := Open([]string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var s *Stream
	for _, st := range r.Streams() {
		if len(st.Packets()) >= 1 {
			s = st
			break
		}
	}
	if s == nil {
		t.Fatal("no stream with a packet")
	}
	first, err := s.ReadPacket(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The good first packet followed by a packet of garbage.
	data := append(slices.Clip(first), make([]byte, 4096)...)
	lr := NewLiveReader(nil)
	lt := lr.AddTrace(s.Trace.Path)
	mb, err := os.ReadFile(filepath.Join(s.Trace.Path, "metadata"))
	if err != nil {
		t.Fatal(err)
	}
	if err := lt.SetMetadata(mb); err != nil {
		t.Fatal(err)
	}
	ls := lt.AddStream(s.Name)
	if err := ls.AddPacket(data); err != nil {
		t.Fatalf("first call reports the damage before delivering the good packet: %v", err)
	}
	if err := ls.AddPacket(first); err == nil {
		t.Error("a packet after the damage was accepted")
	}
	ls.End()
	lr.EndStreams()
	var ev Event
	n := 0
	for {
		err := lr.Read(&ev)
		if err == io.EOF {
			t.Fatal("the damage was not reported")
		}
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v is not a format error", err)
			}
			t.Logf("after %d messages: %v", n, err)
			break
		}
		n++
	}
	if n == 0 {
		t.Error("no event of the good packet was delivered")
	}
}

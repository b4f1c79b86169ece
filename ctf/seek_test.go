package ctf

import (
	"io"
	"path/filepath"
	"testing"
)

type seekKey struct {
	ns     int64
	name   string
	stream *Stream
	kind   Kind
}

func readKeys(t *testing.T, r *Reader, max int) []seekKey {
	t.Helper()
	var out []seekKey
	var ev Event
	for len(out) < max {
		err := r.Read(&ev)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		k := seekKey{ns: ev.NS, stream: ev.Stream, kind: ev.Kind}
		if ev.Kind == KindEvent {
			k.name = ev.Class.Name
		}
		out = append(out, k)
	}
	return out
}

// TestSeekTime seeks to times across real multi-stream traces (with and
// without index files) and checks the events that follow are exactly those
// a full read gives from that time on, and that seeking decoded only the
// packets around the target.
func TestSeekTime(t *testing.T) {
	root, _ := loadIndex(t)
	for _, tr := range []string{
		"traces/tracecompass/many-threads/trace",           // 8 streams, no index
		"traces/babeltrace/succeed-trace-with-index/trace", // index files
		"traces/tracevizlab/cat-kern-ust/trace",            // two traces
		"traces/babeltrace/succeed-lttng-tracefile-rotation/trace",
	} {
		t.Run(filepath.Base(filepath.Dir(tr)), func(t *testing.T) {
			path := filepath.Join(root, tr)
			r, err := Open([]string{path}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			all := readKeys(t, r, 1<<30)
			var events []seekKey
			for _, k := range all {
				if k.kind == KindEvent {
					events = append(events, k)
				}
			}
			if len(events) == 0 {
				t.Fatal("no events")
			}
			for _, q := range []int{0, 1, len(events) / 3, len(events) / 2, len(events) - 1} {
				target := events[q].ns
				for q > 0 && events[q-1].ns == target {
					q--
				}
				before := r.packetLoads()
				if err := r.SeekTime(target); err != nil {
					t.Fatal(err)
				}
				loads := r.packetLoads() - before
				got := readKeys(t, r, 200)
				var gotEv []seekKey
				for _, k := range got {
					if k.kind == KindEvent {
						gotEv = append(gotEv, k)
					}
				}
				want := events[q:min(len(events), q+len(gotEv))]
				if len(gotEv) == 0 || len(want) != len(gotEv) {
					t.Fatalf("seek %d: %d events after seeking, want some", target, len(gotEv))
				}
				for i := range want {
					if want[i] != gotEv[i] {
						t.Fatalf("seek %d: event %d: got %+v want %+v", target, i, gotEv[i], want[i])
					}
				}
				t.Logf("seek to event %d of %d: decoded %d of %d packets", q, len(events), loads, r.packetCount())
				if total := r.packetCount(); q > len(events)/3 && loads > total/2+len(r.streams) {
					t.Errorf("seek %d decoded %d of %d packets", target, loads, total)
				}
			}
			// Seeking past the end gives EOF; to the start, everything.
			if err := r.SeekTime(events[len(events)-1].ns + 1); err != nil {
				t.Fatal(err)
			}
			if k := readKeys(t, r, 10); len(k) != 0 {
				t.Errorf("after the end: %d messages", len(k))
			}
			if err := r.SeekTime(-1 << 63); err != nil {
				t.Fatal(err)
			}
			if k := readKeys(t, r, 1<<30); len(k) != len(all) {
				t.Errorf("from the start: %d messages, want %d", len(k), len(all))
			}
		})
	}
}

// TestPackets checks the packet index and raw packet reads of every
// stream, with the trace's LTTng index files and without them: packets
// tile each file, each packet starts with the magic, and the packets come
// from the index files exactly when they are used. The two indexes are
// equal.
func TestPackets(t *testing.T) {
	root, _ := loadIndex(t)
	var first [][]PacketInfo // with the index files
	for pass, opt := range []Options{{}, {NoIndex: true}} {
		r, err := Open([]string{filepath.Join(root, "traces/babeltrace/succeed-trace-with-index/trace")}, opt)
		if err != nil {
			t.Fatal(err)
		}
		for si, s := range r.Streams() {
			var end int64
			if pass == 0 {
				first = append(first, s.Packets())
			}
			for i, p := range s.Packets() {
				if p.Offset != end {
					t.Fatalf("%s packet %d at %d, want %d", s.Name, i, p.Offset, end)
				}
				end += p.Size
				b, err := s.ReadPacket(i, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(b) != int(p.Size) || b[0] != 0xc1 || b[1] != 0x1f || b[2] != 0xfc || b[3] != 0xc1 {
					t.Fatalf("%s packet %d: %d bytes starting % x", s.Name, i, len(b), b[:4])
				}
				if !p.HasTimes || p.End < p.Begin || !p.HasSeq || p.SeqNum != uint64(i) {
					t.Errorf("%s packet %d: %+v", s.Name, i, p)
				}
				// The index files are read when present (and not
				// ignored); otherwise the index is built from the packets.
				if p.fromIndex != !opt.NoIndex {
					t.Errorf("%s packet %d (NoIndex %v): from the index file is %v", s.Name, i, opt.NoIndex, p.fromIndex)
				}
				if pass == 1 {
					q := first[si][i]
					q.fromIndex = false
					if p != q {
						t.Errorf("%s packet %d: built %+v, index file %+v", s.Name, i, p, q)
					}
				}
			}
			if pass == 1 && len(s.Packets()) != len(first[si]) {
				t.Errorf("%s: %d packets built, %d in the index file", s.Name, len(s.Packets()), len(first[si]))
			}
		}
		r.Close()
	}
}

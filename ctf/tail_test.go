package ctf_test

import (
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/meta"
	"github.com/tracetop/tracetop/ctf/writer"
)

type tailEv struct {
	NS  int64
	CPU int
	N   int64
}

func readAll(t *testing.T, r *ctf.Reader, out []tailEv) []tailEv {
	t.Helper()
	var ev ctf.Event
	for {
		err := r.Read(&ev)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind != ctf.KindEvent {
			continue
		}
		out = append(out, tailEv{ev.NS, ev.Stream.CPU, ev.Field(meta.ScopeEventPayload, 0).Int()})
	}
}

// TestRefreshGrowingTrace writes a trace while reading it: packets
// appended to open stream files and a stream file that appears late are
// read by Refresh, the merge stays in time order, and the whole equals
// what a reader opened on the final trace reads.
func TestRefreshGrowingTrace(t *testing.T) {
	dir := t.TempDir()
	uuid := [16]byte{1, 2, 3}
	md := &writer.Metadata{UUID: uuid, ClockUUID: uuid, Env: []writer.EnvValue{{Key: "domain", Str: "kernel"}}}
	if err := md.AddStream(writer.StreamClass{ID: 0}); err != nil {
		t.Fatal(err)
	}
	cls, err := md.Add(&writer.EventClass{Stream: 0, Name: "tick", Fields: []writer.Field{writer.I64("n")}})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := writer.NewDirSink(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.WriteMetadata(writer.AppendMetadataPackets(nil, uuid, md.Pending())); err != nil {
		t.Fatal(err)
	}
	var streams [2]*writer.Stream
	for cpu := range streams {
		if streams[cpu], err = writer.NewStream(writer.StreamConfig{Name: "chan_" + string(rune('0'+cpu)), CPU: uint32(cpu),
			InstanceID: uint64(cpu), UUID: uuid}, sink); err != nil {
			t.Fatal(err)
		}
	}
	n := int64(0)
	var p writer.Payload
	// write appends events of the CPUs in [from, to[ µs, then flushes
	// their packets at to.
	write := func(cpus []int, from, to uint64) {
		for ts := from; ts < to; ts += 7 {
			for _, c := range cpus {
				p.Reset()
				p.I64(n)
				n++
				if err := streams[c].Append(ts*1000+uint64(c), cls.ID, nil, p.B); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, c := range cpus {
			if err := streams[c].Flush(to * 1000); err != nil {
				t.Fatal(err)
			}
		}
	}
	write([]int{0}, 0, 100)
	r, err := ctf.Open([]string{dir}, ctf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := readAll(t, r, nil)
	if len(got) == 0 {
		t.Fatal("nothing read before growing")
	}
	for round := range 5 {
		from := uint64(100 + 100*round)
		write([]int{0, 1}, from, from+100) // CPU 1's file appears in the first round
		added, err := r.Refresh()
		if err != nil {
			t.Fatal(err)
		}
		if added == 0 {
			t.Fatalf("round %d: no packet added", round)
		}
		got = readAll(t, r, got)
	}
	for _, s := range streams {
		s.Close(1000_000)
	}
	sink.Close()
	if added, err := r.Refresh(); err != nil || added != 0 {
		t.Errorf("Refresh after close: %d packets, %v (want only empty packets or none)", added, err)
	}
	got = readAll(t, r, got)

	full, err := ctf.Open([]string{dir}, ctf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	want := readAll(t, full, nil)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("growing read differs from a fresh read (-want +got):\n%s", diff)
	}
	if b, e, ok := r.Streams()[1].Span(); !ok || b < 100_000 || e < 500_000 {
		t.Errorf("CPU 1's stream spans [%d, %d] (%v), want it to start late at 100 µs", b, e, ok)
	}
}

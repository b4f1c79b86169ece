package writer_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/meta"
	"github.com/tracetop/tracetop/ctf/writer"
)

// value is one field as both sides see it: an integer, or text.
type value struct {
	I uint64
	S string
}

type written struct {
	stream string
	ts     uint64
	name   string
	ctx    []value
	fields []value
}

// genFields fills a payload for fields with random values and returns
// what a reader must find.
func genFields(r *rand.Rand, p *writer.Payload, fs []writer.Field) []value {
	var out []value
	mask := func(bits uint8, v uint64) uint64 {
		if bits == 64 {
			return v
		}
		return v & (1<<bits - 1)
	}
	word := func() string {
		const letters = "abcdefghijklmnopqrstuvwxyz/._-"
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = letters[r.IntN(len(letters))]
		}
		return string(b)
	}
	for _, f := range fs {
		switch f.Kind {
		case writer.Int:
			v := mask(f.Bits, r.Uint64())
			if f.BigEndian {
				p.BE32(uint32(v))
			} else {
				p.Int(v, f.Bits)
			}
			out = append(out, value{I: v})
		case writer.String:
			s := word()
			p.String(s)
			out = append(out, value{S: s})
		case writer.Text:
			s := word()
			if len(s) > f.Len {
				s = s[:f.Len]
			}
			p.TextString(s, f.Len)
			out = append(out, value{S: s})
		case writer.Array:
			for range f.Len {
				v := mask(f.Bits, r.Uint64())
				p.Int(v, f.Bits)
				out = append(out, value{I: v})
			}
		case writer.Sequence:
			n := r.IntN(5)
			p.Int(uint64(n), f.LenBits)
			out = append(out, value{I: uint64(n)})
			for range n {
				v := mask(f.Bits, r.Uint64())
				p.Int(v, f.Bits)
				out = append(out, value{I: v})
			}
		}
	}
	return out
}

// flatten reads back a struct value as the same list of values.
func flatten(ev *ctf.Event, v *ctf.Value) []value {
	var out []value
	if v == nil {
		return out
	}
	for i := 0; i < int(v.N); i++ {
		c := ev.Child(v, i)
		switch {
		case c.Class.IsText() || c.Class.Kind == meta.KindString:
			s := string(ev.Bytes(c))
			if j := strings.IndexByte(s, 0); j >= 0 {
				s = s[:j]
			}
			out = append(out, value{S: s})
		case c.Class.Kind == meta.KindArray || c.Class.Kind == meta.KindSequence:
			for j := 0; j < int(c.N); j++ {
				out = append(out, value{I: ev.Child(c, j).Bits & mask(ev.Child(c, j).Class.Size)})
			}
		default:
			out = append(out, value{I: c.Bits & mask(c.Class.Size)})
		}
	}
	return out
}

func mask(bits int) uint64 {
	if bits >= 64 {
		return ^uint64(0)
	}
	return 1<<bits - 1
}

// Events written with the writer (every field kind, more classes than the
// compact header holds, time gaps that need the extended header, small
// packets, discarded events, beacons) read back the same with package ctf.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	uuid := [16]byte{1, 2, 3, 4, 5, 6, 0x47, 8, 0x89, 10, 11, 12, 13, 14, 15, 16}
	md := &writer.Metadata{UUID: uuid, ClockUUID: [16]byte{9}, ClockOffsetNS: 1_700_000_000_000_000_000,
		Env: []writer.EnvValue{{Key: "domain", Str: "kernel"}, {Key: "tracer_major", Int: 2, IsInt: true}}}
	ctxFields := []writer.Field{writer.I32("tid"), writer.Comm("procname"), writer.U64("perf_cpu_page_fault")}
	if err := md.AddStream(writer.StreamClass{ID: 0, Context: ctxFields}); err != nil {
		t.Fatal(err)
	}
	shapes := [][]writer.Field{
		{writer.Comm("prev_comm"), writer.I32("prev_tid"), writer.I64("prev_state")},
		{writer.Str("filename"), writer.I32("dfd"), writer.U16("mode")},
		{{Name: "vtids", Kind: writer.Sequence, Bits: 32, Signed: true, LenBits: 8}, writer.U32("ns")},
		{{Name: "args", Kind: writer.Array, Bits: 64, Len: 6}, writer.Hex64("ip")},
		{writer.U8("a"), writer.I8("b"), writer.I16("c"), {Name: "addr", Bits: 32, Base: 16, BigEndian: true}},
		{},
	}
	var classes []*writer.EventClass
	for i := range 40 { // ids above 30 need the extended header
		c, err := md.Add(&writer.EventClass{Name: fmt.Sprintf("event_%02d", i), Fields: shapes[i%len(shapes)]})
		if err != nil {
			t.Fatal(err)
		}
		classes = append(classes, c)
	}
	sink, err := writer.NewDirSink(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.WriteMetadata(writer.AppendMetadataPackets(nil, uuid, md.Pending())); err != nil {
		t.Fatal(err)
	}
	var want []written
	var streams []*writer.Stream
	for cpu := range 3 {
		st, err := writer.NewStream(writer.StreamConfig{Name: fmt.Sprintf("channel0_%d", cpu), CPU: uint32(cpu),
			InstanceID: uint64(cpu), PacketSize: 8192, UUID: uuid}, sink)
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, st)
	}
	var ctxp, p writer.Payload
	ts := uint64(1_000_000)
	for i := range 3000 {
		cpu := r.IntN(2) // stream 2 stays idle: beacons only
		switch r.IntN(10) {
		case 0:
			ts += 1 << 28 // beyond the 27-bit compact timestamp
		default:
			ts += uint64(r.IntN(5000))
		}
		c := classes[r.IntN(len(classes))]
		ctxp.Reset()
		p.Reset()
		w := written{stream: fmt.Sprintf("channel0_%d", cpu), ts: ts, name: c.Name}
		w.ctx = genFields(r, &ctxp, ctxFields)
		w.fields = genFields(r, &p, c.Fields)
		if err := streams[cpu].Append(ts, c.ID, ctxp.B, p.B); err != nil {
			t.Fatal(err)
		}
		want = append(want, w)
		if i%700 == 0 {
			streams[cpu].AddDiscarded(3)
			if err := streams[2].Beacon(ts); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, st := range streams {
		if err := st.Close(ts + 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}

	rd, err := ctf.Open([]string{dir}, ctf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var got []written
	var ev ctf.Event
	var discarded uint64
	for {
		err := rd.Read(&ev)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == ctf.KindDiscarded {
			discarded += ev.Count
			continue
		}
		if ev.Kind != ctf.KindEvent {
			continue
		}
		got = append(got, written{stream: ev.Stream.Name, ts: ev.Cycles, name: ev.Class.Name,
			ctx:    flatten(&ev, ev.Scope(meta.ScopeEventCommonContext)),
			fields: flatten(&ev, ev.Scope(meta.ScopeEventPayload))})
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(written{})); diff != "" {
		var b bytes.Buffer
		fmt.Fprintf(&b, "%d written, %d read\n", len(want), len(got))
		t.Fatalf("round trip differs (-written +read):\n%s%.4000s", b.String(), diff)
	}
	if discarded != 5*3 {
		t.Errorf("read %d discarded events, wrote %d", discarded, 5*3)
	}
	t.Logf("%d events over 3 streams read back equal", len(got))
}

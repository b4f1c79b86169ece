package ctf

import (
	"io"
	"math"
	"math/rand"
	"testing"

	"github.com/tracetop/tracetop/ctf/meta"
)

// bitWriter encodes fields the way CTF lays them out (the inverse of the
// decoder), for generated streams.
type bitWriter struct {
	b   []byte
	off uint64
}

func (w *bitWriter) align(a uint64) { w.off = alignUp(w.off, a) }

func (w *bitWriter) put(v uint64, size uint32, order meta.ByteOrder) {
	for uint64(len(w.b))*8 < w.off+uint64(size)+8 {
		w.b = append(w.b, 0)
	}
	for i := uint32(0); i < size; i++ {
		p := w.off + uint64(i)
		var bit uint64
		if order == meta.LittleEndian {
			bit = v >> i & 1
			w.b[p/8] |= byte(bit) << (p % 8)
		} else {
			bit = v >> (size - 1 - i) & 1
			w.b[p/8] |= byte(bit) << (7 - p%8)
		}
	}
	w.off += uint64(size)
}

func (w *bitWriter) bytes(s string) {
	w.align(8)
	for i := 0; i < len(s); i++ {
		w.put(uint64(s[i]), 8, meta.LittleEndian)
	}
}

func TestReadBitsMatchesBitByBit(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 20000; n++ {
		off := uint64(rng.Intn(64))
		size := uint32(1 + rng.Intn(64))
		order := meta.ByteOrder(rng.Intn(2))
		v := rng.Uint64()
		if size < 64 {
			v &= 1<<size - 1
		}
		var w bitWriter
		w.off = off
		w.put(v, size, order)
		buf := append(w.b, make([]byte, bufPad)...)
		var got uint64
		if order == meta.LittleEndian {
			got = readLE(buf, off, size)
		} else {
			got = readBE(buf, off, size)
		}
		if got != v {
			t.Fatalf("%s %d bits at bit %d: got %#x want %#x", order, size, off, got, v)
		}
	}
}

func TestWrapClock(t *testing.T) {
	for _, c := range []struct {
		name    string
		last, v uint64
		size    uint32
		want    uint64
	}{
		{"no wrap", 0x1_0000_0100, 0x200, 27, 0x1_0000_0200},
		{"same value", 0x1_0000_0100, 0x100, 27, 0x1_0000_0100},
		{"27-bit wrap", 0x7ff_ffff, 0x5, 27, 0x800_0005},
		{"32-bit wrap", 0x1_ffff_fff0, 0x10, 32, 0x2_0000_0010},
		{"64-bit value replaces", 0x1234, 0x10, 64, 0x10},
	} {
		if got := wrapClock(c.last, c.v, c.size); got != c.want {
			t.Errorf("%s: got %#x want %#x", c.name, got, c.want)
		}
	}
}

func TestClockConversion(t *testing.T) {
	for _, c := range []struct {
		name  string
		clock meta.Clock
		v     uint64
		want  int64
		ok    bool
	}{
		{"1 GHz with offsets", meta.Clock{Freq: 1e9, OffsetS: 10, Offset: 5}, 7, 10_000_000_012, true},
		{"negative offset_s", meta.Clock{Freq: 1e9, OffsetS: -2}, 500, -1_999_999_500, true},
		{"negative cycle offset", meta.Clock{Freq: 1e9, Offset: -1_500_000_000}, 0, -1_500_000_000, true},
		{"offset above one second of cycles", meta.Clock{Freq: 1000, Offset: 2500}, 500, 3_000_000_000, true},
		{"2.1 GHz", meta.Clock{Freq: 2_100_000_000}, 2_100_000_000, 1_000_000_000, true},
		{"offset past int64 nanoseconds", meta.Clock{Freq: 1e9, OffsetS: 1351530929945824323}, 1, 0, false},
		{"value past int64 nanoseconds", meta.Clock{Freq: 1e9, OffsetS: 1e9}, math.MaxInt64, 0, false},
	} {
		c := c
		got, ok := newClockConv(&c.clock).ns(c.v)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("%s: got %d, %v want %d, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

// genTrace builds the metadata of an LTTng-like trace in Go: packet
// header, packet context with a length used by an event, the compact
// event header (5-bit id, 27-bit timestamp, extended escape) in the given
// byte order, and an event exercising sequences (relative and absolute
// lengths), variants by label, text arrays, floats and bit fields.
func genTrace(order meta.ByteOrder) *meta.Trace {
	u := func(size, align int) *meta.Class {
		return &meta.Class{Kind: meta.KindInt, Size: size, Align: align, Order: order, Base: 10}
	}
	clk := &meta.Clock{Name: "monotonic", Freq: 1e9, OffsetS: 100}
	ts := func(size, align int) *meta.Class { c := u(size, align); c.MapClock = "monotonic"; return c }
	enum := func(c *meta.Class, m ...meta.Mapping) *meta.Class { c.Kind = meta.KindEnum; c.Mappings = m; return c }
	rng := func(label string, lo, hi uint64) meta.Mapping {
		return meta.Mapping{Label: label, Ranges: []meta.Range{{Lo: lo, Hi: hi}}}
	}
	st := func(fields ...meta.Field) *meta.Class {
		return &meta.Class{Kind: meta.KindStruct, Align: 1, Fields: fields}
	}
	f := func(n string, c *meta.Class) meta.Field { return meta.Field{Name: n, Class: c} }
	char := u(8, 8)
	char.Encoding = meta.EncodingUTF8
	header := st(
		f("id", enum(u(5, 1), rng("compact", 0, 30), rng("extended", 31, 31))),
		f("v", &meta.Class{Kind: meta.KindVariant, Align: 1, Selector: meta.FieldRef{Path: []string{"id"}}, Fields: []meta.Field{
			f("compact", st(f("timestamp", ts(27, 1)))),
			f("extended", st(f("id", u(32, 8)), f("timestamp", ts(64, 8)))),
		}}),
	)
	header.Align = 8
	tag := enum(u(8, 8), rng("_small", 0, 0), rng("big", 1, 1))
	payload := st(
		f("_tag", tag),
		f("_val", &meta.Class{Kind: meta.KindVariant, Align: 1, Selector: meta.FieldRef{Path: []string{"_tag"}}, Fields: []meta.Field{
			f("_small", u(8, 8)), f("_big", u(64, 8)),
		}}),
		f("_n", u(16, 8)),
		f("_inner", st(
			f("_bits", &meta.Class{Kind: meta.KindSequence, Align: 1, Elem: u(3, 1), LengthRef: meta.FieldRef{Path: []string{"_n"}}}),
		)),
		f("_ctxseq", &meta.Class{Kind: meta.KindSequence, Align: 8, Elem: u(32, 32),
			LengthRef: meta.FieldRef{Scope: meta.ScopePacketContext, Path: []string{"nseq"}}}),
		f("_comm", &meta.Class{Kind: meta.KindArray, Align: 8, Elem: char, Length: 8}),
		f("_str", &meta.Class{Kind: meta.KindString, Align: 8}),
		f("_d", &meta.Class{Kind: meta.KindFloat, Align: 64, ExpDig: 11, MantDig: 53, Order: order}),
		f("_s", &meta.Class{Kind: meta.KindInt, Size: 12, Align: 1, Signed: true, Order: order}),
	)
	sc := &meta.Stream{
		ID: 0,
		PacketContext: st(
			f("timestamp_begin", ts(64, 64)), f("timestamp_end", ts(64, 64)),
			f("content_size", u(64, 64)), f("packet_size", u(64, 64)),
			f("events_discarded", u(32, 32)), f("nseq", u(8, 8)), f("cpu_id", u(32, 32)),
		),
		EventHeader: header,
		Clock:       clk,
		Events: []*meta.Event{
			{ID: 0, Name: "tick", Payload: st(f("_x", u(32, 32)))},
			{ID: 40, Name: "test", Payload: payload},
		},
	}
	return &meta.Trace{Major: 1, Minor: 8, ByteOrder: order,
		PacketHeader: st(f("magic", u(32, 32)), f("stream_id", u(32, 32))),
		Clocks:       []*meta.Clock{clk}, Streams: []*meta.Stream{sc}}
}

type genEvent struct {
	id  uint64
	ts  uint64
	ext bool
}

// genPacket encodes one packet of genTrace.
func genPacket(order meta.ByteOrder, begin, end uint64, discarded uint32, evs []genEvent) []byte {
	var w bitWriter
	w.put(0xC1FC1FC1, 32, order)
	w.put(0, 32, order)
	w.align(64)
	w.put(begin, 64, order)
	w.put(end, 64, order)
	sizes := w.off
	w.put(0, 64, order) // content_size, patched below
	w.put(0, 64, order) // packet_size
	w.put(uint64(discarded), 32, order)
	w.put(2, 8, order) // nseq
	w.align(32)
	w.put(3, 32, order) // cpu_id
	for _, e := range evs {
		w.align(8)
		if e.ext || e.id > 30 {
			w.put(31, 5, order)
			w.align(8)
			w.put(e.id, 32, order)
			w.put(e.ts, 64, order)
		} else {
			w.put(e.id, 5, order)
			w.put(e.ts&(1<<27-1), 27, order)
		}
		if e.id == 0 {
			w.align(32)
			w.put(e.ts, 32, order)
			continue
		}
		w.align(64)                          // the payload aligns like its float
		w.put(1, 8, order)                   // _tag = big
		w.put(0x1122334455667788, 64, order) // _val._big
		w.put(3, 16, order)                  // _n
		w.put(5, 3, order)                   // _inner._bits
		w.put(2, 3, order)
		w.put(7, 3, order)
		w.align(32) // _ctxseq: 2 elements from the packet context
		w.put(10, 32, order)
		w.put(20, 32, order)
		w.bytes("ab\x00zzzzz") // _comm
		w.bytes("hello\x00")
		w.align(64)
		w.put(math.Float64bits(-2.5), 64, order)
		w.put(uint64(0xfff), 12, order) // _s = -1
	}
	content := w.off
	w.align(8)
	size := (w.off/8 + 63) &^ 63 * 8
	var pw bitWriter
	pw.off = sizes
	pw.put(content, 64, order)
	pw.put(size, 64, order)
	for i := range pw.b {
		if i*8 >= int(sizes) {
			w.b[i] |= pw.b[i]
		}
	}
	out := make([]byte, size/8)
	copy(out, w.b)
	return out
}

func TestGeneratedStreams(t *testing.T) {
	for _, order := range []meta.ByteOrder{meta.LittleEndian, meta.BigEndian} {
		t.Run(order.String(), func(t *testing.T) {
			tp, err := compileTrace(genTrace(order))
			if err != nil {
				t.Fatal(err)
			}
			// Timestamps cross the 27-bit wrap and use the escape.
			p1 := genPacket(order, 1<<27-10, 1<<27+100, 0, []genEvent{
				{id: 40, ts: 1<<27 - 5}, {id: 0, ts: 1<<27 + 3}, {id: 40, ts: 1<<27 + 50, ext: true}})
			p2 := genPacket(order, 1<<27+200, 1<<28, 7, []genEvent{{id: 0, ts: 1<<27 + 300}})
			r, err := memReader(tp, append(p1, p2...))
			if err != nil {
				t.Fatal(err)
			}
			var ev Event
			var got []string
			for {
				err := r.Read(&ev)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				switch ev.Kind {
				case KindDiscarded:
					if ev.Count != 7 || !ev.HasBounds || ev.BeginCycle != 1<<27+100 || ev.EndCycle != 1<<28 {
						t.Errorf("discarded: %+v", ev)
					}
					got = append(got, "discarded")
					continue
				}
				if ev.Stream.CPU != 3 {
					t.Errorf("cpu %d", ev.Stream.CPU)
				}
				if want := int64(100e9) + int64(ev.Cycles); ev.NS != want {
					t.Errorf("ns %d want %d", ev.NS, want)
				}
				got = append(got, ev.Class.Name)
				if ev.Class.Name != "test" {
					continue
				}
				pc := ev.Class.Payload
				field := func(n string) *Value { return ev.Field(meta.ScopeEventPayload, pc.FieldIndex(n)) }
				if v := field("_val"); v.Opt != 1 || ev.Child(v, 0).Uint() != 0x1122334455667788 {
					t.Errorf("variant: opt %d value %#x", v.Opt, ev.Child(v, 0).Uint())
				}
				bits := ev.Child(field("_inner"), 0)
				if bits.N != 3 || ev.Child(bits, 0).Uint() != 5 || ev.Child(bits, 1).Uint() != 2 || ev.Child(bits, 2).Uint() != 7 {
					t.Errorf("relative-length bit sequence: %+v", bits)
				}
				if s := field("_ctxseq"); s.N != 2 || ev.Child(s, 1).Uint() != 20 {
					t.Errorf("packet-context-length sequence: %+v", s)
				}
				if s := ev.String(field("_comm")); s != "ab" {
					t.Errorf("text array %q", s)
				}
				if s := ev.String(field("_str")); s != "hello" {
					t.Errorf("string %q", s)
				}
				if f := field("_d").Float(); f != -2.5 {
					t.Errorf("float %v", f)
				}
				if s := field("_s").Int(); s != -1 {
					t.Errorf("signed 12-bit %d", s)
				}
			}
			want := []string{"test", "tick", "test", "discarded", "tick"}
			if len(got) != len(want) {
				t.Fatalf("got %v want %v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("got %v want %v", got, want)
				}
			}
		})
	}
}

func TestMetadataRefused(t *testing.T) {
	tr := genTrace(meta.LittleEndian)
	p := tr.Streams[0].Events[1].Payload
	// A sequence whose length is a signed integer.
	p.Fields[2].Class = &meta.Class{Kind: meta.KindInt, Size: 16, Align: 8, Signed: true}
	if _, err := compileTrace(tr); err == nil {
		t.Error("signed sequence length accepted")
	}
	tr = genTrace(meta.LittleEndian)
	p = tr.Streams[0].Events[1].Payload
	// A variant selected by a plain integer.
	p.Fields[0].Class = &meta.Class{Kind: meta.KindInt, Size: 8, Align: 8}
	if _, err := compileTrace(tr); err == nil {
		t.Error("integer variant selector accepted")
	}
	tr = genTrace(meta.LittleEndian)
	p = tr.Streams[0].Events[1].Payload
	p.Fields[3].Class.Fields[0].Class.LengthRef = meta.FieldRef{Path: []string{"nothing"}}
	if _, err := compileTrace(tr); err == nil {
		t.Error("dangling length accepted")
	}
}

// TestGeneratedCTF2 decodes CTF 2-only field classes from a generated
// trace: blobs, static and dynamic strings, optionals, LEB128 integers,
// variants chosen by selector ranges, and relative locations that step up
// to the parent structure.
func TestGeneratedCTF2(t *testing.T) {
	u8 := &meta.Class{Kind: meta.KindInt, Size: 8, Align: 8}
	u32 := &meta.Class{Kind: meta.KindInt, Size: 32, Align: 32}
	st := func(fields ...meta.Field) *meta.Class {
		return &meta.Class{Kind: meta.KindStruct, Align: 1, Fields: fields}
	}
	f := func(n string, c *meta.Class) meta.Field { return meta.Field{Name: n, Class: c} }
	payload := st(
		f("len", u8),
		f("blob", &meta.Class{Kind: meta.KindDynamicBlob, Align: 8, LengthRef: meta.FieldRef{Path: []string{"len"}}}),
		f("fixed", &meta.Class{Kind: meta.KindStaticText, Align: 8, Length: 4}),
		f("sel", u8),
		f("opt", &meta.Class{Kind: meta.KindOptional, Elem: u32, Selector: meta.FieldRef{Path: []string{"sel"}},
			SelectorRanges: [][]meta.Range{{{Lo: 1, Hi: 3}}}}),
		f("vi", &meta.Class{Kind: meta.KindVarInt, Signed: true, Align: 8}),
		f("inner", st(
			f("text", &meta.Class{Kind: meta.KindDynamicText, Align: 8, LengthRef: meta.FieldRef{Path: []string{"", "len"}}}),
			f("var", &meta.Class{Kind: meta.KindVariant, Selector: meta.FieldRef{Scope: meta.ScopeEventPayload, Path: []string{"sel"}},
				SelectorRanges: [][]meta.Range{{{Lo: 0, Hi: 0}}, {{Lo: 1, Hi: 5}}},
				Fields:         []meta.Field{f("a", u8), f("b", u32)}}),
		)),
	)
	tr := &meta.Trace{Major: 2, Streams: []*meta.Stream{{Events: []*meta.Event{{Name: "e", Payload: payload}}}}}
	tp, err := compileTrace(tr)
	if err != nil {
		t.Fatal(err)
	}
	var w bitWriter
	w.put(3, 8, meta.LittleEndian)
	w.bytes("\x01\x00\x02")
	w.bytes("ab\x00c")
	w.put(2, 8, meta.LittleEndian)
	w.align(32)
	w.put(0xdeadbeef, 32, meta.LittleEndian)
	w.bytes("\x9c\x7f") // LEB128 -100
	w.bytes("xyz")
	w.align(32)
	w.put(77, 32, meta.LittleEndian)
	data := w.b[:w.off/8]
	r, err := memReader(tp, data)
	if err != nil {
		t.Fatal(err)
	}
	var ev Event
	if err := r.Read(&ev); err != nil {
		t.Fatal(err)
	}
	field := func(n string) *Value { return ev.Field(meta.ScopeEventPayload, payload.FieldIndex(n)) }
	if b := ev.Bytes(field("blob")); string(b) != "\x01\x00\x02" {
		t.Errorf("blob % x", b)
	}
	if s := ev.String(field("fixed")); s != "ab" {
		t.Errorf("static text %q", s)
	}
	if o := field("opt"); o.N != 1 || ev.Child(o, 0).Uint() != 0xdeadbeef {
		t.Errorf("optional %+v", o)
	}
	if v := field("vi").Int(); v != -100 {
		t.Errorf("LEB128 %d", v)
	}
	in := field("inner")
	if s := ev.String(ev.Child(in, 0)); s != "xyz" {
		t.Errorf("dynamic text %q", s)
	}
	if v := ev.Child(in, 1); v.Opt != 1 || ev.Child(v, 0).Uint() != 77 {
		t.Errorf("variant by ranges: opt %d", v.Opt)
	}
	if err := r.Read(&ev); err != io.EOF {
		t.Errorf("after the event: %v", err)
	}
}

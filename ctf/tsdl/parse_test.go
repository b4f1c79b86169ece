package tsdl

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tracetop/tracetop/ctf/meta"
	"github.com/tracetop/tracetop/internal/testenv"
)

const lttngHeader = `/* CTF 1.8 */
typealias integer { size = 8; align = 8; signed = false; } := uint8_t;
typealias integer { size = 32; align = 8; signed = false; } := uint32_t;
typealias integer { size = 64; align = 8; signed = false; } := uint64_t;
typealias integer { size = 64; align = 8; signed = false; } := unsigned long;
typealias integer { size = 5; align = 1; signed = false; } := uint5_t;
typealias integer { size = 27; align = 1; signed = false; } := uint27_t;
trace {
	major = 1;
	minor = 8;
	uuid = "3ebf73ea-4831-e44c-976a-803955e1f7e4";
	byte_order = be;
	packet.header := struct {
		uint32_t magic;
		uint8_t  uuid[16];
		uint32_t stream_id;
	};
};
env {
	hostname = "wilbrod";
	tracer_name = "lttng-modules";
	tracer_major = 2;
	neg = -3;
};
clock {
	name = "monotonic";
	uuid = "234d669d-7651-4bc1-a7fd-af581ecc6232";
	description = "Monotonic Clock";
	freq = 1000000000; /* Frequency, in Hz */
	offset_s = -2;
	offset = 1539783991179109860;
};
typealias integer { size = 27; align = 1; signed = false; map = clock.monotonic.value; } := uint27_clock_monotonic_t;
typealias integer { size = 64; align = 8; signed = false; map = clock.monotonic.value; } := uint64_clock_monotonic_t;
struct packet_context {
	uint64_clock_monotonic_t timestamp_begin;
	uint64_t content_size;
	unsigned long events_discarded;
};
struct event_header_compact {
	enum : uint5_t { compact = 0 ... 30, extended = 31 } id;
	variant <id> {
		struct { uint27_clock_monotonic_t timestamp; } compact;
		struct { uint32_t id; uint64_clock_monotonic_t timestamp; } extended;
	} v;
} align(8);
stream {
	id = 0;
	event.header := struct event_header_compact;
	packet.context := struct packet_context;
};
event {
	name = "sched_switch";
	id = 7;
	stream_id = 0;
	loglevel = -1;
	fields := struct {
		integer { size = 8; align = 8; signed = 0; encoding = UTF8; base = 10; } _prev_comm[16];
		integer { size = 32; align = 8; signed = 1; byte_order = le; base = x; } _prev_tid;
		uint32_t __len;
		uint8_t _seq[__len];
		uint8_t _m[2][3];
		string _s;
		floating_point { exp_dig = 11; mant_dig = 53; align = 64; } _d;
	};
};
`

func TestParseLTTngShape(t *testing.T) {
	tr, err := Parse([]byte(lttngHeader))
	if err != nil {
		t.Fatal(err)
	}
	if tr.ByteOrder != meta.BigEndian || !tr.HasUUID || tr.UUID[0] != 0x3e || tr.UUID[15] != 0xe4 {
		t.Errorf("trace: order %v uuid %x", tr.ByteOrder, tr.UUID)
	}
	wantEnv := []meta.EnvEntry{{Key: "hostname", Str: "wilbrod"}, {Key: "tracer_name", Str: "lttng-modules"},
		{Key: "tracer_major", Int: 2, IsInt: true}, {Key: "neg", Int: -3, IsInt: true}}
	if d := cmp.Diff(wantEnv, tr.Env); d != "" {
		t.Errorf("env (-want +got):\n%s", d)
	}
	c := tr.Clocks[0]
	if c.Name != "monotonic" || c.Freq != 1e9 || c.OffsetS != -2 || c.Offset != 1539783991179109860 || !c.HasUUID || !c.UnixEpoch || c.Description != "Monotonic Clock" {
		t.Errorf("clock %+v", c)
	}
	s := tr.Streams[0]
	if s.Clock != c {
		t.Errorf("stream clock %v", s.Clock)
	}
	h := s.EventHeader
	if h.Kind != meta.KindStruct || h.Align != 8 || len(h.Fields) != 2 {
		t.Fatalf("header %+v", h)
	}
	id := h.Fields[0].Class
	if id.Kind != meta.KindEnum || id.Size != 5 || id.Align != 1 || id.Order != meta.BigEndian ||
		len(id.Mappings) != 2 || id.Mappings[0].Ranges[0] != (meta.Range{Lo: 0, Hi: 30}) || id.Mappings[1].Label != "extended" {
		t.Errorf("id %+v", id)
	}
	v := h.Fields[1].Class
	if v.Kind != meta.KindVariant || v.Selector.String() != "id" || v.Fields[1].Name != "extended" ||
		v.Fields[0].Class.Fields[0].Class.MapClock != "monotonic" || v.Fields[0].Class.Fields[0].Class.Size != 27 {
		t.Errorf("variant %+v", v)
	}
	ev := s.Events[0]
	if ev.Name != "sched_switch" || ev.ID != 7 || ev.LogLevel != -1 || !ev.HasLogLevel {
		t.Errorf("event %+v", ev)
	}
	f := ev.Payload.Fields
	if !f[0].Class.IsText() || f[0].Class.Length != 16 {
		t.Errorf("prev_comm %+v", f[0].Class)
	}
	if p := f[1].Class; !p.Signed || p.Order != meta.LittleEndian || p.Base != 16 {
		t.Errorf("prev_tid %+v", p)
	}
	if q := f[3].Class; q.Kind != meta.KindSequence || q.LengthRef.Scope != meta.ScopeNone || q.LengthRef.String() != "__len" {
		t.Errorf("seq %+v", q)
	}
	if m := f[4].Class; m.Kind != meta.KindArray || m.Length != 2 || m.Elem.Kind != meta.KindArray || m.Elem.Length != 3 {
		t.Errorf("2-dim array %+v", m)
	}
	if f[5].Class.Kind != meta.KindString {
		t.Errorf("string %+v", f[5].Class)
	}
	if d := f[6].Class; d.Kind != meta.KindFloat || d.Size != 64 || d.Align != 64 || d.MantDig != 53 {
		t.Errorf("double %+v", d)
	}
}

func TestParseCorners(t *testing.T) {
	const head = "/* CTF 1.8 */\r\ntrace { major = 1; minor = 8; byte_order = le; };\r\n" +
		"typealias integer { size = 32; align = 8; signed = true; } := int;\r\n" +
		"typealias integer { size = 8; align = 8; } := uint8_t;\r\n"
	tests := []struct {
		name, src string
		check     func(t *testing.T, tr *meta.Trace)
	}{
		{"implicit int enum with labels counting on and a range", `enum e { A, B = 5, C, D = -2 ... 3, "E F" } ;
			event { name = x; fields := struct { enum e f; }; };`, func(t *testing.T, tr *meta.Trace) {
			e := tr.Streams[0].Events[0].Payload.Fields[0].Class
			m := func(l string, lo, hi uint64) meta.Mapping {
				return meta.Mapping{Label: l, Ranges: []meta.Range{{Lo: lo, Hi: hi}}}
			}
			want := []meta.Mapping{m("A", 0, 0), m("B", 5, 5), m("C", 6, 6), m("D", ^uint64(1), 3), m("E F", 4, 4)}
			if d := cmp.Diff(want, e.Mappings); d != "" || !e.Signed || e.Size != 32 {
				t.Errorf("mappings (-want +got):\n%s", d)
			}
		}},
		{"absolute sequence path and tag at use site", `variant v { uint8_t a; int b; };
			event { name = x; fields := struct { uint8_t a[event.context.n]; variant v <stream.event.header.id> w; }; };`,
			func(t *testing.T, tr *meta.Trace) {
				f := tr.Streams[0].Events[0].Payload.Fields
				if r := f[0].Class.LengthRef; r.Scope != meta.ScopeEventSpecificContext || r.Path[0] != "n" {
					t.Errorf("length %v", r)
				}
				if r := f[1].Class.Selector; r.Scope != meta.ScopeEventHeader || r.Path[0] != "id" {
					t.Errorf("selector %v", r)
				}
			}},
		{"literals and escapes", `env { a = 0x1F; b = 017; c = 0b101; d = 12UL; e = "t\"\x41\101\n"; f = 'A'; };`,
			func(t *testing.T, tr *meta.Trace) {
				want := []meta.EnvEntry{{Key: "a", Int: 31, IsInt: true}, {Key: "b", Int: 15, IsInt: true}, {Key: "c", Int: 5, IsInt: true},
					{Key: "d", Int: 12, IsInt: true}, {Key: "e", Str: "t\"AA\n"}, {Key: "f", Int: 65, IsInt: true}}
				if d := cmp.Diff(want, tr.Env); d != "" {
					t.Errorf("env (-want +got):\n%s", d)
				}
			}},
		{"nested scopes may reuse a name", `struct s { typedef uint8_t t; t a; };
			struct u { typedef int t; t b; struct s c; };`, func(t *testing.T, tr *meta.Trace) {}},
		{"unknown attributes warn", "callsite { name = \"x\"; func = \"f\"; ip = 0x10; };\nclock { name = c; zz = 1; };\n" +
			"typealias integer { size = 16; qq = 3; } := u16;\n",
			func(t *testing.T, tr *meta.Trace) {
				want := []string{
					`At line 6 in metadata stream: Unknown attribute in clock class: attr-name="zz"`,
					`At line 7 in metadata stream: Unknown attribute in integer field class: attr-name="qq"`,
				}
				if d := cmp.Diff(want, tr.Warnings); d != "" {
					t.Errorf("warnings (-want +got):\n%s", d)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Parse([]byte(head + tt.src))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, tr)
		})
	}
}

func TestParseErrors(t *testing.T) {
	const head = "/* CTF 1.8 */\ntrace { major = 1; minor = 8; byte_order = le; };\n" +
		"typealias integer { size = 8; } := uint8_t;\n"
	tests := []struct{ name, src, want string }{
		{"missing semicolon", "struct s {\n uint8_t x\n};", `tsdl: line 6: expected ";" after field "x", found "}"`},
		{"undefined type", "struct s { foo x; };", `tsdl: line 4: type "foo" is not defined`},
		{"redefinition", "typedef uint8_t a;\ntypedef uint8_t a;", `tsdl: line 5: type "a" is already defined in this scope`},
		{"sequence length is signed", "typealias integer { size = 8; signed = true; } := s8;\nstruct s { s8 n; uint8_t a[n]; };",
			`tsdl: line 5: sequence length "n" is a signed integer, not an unsigned integer`},
		{"variant tag is not an enum", "struct s { uint8_t n; variant <n> { uint8_t a; } v; };", `tsdl: line 4: variant tag "n" is a integer, not an enumeration`},
		{"unterminated comment", "/* abc", `tsdl: line 4: unterminated comment`},
		{"bad clock map", "typealias integer { size = 8; map = clock.x; } := c8;", `tsdl: line 4: integer map must be clock.NAME.value, found clock.x`},
		{"unknown clock", "typealias integer { size = 8; map = clock.x.value; } := c8;\nstream { event.header := struct { c8 timestamp; }; };",
			`tsdl: line 5: stream 0 maps to clock "x", which is not declared`},
		{"deep nesting", strings.Repeat("struct { ", 300), "nesting deeper than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(head + tt.src))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("error %v is not ErrSyntax", err)
			}
		})
	}
}

// packetize frames text as LTTng does, in packets of size bytes.
func packetize(text []byte, order binary.ByteOrder, size int, major, minor byte) []byte {
	var out []byte
	for len(text) > 0 {
		n := min(len(text), size-packetHdrSize)
		h := make([]byte, size)
		order.PutUint32(h, packetMagic)
		order.PutUint32(h[24:], uint32((packetHdrSize+n)*8))
		order.PutUint32(h[28:], uint32(size*8))
		h[35], h[36] = major, minor
		copy(h[packetHdrSize:], text[:n])
		out = append(out, h...)
		text = text[n:]
	}
	return out
}

func TestPacketized(t *testing.T) {
	text := []byte(lttngHeader)
	for _, o := range []binary.ByteOrder{binary.BigEndian, binary.LittleEndian} {
		b := packetize(text, o, 256, 1, 8) // splits tokens between packets
		got, err := Unpacketize(b)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(text) {
			t.Errorf("%v: text differs", o)
		}
	}
	if _, err := ParseMetadata(packetize(text, binary.BigEndian, 4096, 1, 8)); err != nil {
		t.Errorf("big-endian packets of a big-endian trace: %v", err)
	}
	if _, err := ParseMetadata(packetize(text, binary.LittleEndian, 4096, 1, 8)); err == nil {
		t.Errorf("little-endian packets of a big-endian trace accepted")
	}
	if _, err := Unpacketize(packetize(text, binary.LittleEndian, 4096, 2, 0)); err == nil || !strings.Contains(err.Error(), "version 2.0") {
		t.Errorf("version 2.0: %v", err)
	}
	b := packetize(text, binary.LittleEndian, 4096, 1, 8)
	if _, err := Unpacketize(b[:100]); err == nil {
		t.Errorf("truncated packet accepted")
	}
}

// TestWarningsLikeBabeltrace compares the warnings with babeltrace2's.
func TestWarningsLikeBabeltrace(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t, "traces"), "babeltrace", "succeed-warnings")
	b, err := os.ReadFile(filepath.Join(dir, "trace", "metadata"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ParseMetadata(b)
	if err != nil {
		t.Fatal(err)
	}
	e, err := os.ReadFile(filepath.Join(dir, "EXPECTED.babeltrace2.err"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Split(strings.TrimSpace(string(e)), "\n") {
		_, msg, _ := strings.Cut(l, "] ")
		want = append(want, msg)
	}
	if d := cmp.Diff(want, tr.Warnings); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
}

func BenchmarkParseKernel(b *testing.B) {
	p := filepath.Join(testenv.SharedDir(b, "traces"), "tracevizlab", "simple-kernel", "trace", "metadata")
	raw, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMetadata(raw); err != nil {
			b.Fatal(err)
		}
	}
}

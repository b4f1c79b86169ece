package ctf2

import (
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tracetop/tracetop/ctf/meta"
	"github.com/tracetop/tracetop/ctf/tsdl"
	"github.com/tracetop/tracetop/internal/testenv"
)

// twins maps each CTF 2 entry to its CTF 1.8 twin (traces/README.md).
var twins = map[string]string{
	"CTF2-7.0-trace-with-index":            "babeltrace/succeed-trace-with-index",
	"CTF2-7.0-lttng-crash":                 "babeltrace/succeed-lttng-crash",
	"CTF2-7.0-lttng-event-after-packet":    "babeltrace/succeed-lttng-event-after-packet",
	"CTF2-7.0-debug-info":                  "babeltrace/succeed-debug-info",
	"CTF2-7.0-smalltrace":                  "babeltrace/succeed-smalltrace",
	"CTF2-7.0-succeed1":                    "babeltrace/succeed-succeed1",
	"CTF2-7.0-barectf-event-before-packet": "babeltrace/succeed-barectf-event-before-packet",
	"CTF2-7.0-ev-disc-no-ts-begin-end":     "babeltrace/succeed-ev-disc-no-ts-begin-end",
	"CTF2-7.0-meta-variant-no-underscore":  "babeltrace/succeed-meta-variant-no-underscore",
}

// describe renders what decoding depends on: names (one leading
// underscore removed, as printers show them), kinds, sizes, signedness,
// byte orders, mappings and references.
func describe(c *meta.Class) string {
	if c == nil {
		return "-"
	}
	var b strings.Builder
	var walk func(c *meta.Class)
	walk = func(c *meta.Class) {
		kind := c.Kind
		switch c.Kind {
		case meta.KindInt, meta.KindEnum:
			fmt.Fprintf(&b, "%s%d", kind, c.Size)
			if c.Signed {
				b.WriteString("s")
			}
			fmt.Fprintf(&b, "/%s/a%d", c.Order, c.Align)
			if c.MapClock != "" {
				b.WriteString("@" + c.MapClock)
			}
			for _, m := range c.Mappings {
				fmt.Fprintf(&b, " %s=%v", strings.TrimPrefix(m.Label, "_"), m.Ranges)
			}
		case meta.KindFloat:
			fmt.Fprintf(&b, "float%d/%s", c.Size, c.Order)
		case meta.KindStruct, meta.KindVariant:
			b.WriteString(kind.String())
			if c.Kind == meta.KindVariant {
				fmt.Fprintf(&b, "<%s>", strings.TrimPrefix(c.Selector.Path[len(c.Selector.Path)-1], "_"))
			}
			b.WriteString("{")
			for _, f := range c.Fields {
				b.WriteString(strings.TrimPrefix(f.Name, "_") + ":")
				walk(f.Class)
				b.WriteString("; ")
			}
			b.WriteString("}")
		case meta.KindStaticBlob:
			fmt.Fprintf(&b, "[%d]bytes", c.Length)
		case meta.KindArray, meta.KindStaticText:
			e := c.Elem
			if e != nil && e.Kind == meta.KindInt && e.Size == 8 && !e.Signed && e.Encoding == meta.EncodingNone && e.Align == 8 {
				// The same bytes as a CTF 2 static-length blob.
				fmt.Fprintf(&b, "[%d]bytes", c.Length)
				return
			}
			fmt.Fprintf(&b, "[%d]", c.Length)
			if e != nil {
				walk(e)
			}
		case meta.KindSequence:
			fmt.Fprintf(&b, "[%s]", strings.TrimPrefix(c.LengthRef.Path[len(c.LengthRef.Path)-1], "_"))
			walk(c.Elem)
		default:
			b.WriteString(kind.String())
		}
	}
	walk(c)
	return b.String()
}

func summary(tr *meta.Trace) string {
	var b strings.Builder
	fmt.Fprintf(&b, "order %s\npacket header %s\n", tr.ByteOrder, describe(tr.PacketHeader))
	for _, c := range tr.Clocks {
		// Seconds and cycles split differently in the two syntaxes.
		total := new(big.Int).Mul(big.NewInt(c.OffsetS), new(big.Int).SetUint64(c.Freq))
		total.Add(total, big.NewInt(c.Offset))
		fmt.Fprintf(&b, "clock %s freq %d offset %s cycles unix %v\n", c.Name, c.Freq, total, c.UnixEpoch)
	}
	for _, s := range tr.Streams {
		clock := "-"
		if s.Clock != nil {
			clock = s.Clock.Name
		}
		fmt.Fprintf(&b, "stream %d clock %s\n pc %s\n eh %s\n ec %s\n", s.ID, clock,
			describe(s.PacketContext), describe(s.EventHeader), describe(s.EventContext))
		for _, e := range s.Events {
			fmt.Fprintf(&b, " event %d %q\n  ctx %s\n  payload %s\n", e.ID, e.Name, describe(e.Context), describe(e.Payload))
		}
	}
	// A JSON object has no order to compare with TSDL's.
	env := append([]meta.EnvEntry(nil), tr.Env...)
	sort.Slice(env, func(i, j int) bool { return env[i].Key < env[j].Key })
	for _, e := range env {
		fmt.Fprintf(&b, "env %s=%q/%d\n", e.Key, e.Str, e.Int)
	}
	return b.String()
}

// TestTwins parses each CTF 2 trace's metadata and checks it describes the
// same layout as its CTF 1.8 twin parsed by package tsdl.
func TestTwins(t *testing.T) {
	root := testenv.SharedDir(t, "traces")
	for name, twin := range twins {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(root, "tracecompass-ctf2", name, "trace", "metadata"))
			if err != nil {
				t.Fatal(err)
			}
			if !IsCTF2(b) {
				t.Fatal("not recognised as CTF 2")
			}
			got, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			tb, err := os.ReadFile(filepath.Join(root, twin, "trace", "metadata"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := tsdl.ParseMetadata(tb)
			if err != nil {
				t.Fatal(err)
			}
			if name == "CTF2-7.0-barectf-event-before-packet" {
				// The draft converter wrote origin "unix-epoch" where the 1.8
				// clock says absolute = false; the spec's meaning is kept.
				want.Clocks[0].UnixEpoch = true
			}
			if d := cmp.Diff(summary(want), summary(got)); d != "" {
				t.Errorf("CTF 2 differs from its 1.8 twin %s (-1.8 +2):\n%s", twin, d)
			}
		})
	}
}

func TestVarInts(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.SharedDir(t, "traces"), "tracecompass-ctf2", "CTF2-vl-ints", "trace", "metadata"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	p := tr.Streams[0].Events[0].Payload
	n := 0
	for _, f := range p.Fields {
		if f.Class.Kind == meta.KindVarInt {
			n++
			if strings.HasPrefix(f.Name, "vi") != f.Class.Signed {
				t.Errorf("%s: signed %v", f.Name, f.Class.Signed)
			}
		}
	}
	if n != 25 {
		t.Errorf("%d LEB128 fields, want 25: %s", n, describe(p))
	}
}

const final = "\x1e" + `{"type": "preamble", "version": 2, "uuid": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}
` + "\x1e" + `{"type": "field-class-alias", "name": "u8", "field-class": {"type": "fixed-length-unsigned-integer", "length": 8, "byte-order": "big-endian", "alignment": 8}}
` + "\x1e" + `{"type": "trace-class", "environment": {"hostname": "h", "tracer_major": 2},
 "packet-header-field-class": {"type": "structure", "member-classes": [
  {"name": "magic", "field-class": {"type": "fixed-length-unsigned-integer", "length": 32, "byte-order": "big-endian", "alignment": 8, "roles": ["packet-magic-number"]}},
  {"name": "uuid", "field-class": {"type": "static-length-blob", "length": 16, "roles": ["metadata-stream-uuid"]}}]}}
` + "\x1e" + `{"type": "clock-class", "id": "mono", "frequency": 1000, "offset-from-origin": {"seconds": -5, "cycles": 7}, "origin": "unix-epoch", "precision": 2}
` + "\x1e" + `{"type": "data-stream-class", "id": 3, "default-clock-class-id": "mono",
 "packet-context-field-class": {"type": "structure", "member-classes": [
  {"name": "ts", "field-class": {"type": "fixed-length-unsigned-integer", "length": 64, "byte-order": "big-endian", "roles": ["default-clock-timestamp"]}},
  {"name": "size", "field-class": {"type": "fixed-length-unsigned-integer", "length": 64, "byte-order": "big-endian", "roles": ["packet-total-length"]}}]},
 "event-record-header-field-class": {"type": "structure", "member-classes": [
  {"name": "id", "field-class": {"type": "fixed-length-unsigned-integer", "length": 8, "byte-order": "big-endian", "roles": ["event-record-class-id"], "mappings": {"B": [[1, 9]], "A": [[0, 0]]}}}]}}
` + "\x1e" + `{"type": "event-record-class", "id": 4, "data-stream-class-id": 3, "name": "ev",
 "payload-field-class": {"type": "structure", "member-classes": [
  {"name": "n", "field-class": "u8"},
  {"name": "seq", "field-class": {"type": "dynamic-length-array", "length-field-location": {"origin": "event-record-payload", "path": ["n"]}, "element-field-class": "u8"}},
  {"name": "s", "field-class": {"type": "dynamic-length-string", "length-field-location": {"path": ["n"]}}},
  {"name": "v", "field-class": {"type": "variant", "selector-field-location": {"path": [null, "n"]},
    "options": [{"name": "a", "selector-field-ranges": [[0, 0]], "field-class": "u8"}, {"name": "b", "selector-field-ranges": [[1, 255]], "field-class": {"type": "null-terminated-string"}}]}},
  {"name": "o", "field-class": {"type": "optional", "selector-field-location": {"path": ["n"]}, "selector-field-ranges": [[1, 1]], "field-class": {"type": "variable-length-signed-integer"}}}]}}
`

func TestFinalSyntax(t *testing.T) {
	tr, err := Parse([]byte(final))
	if err != nil {
		t.Fatal(err)
	}
	if !tr.HasUUID || tr.UUID[15] != 16 || tr.ByteOrder != meta.BigEndian {
		t.Errorf("trace uuid %x order %v", tr.UUID, tr.ByteOrder)
	}
	if tr.PacketHeader.Fields[0].Class.Role != meta.RolePacketMagic || tr.PacketHeader.Fields[1].Class.Role != meta.RoleTraceUUID {
		t.Errorf("packet header roles %s", describe(tr.PacketHeader))
	}
	c := tr.Clocks[0]
	if c.Name != "mono" || c.Freq != 1000 || c.OffsetS != -5 || c.Offset != 7 || !c.UnixEpoch || c.Precision != 2 {
		t.Errorf("clock %+v", c)
	}
	s := tr.Streams[0]
	if s.ID != 3 || s.Clock != c || s.PacketContext.Fields[0].Class.Role != meta.RoleTimestampBegin ||
		s.PacketContext.Fields[0].Class.MapClock != "mono" || s.PacketContext.Fields[1].Class.Role != meta.RolePacketSize {
		t.Errorf("stream %+v pc %s", s, describe(s.PacketContext))
	}
	id := s.EventHeader.Fields[0].Class
	if id.Kind != meta.KindEnum || id.Mappings[0].Label != "A" || id.Role != meta.RoleEventClassID {
		t.Errorf("id %s", describe(id))
	}
	e := s.Events[0]
	f := e.Payload.Fields
	if e.ID != 4 || e.Name != "ev" || f[0].Class.Size != 8 {
		t.Errorf("event %+v", e)
	}
	if r := f[1].Class.LengthRef; f[1].Class.Kind != meta.KindSequence || r.Scope != meta.ScopeEventPayload || r.Path[0] != "n" {
		t.Errorf("seq %+v", f[1].Class)
	}
	if f[2].Class.Kind != meta.KindDynamicText || f[2].Class.LengthRef.Scope != meta.ScopeNone {
		t.Errorf("dynamic string %+v", f[2].Class)
	}
	v := f[3].Class
	if v.Kind != meta.KindVariant || len(v.Selector.Path) != 2 || v.Selector.Path[0] != "" || v.SelectorRanges[1][0] != (meta.Range{Lo: 1, Hi: 255}) {
		t.Errorf("variant %+v", v)
	}
	if o := f[4].Class; o.Kind != meta.KindOptional || o.Elem.Kind != meta.KindVarInt || !o.Elem.Signed {
		t.Errorf("optional %+v", o)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"no record separator", `{"type": "preamble", "version": 2}`, "does not start with a record separator"},
		{"not a preamble first", "\x1e" + `{"type": "trace-class"}`, `fragment 1: type: first fragment is "trace-class"`},
		{"bad version", "\x1e" + `{"type": "preamble", "version": 3}`, "version 3, want 2"},
		{"bad JSON", "\x1e" + `{"type": "preamble", "version": 2}` + "\x1e{", "fragment 2: bad JSON"},
		{"unknown alias", "\x1e" + `{"type": "preamble", "version": 2}` + "\x1e" + `{"type": "trace-class", "packet-header-field-class": "nope"}`,
			`fragment 2: packet-header-field-class: field class alias "nope" is not defined`},
		{"undefined stream", "\x1e" + `{"type": "preamble", "version": 2}` + "\x1e" + `{"type": "event-record-class", "data-stream-class-id": 1}`,
			"data stream class 1 is not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("%v is not ErrSyntax", err)
			}
		})
	}
}

// FuzzParse: any bytes give a trace or an error, never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(final))
	f.Add([]byte("\x1e{\"type\":\"preamble\",\"version\":2}\x1e{\"type\":\"data-stream-class\"}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := Parse(b)
		if err == nil && tr == nil {
			t.Fatal("nil trace without an error")
		}
	})
}

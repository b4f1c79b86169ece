package pretty

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/meta"
)

// Field classes as TSDL parsers produce them.
func intc(size int, signed bool, base int) *meta.Class {
	return &meta.Class{Kind: meta.KindInt, Size: size, Signed: signed, Base: base, Align: 8}
}

func role(c *meta.Class, r meta.Role) *meta.Class { c.Role = r; return c }

func structc(fields ...any) *meta.Class {
	c := &meta.Class{Kind: meta.KindStruct}
	for i := 0; i < len(fields); i += 2 {
		c.Fields = append(c.Fields, meta.Field{Name: fields[i].(string), Class: fields[i+1].(*meta.Class)})
	}
	return c
}

var (
	u8     = intc(8, false, 10)
	u32    = intc(32, false, 10)
	s32    = intc(32, true, 10)
	u64    = intc(64, false, 10)
	x64    = intc(64, false, 16)
	strc   = &meta.Class{Kind: meta.KindString}
	char8  = &meta.Class{Kind: meta.KindInt, Size: 8, Base: 10, Encoding: meta.EncodingUTF8, Align: 8}
	float  = &meta.Class{Kind: meta.KindFloat, Size: 64, ExpDig: 11, MantDig: 53}
	lttPkt = structc(
		"timestamp_begin", role(intc(64, false, 10), meta.RoleTimestampBegin),
		"timestamp_end", role(intc(64, false, 10), meta.RoleTimestampEnd),
		"content_size", role(intc(64, false, 10), meta.RoleContentSize),
		"packet_size", role(intc(64, false, 10), meta.RolePacketSize),
		"packet_seq_num", role(intc(64, false, 10), meta.RolePacketSeqNum),
		"events_discarded", role(intc(64, false, 10), meta.RoleEventsDiscarded),
		"cpu_id", u32)
)

// fv describes a decoded value; build lays it out as the decoder does.
type fv struct {
	bits uint64
	str  string
	kids []fv
	opt  int
	text bool
}

func build1(ev *ctf.Event, c *meta.Class, v fv, at int) {
	val := ctf.Value{Class: c, Bits: v.bits, Opt: int32(v.opt)}
	switch {
	case c.Kind == meta.KindString || v.text:
		val.Start, val.N = int32(len(ev.Text)), int32(len(v.str))
		ev.Text = append(ev.Text, v.str...)
	case len(v.kids) > 0 || c.Kind == meta.KindStruct || c.Kind == meta.KindArray || c.Kind == meta.KindSequence:
		start := len(ev.Values)
		ev.Values = append(ev.Values, make([]ctf.Value, len(v.kids))...)
		val.Start, val.N = int32(start), int32(len(v.kids))
		for i, k := range v.kids {
			kc := c.Elem
			switch c.Kind {
			case meta.KindStruct:
				kc = c.Fields[i].Class
			case meta.KindVariant:
				kc = c.Fields[v.opt].Class
			}
			build1(ev, kc, k, start+i)
		}
	}
	ev.Values[at] = val
}

type scopeVal struct {
	s meta.Scope
	v fv
}

func mkEvent(tr *ctf.Trace, sc *meta.Stream, ec *meta.Event, ns int64, scopes ...scopeVal) *ctf.Event {
	ev := &ctf.Event{Kind: ctf.KindEvent, Class: ec, Stream: &ctf.Stream{Trace: tr, Class: sc, Name: "chan_0"},
		NS: ns, Cycles: uint64(ns), HasTime: sc.Clock != nil}
	for i := range ev.Root {
		ev.Root[i] = -1
	}
	for _, s := range scopes {
		var c *meta.Class
		switch s.s {
		case meta.ScopePacketContext:
			c = sc.PacketContext
		case meta.ScopeEventCommonContext:
			c = sc.EventContext
		case meta.ScopeEventSpecificContext:
			c = ec.Context
		case meta.ScopeEventPayload:
			c = ec.Payload
		}
		at := len(ev.Values)
		ev.Values = append(ev.Values, ctf.Value{})
		ev.Root[s.s] = int32(at)
		build1(ev, c, s.v, at)
	}
	return ev
}

func lttngTrace(host string) (*ctf.Trace, *meta.Stream) {
	clk := &meta.Clock{Name: "monotonic", Freq: 1e9}
	sc := &meta.Stream{PacketContext: lttPkt, Clock: clk,
		EventContext: structc("_vpid", s32, "_procname", &meta.Class{Kind: meta.KindArray, Length: 17, Elem: char8})}
	mt := &meta.Trace{Major: 1, Minor: 8, Clocks: []*meta.Clock{clk}, Streams: []*meta.Stream{sc},
		Env: []meta.EnvEntry{{Key: "hostname", Str: host}, {Key: "domain", Str: "ust"}}}
	return &ctf.Trace{Path: "/t", Meta: mt, Hostname: host}, sc
}

func pkt(cpu uint64) scopeVal {
	return scopeVal{meta.ScopePacketContext, fv{kids: []fv{{bits: 1}, {bits: 2}, {bits: 3}, {bits: 4}, {bits: 5}, {bits: 6}, {bits: cpu}}}}
}

func ctx(vpid int64, proc string) scopeVal {
	return scopeVal{meta.ScopeEventCommonContext, fv{kids: []fv{{bits: uint64(vpid)}, {str: proc, text: true}}}}
}

func render(t *testing.T, o Options, evs ...*ctf.Event) (string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	o.Err = &errb
	if o.Location == nil {
		o.Location = time.UTC
	}
	p := New(&out, o)
	for _, ev := range evs {
		if err := p.Print(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String()
}

const t0 = int64(1795639113348191803) // 2026-11-25 20:38:33.348191803 UTC

func TestPrintLTTngEvent(t *testing.T) {
	tr, sc := lttngTrace("vm")
	ec := &meta.Event{Name: "lttng_ust_statedump:procname", Payload: structc("_procname", &meta.Class{Kind: meta.KindArray, Length: 17, Elem: char8})}
	empty := &meta.Event{Name: "lttng_ust_statedump:start", Payload: structc()}
	evs := []*ctf.Event{
		mkEvent(tr, sc, empty, t0, pkt(0), ctx(1679, "date-ust\x00junk"), scopeVal{meta.ScopeEventPayload, fv{}}),
		mkEvent(tr, sc, ec, t0+132126, pkt(0), ctx(1679, "date-ust"), scopeVal{meta.ScopeEventPayload, fv{kids: []fv{{str: "date", text: true}}}}),
	}
	want := `[20:38:33.348191803] (+?.?????????) vm lttng_ust_statedump:start: { cpu_id = 0 }, { vpid = 1679, procname = "date-ust" }, { }
[20:38:33.348323929] (+0.000132126) vm lttng_ust_statedump:procname: { cpu_id = 0 }, { vpid = 1679, procname = "date-ust" }, { procname = "date" }
`
	got, _ := render(t, DefaultOptions(), evs...)
	if got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
}

func TestPrintOptions(t *testing.T) {
	tr, sc := lttngTrace("vm")
	ec := &meta.Event{Name: "ev", HasLogLevel: true, LogLevel: 13, Payload: structc("_x", u32)}
	mk := func() []*ctf.Event {
		return []*ctf.Event{
			mkEvent(tr, sc, ec, t0, pkt(1), ctx(7, "p"), scopeVal{meta.ScopeEventPayload, fv{kids: []fv{{bits: 5}}}}),
			mkEvent(tr, sc, ec, t0+1_500_000_001, pkt(1), ctx(7, "p"), scopeVal{meta.ScopeEventPayload, fv{kids: []fv{{bits: 6}}}}),
		}
	}
	tests := []struct {
		name  string
		setup func(*Options)
		want  string
	}{
		{"no names", func(o *Options) { o.SetNames("none") },
			"[20:38:33.348191803] (+?.?????????) vm ev: { 1 }, { 7, \"p\" }, { 5 }\n" +
				"[20:38:34.848191804] (+1.500000001) vm ev: { 1 }, { 7, \"p\" }, { 6 }\n"},
		{"all names", func(o *Options) { o.SetNames("all") },
			"timestamp = 20:38:33.348191803, delta = +?.?????????, trace:hostname = vm, name = ev, stream.packet.context = { cpu_id = 1 }, stream.event.context = { vpid = 7, procname = \"p\" }, event.fields = { x = 5 }\n" +
				"timestamp = 20:38:34.848191804, delta = +1.500000001, trace:hostname = vm, name = ev, stream.packet.context = { cpu_id = 1 }, stream.event.context = { vpid = 7, procname = \"p\" }, event.fields = { x = 6 }\n"},
		{"payload names only", func(o *Options) { o.SetNames("payload") },
			"[20:38:33.348191803] (+?.?????????) vm ev: { 1 }, { 7, \"p\" }, { x = 5 }\n" +
				"[20:38:34.848191804] (+1.500000001) vm ev: { 1 }, { 7, \"p\" }, { x = 6 }\n"},
		{"cycles", func(o *Options) { o.ClockCycles = true },
			"[01795639113348191803] (+????????????) vm ev: { cpu_id = 1 }, { vpid = 7, procname = \"p\" }, { x = 5 }\n" +
				"[01795639114848191804] (+001500000001) vm ev: { cpu_id = 1 }, { vpid = 7, procname = \"p\" }, { x = 6 }\n"},
		{"seconds, no delta", func(o *Options) { o.ClockSeconds = true; o.NoDelta = true },
			"[1795639113.348191803] vm ev: { cpu_id = 1 }, { vpid = 7, procname = \"p\" }, { x = 5 }\n" +
				"[1795639114.848191804] vm ev: { cpu_id = 1 }, { vpid = 7, procname = \"p\" }, { x = 6 }\n"},
		{"date", func(o *Options) { o.ClockDate = true; o.NoDelta = true },
			"[2026-11-25 20:38:33.348191803] vm ev: { cpu_id = 1 }, { vpid = 7, procname = \"p\" }, { x = 5 }\n" +
				"[2026-11-25 20:38:34.848191804] vm ev: { cpu_id = 1 }, { vpid = 7, procname = \"p\" }, { x = 6 }\n"},
		{"all fields", func(o *Options) { o.SetFields("all"); o.NoDelta = true; o.SetNames("payload") },
			"[20:38:33.348191803] vm/tvm:ust:TRACE_DEBUG_LINE (13) ev: { 1 }, { 7, \"p\" }, { x = 5 }\n" +
				"[20:38:34.848191804] vm/tvm:ust:TRACE_DEBUG_LINE (13) ev: { 1 }, { 7, \"p\" }, { x = 6 }\n"},
		{"trace field only", func(o *Options) { o.SetFields("trace"); o.NoDelta = true; o.SetNames("none") },
			"[20:38:33.348191803] vm/tev: { 1 }, { 7, \"p\" }, { 5 }\n" +
				"[20:38:34.848191804] vm/tev: { 1 }, { 7, \"p\" }, { 6 }\n"},
		{"all fields, all names", func(o *Options) { o.SetFields("all"); o.SetNames("all"); o.NoDelta = true },
			"timestamp = 20:38:33.348191803, trace = vm/t, , trace:hostname = vm, trace:domain = ust, loglevel = TRACE_DEBUG_LINE (13), name = ev, stream.packet.context = { cpu_id = 1 }, stream.event.context = { vpid = 7, procname = \"p\" }, event.fields = { x = 5 }\n" +
				"timestamp = 20:38:34.848191804, trace = vm/t, , trace:hostname = vm, trace:domain = ust, loglevel = TRACE_DEBUG_LINE (13), name = ev, stream.packet.context = { cpu_id = 1 }, stream.event.context = { vpid = 7, procname = \"p\" }, event.fields = { x = 6 }\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			o.TraceName = func(*ctf.Trace) string { return "vm/t" }
			tc.setup(&o)
			got, _ := render(t, o, mk()...)
			if got != tc.want {
				t.Errorf("got\n%swant\n%s", got, tc.want)
			}
		})
	}
}

func TestPrintLocalTime(t *testing.T) {
	tr, sc := lttngTrace("vm")
	ec := &meta.Event{Name: "ev", Payload: structc()}
	loc := time.FixedZone("X", -5*3600)
	o := DefaultOptions()
	o.Location = loc
	got, _ := render(t, o, mkEvent(tr, sc, ec, t0, pkt(0), ctx(1, ""), scopeVal{meta.ScopeEventPayload, fv{}}))
	if want := "[15:38:33.348191803] (+?.?????????) vm ev: { cpu_id = 0 }, { vpid = 1, procname = \"\" }, { }\n"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
	o.ClockGMT = true
	got, _ = render(t, o, mkEvent(tr, sc, ec, t0, pkt(0), ctx(1, ""), scopeVal{meta.ScopeEventPayload, fv{}}))
	if !strings.HasPrefix(got, "[20:38:33.348191803]") {
		t.Errorf("--clock-gmt: got %q", got)
	}
}

func TestPrintFieldFormats(t *testing.T) {
	enum := &meta.Class{Kind: meta.KindEnum, Size: 32, Base: 10, Mappings: []meta.Mapping{
		{Label: "AUTO: EXPECT 0", Ranges: []meta.Range{{Lo: 0, Hi: 0}}},
		{Label: "RANGE: 101 TO 303", Ranges: []meta.Range{{Lo: 101, Hi: 303}}},
		{Label: "OVER", Ranges: []meta.Range{{Lo: 210, Hi: 250}}},
		{Label: "_callsite", Ranges: []meta.Range{{Lo: 7, Hi: 7}}}}}
	senum := &meta.Class{Kind: meta.KindEnum, Size: 8, Signed: true, Base: 10, Mappings: []meta.Mapping{
		{Label: "NEG", Ranges: []meta.Range{{Lo: uint64(math.MaxUint64 - 9), Hi: math.MaxUint64}}}}}
	seq := &meta.Class{Kind: meta.KindSequence, Elem: u8, LengthRef: meta.FieldRef{Path: []string{"__seq_length"}}}
	tseq := &meta.Class{Kind: meta.KindSequence, Elem: char8, LengthRef: meta.FieldRef{Path: []string{"_len"}}}
	tagc := &meta.Class{Kind: meta.KindEnum, Size: 8, Base: 10, Mappings: []meta.Mapping{
		{Label: "a", Ranges: []meta.Range{{Lo: 0, Hi: 0}}}, {Label: "b", Ranges: []meta.Range{{Lo: 1, Hi: 1}}}}}
	variant := &meta.Class{Kind: meta.KindVariant, Selector: meta.FieldRef{Path: []string{"_tag"}},
		Fields: []meta.Field{{Name: "a", Class: u32}, {Name: "b", Class: strc}}}
	payload := structc(
		"_i", s32, "_neg", s32, "_hex", x64, "_nhex", intc(12, true, 16), "_oct", intc(8, false, 8),
		"_noct", intc(8, true, 8), "_bin", intc(4, false, 2), "_s", strc, "__seq_length", u32, "_seq", seq,
		"_len", u8, "_txt", tseq, "_arr", &meta.Class{Kind: meta.KindArray, Length: 2, Elem: s32},
		"_empty", structc(), "_e0", enum, "_e202", enum, "_e220", enum, "_e7", enum, "_e9", enum, "_se", senum,
		"_f", float, "_tag", tagc, "_v", variant, "_clk", &meta.Class{Kind: meta.KindInt, Size: 64, Base: 10, MapClock: "monotonic"},
	)
	clk := &meta.Clock{Name: "monotonic", Freq: 1e9}
	sc := &meta.Stream{Clock: nil}
	_ = clk
	tr := &ctf.Trace{Meta: &meta.Trace{Major: 1, Minor: 8}}
	ec := &meta.Event{Name: "fmt", Payload: payload}
	ev := mkEvent(tr, sc, ec, 0, scopeVal{meta.ScopeEventPayload, fv{kids: []fv{
		{bits: 12}, {bits: uint64(0xFFFFFFFFFFFFFFFF)}, {bits: 0xdeadbeef}, {bits: uint64(0xFFFFFFFFFFFFFFFF)},
		{bits: 8}, {bits: uint64(0xFFFFFFFFFFFFFFFF)}, {bits: 5},
		{str: "a\\b\"c'd?e\nf\tg\x01h\x7fé"}, {bits: 2}, {kids: []fv{{bits: 116}, {bits: 101}}},
		{bits: 4}, {str: "test", text: true}, {kids: []fv{{bits: 1}, {bits: uint64(0xFFFFFFFFFFFFFFFE)}}},
		{}, {bits: 0}, {bits: 202}, {bits: 220}, {bits: 7}, {bits: 9}, {bits: uint64(0xFFFFFFFFFFFFFFFB)},
		{bits: math.Float64bits(3.5)}, {bits: 1}, {opt: 1, kids: []fv{{str: "Daniel Lavoie"}}}, {bits: 99},
	}}})
	got, _ := render(t, DefaultOptions(), ev)
	want := `fmt: { i = 12, neg = -1, hex = 0xDEADBEEF, nhex = 0xFFF, oct = 010, noct = 0777, bin = 0b0101, ` +
		`s = "a\\b\"c\'d\?e\nf\tg\x01h\x7fé", _seq_length = 2, seq = [ [0] = 116, [1] = 101 ], len = 4, txt = "test", ` +
		`arr = [ [0] = 1, [1] = -2 ], empty = { }, e0 = ( "AUTO: EXPECT 0" : container = 0 ), ` +
		`e202 = ( "RANGE: 101 TO 303" : container = 202 ), e220 = ( "RANGE: 101 TO 303", "OVER" : container = 220 ), ` +
		`e7 = ( "_callsite" : container = 7 ), e9 = ( <unknown> : container = 9 ), se = ( "NEG" : container = -5 ), ` +
		`f = 3.5, tag = ( "b" : container = 1 ), v = { "Daniel Lavoie" } }` + "\n"
	if got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
}

func TestFloatFormat(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{{0, "0"}, {1.5, "1.5"}, {100000, "100000"}, {1e6, "1e+06"}, {123456789, "1.23457e+08"},
		{0.0001, "0.0001"}, {0.00001234, "1.234e-05"}, {-2.25, "-2.25"}, {math.Inf(1), "inf"},
		{math.NaN(), "nan"}, {float64(float32(1.1)), "1.1"}, {1e-300, "1e-300"}, {123456.5, "123456"}} {
		if got := string(appendFloat(nil, c.f)); got != c.want {
			t.Errorf("%v: got %q want %q", c.f, got, c.want)
		}
	}
}

func TestHiddenPacketContext(t *testing.T) {
	// A packet context made only of reader fields is not printed at all;
	// an originally empty payload is printed "{ }".
	clk := &meta.Clock{Name: "c", Freq: 1e9}
	pc := structc("timestamp_begin", role(intc(64, false, 10), meta.RoleTimestampBegin),
		"packet_size", role(intc(64, false, 10), meta.RolePacketSize))
	sc := &meta.Stream{PacketContext: pc, Clock: clk}
	tr := &ctf.Trace{Meta: &meta.Trace{Major: 1, Minor: 8}}
	ec := &meta.Event{Name: "sched:sched_wakeup", Payload: structc("perf_ip", x64)}
	ev := mkEvent(tr, sc, ec, 979417057183,
		scopeVal{meta.ScopePacketContext, fv{kids: []fv{{bits: 1}, {bits: 2}}}},
		scopeVal{meta.ScopeEventPayload, fv{kids: []fv{{bits: 0}}}})
	got, _ := render(t, DefaultOptions(), ev)
	if want := "[00:16:19.417057183] (+?.?????????) sched:sched_wakeup: { perf_ip = 0x0 }\n"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestDiscardedWarnings(t *testing.T) {
	tr, sc := lttngTrace("joraj-alpa")
	tr.Meta.HasUUID = true
	tr.Meta.UUID = [16]byte{0x83, 0x0f, 0x21, 0x29, 0x77, 0xd5, 0xcb, 0x4e, 0x90, 0xcf, 0xb0, 0x75, 0x4d, 0x8c, 0xe8, 0x89}
	st := &ctf.Stream{Trace: tr, Class: sc, Name: "kernel/kernel_channel_0"}
	evs := []*ctf.Event{
		{Kind: ctf.KindDiscarded, Stream: st, Count: 728, HasBounds: true, BeginNS: 1565032562352676346, EndNS: 1565032593426663981},
		{Kind: ctf.KindLostPackets, Stream: st, Count: 1, HasBounds: true, BeginNS: 13515309000000110, EndNS: 13515309000000111},
		{Kind: ctf.KindDiscarded, Stream: &ctf.Stream{Trace: &ctf.Trace{Meta: &meta.Trace{}}, Class: &meta.Stream{}, Name: "stream"}, Count: 17},
	}
	o := DefaultOptions()
	o.TraceName = func(*ctf.Trace) string { return "joraj-alpa/kernel" }
	_, got := render(t, o, evs...)
	want := `WARNING: Tracer discarded 728 events between [19:16:02.352676346] and [19:16:33.426663981] in trace "joraj-alpa/kernel" (UUID: 830f2129-77d5-cb4e-90cf-b0754d8ce889) within stream "kernel/kernel_channel_0" (stream class ID: 0, stream ID: 0).
WARNING: Tracer discarded 1 packet between [10:15:09.000000110] and [10:15:09.000000111] in trace "joraj-alpa/kernel" (UUID: 830f2129-77d5-cb4e-90cf-b0754d8ce889) within stream "kernel/kernel_channel_0" (stream class ID: 0, stream ID: 0).
WARNING: Tracer discarded 17 events (unknown time range) in trace "joraj-alpa/kernel" (no UUID) within stream "stream" (stream class ID: 0, stream ID: 0).
`
	if got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
}

func TestNegativeTime(t *testing.T) {
	clk := &meta.Clock{Name: "c", Freq: 1e9}
	sc := &meta.Stream{Clock: clk}
	tr := &ctf.Trace{Meta: &meta.Trace{Major: 1, Minor: 8}}
	ec := &meta.Event{Name: "e"}
	o := DefaultOptions()
	o.NoDelta = true
	got, errs := render(t, o, mkEvent(tr, sc, ec, -1_500_000_000), mkEvent(tr, sc, ec, -1_500_000_000))
	if want := "[-1.500000000] e: \n[00:00:01.500000000] e: \n"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
	if want := "[warning] Fallback to [sec.ns] to print negative time value. Use --clock-seconds.\n"; errs != want {
		t.Errorf("stderr %q", errs)
	}
}

func TestWarningLine(t *testing.T) {
	now := time.Date(2025, 11, 25, 21, 11, 41, 888e6, time.UTC)
	got := warningLine(now, 16894, `At line 2 in metadata stream: Unknown attribute in integer field class: attr-name="aa"`, nil)
	want := `11-25 21:11:41.888 16894 16894 W PLUGIN/CTF/META/IR-VISITOR visit_integer_decl@visitor-generate-ir.c:2520 [auto-disc-source-ctf-fs] At line 2 in metadata stream: Unknown attribute in integer field class: attr-name="aa"` + "\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestNoAllocs(t *testing.T) {
	tr, sc := lttngTrace("vm")
	ec := &meta.Event{Name: "ev", Payload: structc("_x", u32, "_s", strc, "_h", x64)}
	ev := mkEvent(tr, sc, ec, t0, pkt(1), ctx(7, "proc"), scopeVal{meta.ScopeEventPayload, fv{kids: []fv{{bits: 5}, {str: "hello\n"}, {bits: 255}}}})
	arr := &meta.Event{Name: "arr", Payload: structc("_a", &meta.Class{Kind: meta.KindArray, Length: 2, Elem: u32}, "_s", strc)}
	ev2 := mkEvent(tr, sc, arr, t0, pkt(1), ctx(7, "proc"), scopeVal{meta.ScopeEventPayload, fv{kids: []fv{{kids: []fv{{bits: 1}, {bits: 2}}}, {str: "x"}}}})
	p := New(discard{}, DefaultOptions())
	p.Print(ev)
	p.Print(ev2)
	allocs := testing.AllocsPerRun(1000, func() {
		ev.NS += 1000
		p.Print(ev)
		ev2.NS = ev.NS
		p.Print(ev2)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per event, want 0", allocs)
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

func BenchmarkPrint(b *testing.B) {
	tr, sc := lttngTrace("vm")
	ec := &meta.Event{Name: "lttng_ust_libc:malloc", Payload: structc("_size", u64, "_ptr", x64)}
	ev := mkEvent(tr, sc, ec, t0, pkt(1), ctx(7, "proc"), scopeVal{meta.ScopeEventPayload, fv{kids: []fv{{bits: 5}, {bits: 0x7f001234}}}})
	p := New(discard{}, DefaultOptions())
	b.ReportAllocs()
	for b.Loop() {
		ev.NS += 1000
		p.Print(ev)
	}
}

func TestEmptyStringShowsPrevious(t *testing.T) {
	// babeltrace2 2.0 does not clear a recycled string field that decodes
	// empty: long enough after the previous event of the class (whose
	// object is then recycled), it shows that event's value; the first
	// events, and events close to the previous one of their class, get
	// fresh objects and show "".
	tr, sc := lttngTrace("h")
	sc.EventContext = nil
	open := &meta.Event{Name: "openat", Payload: structc("_filename", strc, "_flags", u32)}
	other := &meta.Event{Name: "access", Payload: structc("_filename", strc)}
	st := &ctf.Stream{Trace: tr, Class: sc, Name: "chan_0"}
	ev := func(ec *meta.Event, kids ...fv) *ctf.Event {
		e := mkEvent(tr, sc, ec, t0, pkt(3), scopeVal{meta.ScopeEventPayload, fv{kids: kids}})
		e.Stream = st
		return e
	}
	evs := []*ctf.Event{
		ev(open, fv{str: ""}, fv{bits: 1}),
		ev(open, fv{str: "/usr/lib/charset.alias"}, fv{bits: 2}),
		ev(open, fv{str: ""}, fv{bits: 3}),
	}
	for range 40 {
		evs = append(evs, ev(other, fv{str: "x"}))
	}
	evs = append(evs, ev(open, fv{str: ""}, fv{bits: 4}), ev(open, fv{str: ""}, fv{bits: 5}))
	o := DefaultOptions()
	o.NoDelta = true
	got, _ := render(t, o, evs...)
	lines := strings.Split(got, "\n")
	want := map[int]string{
		0:  `[20:38:33.348191803] h openat: { cpu_id = 3 }, { filename = "", flags = 1 }`,
		1:  `[20:38:33.348191803] h openat: { cpu_id = 3 }, { filename = "/usr/lib/charset.alias", flags = 2 }`,
		2:  `[20:38:33.348191803] h openat: { cpu_id = 3 }, { filename = "", flags = 3 }`,
		43: `[20:38:33.348191803] h openat: { cpu_id = 3 }, { filename = "/usr/lib/charset.alias", flags = 4 }`,
		44: `[20:38:33.348191803] h openat: { cpu_id = 3 }, { filename = "", flags = 5 }`,
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d:\n got %s\nwant %s", i, lines[i], w)
		}
	}
	// --no-bt2-quirks: the true value.
	o.NoBT2Quirks = true
	got, _ = render(t, o, evs...)
	lines = strings.Split(got, "\n")
	if w := `[20:38:33.348191803] h openat: { cpu_id = 3 }, { filename = "", flags = 4 }`; lines[43] != w {
		t.Errorf("NoBT2Quirks, line 43:\n got %s\nwant %s", lines[43], w)
	}
}

func TestAppendNano(t *testing.T) {
	for _, v := range []uint64{0, 1, 9, 10, 123456789, 999999999, 100000000, 5000, 70000001} {
		want := strings.Repeat("0", 9-len(strconv.FormatUint(v, 10))) + strconv.FormatUint(v, 10)
		if got := string(appendNano(nil, v)); got != want {
			t.Errorf("%d: got %q want %q", v, got, want)
		}
	}
}

package pretty

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/meta"
	"github.com/tracetop/tracetop/ctf/tsdl"
)

// flushAt is the buffer size at which the printer writes out.
const flushAt = 256 << 10

// logLevelNames are babeltrace2's names of the CTF log levels 0 to 14.
var logLevelNames = [...]string{"TRACE_EMERG", "TRACE_ALERT", "TRACE_CRIT", "TRACE_ERR",
	"TRACE_WARNING", "TRACE_NOTICE", "TRACE_INFO", "TRACE_DEBUG_SYSTEM", "TRACE_DEBUG_PROGRAM",
	"TRACE_DEBUG_PROCESS", "TRACE_DEBUG_MODULE", "TRACE_DEBUG_UNIT", "TRACE_DEBUG_FUNCTION",
	"TRACE_DEBUG_LINE", "TRACE_DEBUG"}

// classPlan is what the printer keeps per event class: the header text
// after the time (for both states of babeltrace2's "start of line" flag)
// and the compiled scopes.
type classPlan struct {
	class  *meta.Event
	trace  *ctf.Trace
	head   [2][]byte // [0]: at the start of a line, [1]: after a named time
	scopes [4]*node
	flat   *flatProg // nil when a printed member is compound
	// seq is the number of events printed before the last event of this
	// class, seen whether there was one.
	seq  uint64
	seen bool
}

// recycleBatch is how many messages babeltrace2 2.0 gets from a stream
// at a time: an event object is created up to that many messages per
// stream (and one batch more) before it is printed.
const recycleBatch = 15

// Printer formats events as babeltrace2's pretty sink. It is not safe for
// concurrent use.
type Printer struct {
	w    io.Writer
	opts Options
	loc  *time.Location
	buf  []byte
	err  error

	plans map[*meta.Event]*classPlan
	// A small cache of recent plans: events of a few classes alternate
	// (malloc/free, syscall entry/exit).
	recent [4]*classPlan
	next   int
	names  map[*ctf.Trace]string

	// The formatted date and time of the last second printed.
	secOK   bool
	sec     uint64
	secText []byte

	lastNS     int64
	haveLastNS bool
	lastCyc    uint64
	haveCyc    bool
	negWarned  bool
	// stopped says printing ended early (--end reached, output closed).
	stopped bool

	// What decides whether babeltrace2 would print an event with a
	// recycled object (see node.stale): events printed, streams seen.
	seq        uint64
	streams    map[*ctf.Stream]struct{}
	lastStream *ctf.Stream
	recycled   bool
}

// New returns a printer writing to w.
func New(w io.Writer, o Options) *Printer {
	return &Printer{w: w, opts: o, loc: o.location(), buf: make([]byte, 0, flushAt+64<<10),
		plans: map[*meta.Event]*classPlan{}, names: map[*ctf.Trace]string{},
		streams: map[*ctf.Stream]struct{}{}}
}

// Print prints an event on the output, or a discarded-events or
// lost-packets notice on the error writer.
func (p *Printer) Print(ev *ctf.Event) error {
	switch ev.Kind {
	case ctf.KindEvent:
		p.event(ev)
	case ctf.KindDiscarded:
		p.discarded(ev, "event")
	case ctf.KindLostPackets:
		p.discarded(ev, "packet")
	}
	if len(p.buf) >= flushAt {
		p.Flush()
	}
	return p.err
}

// Flush writes out what is buffered.
func (p *Printer) Flush() error {
	if len(p.buf) > 0 && p.err == nil {
		_, p.err = p.w.Write(p.buf)
	}
	p.buf = p.buf[:0]
	return p.err
}

func (p *Printer) plan(ev *ctf.Event) *classPlan {
	for _, pl := range p.recent {
		if pl != nil && pl.class == ev.Class && pl.trace == ev.Stream.Trace {
			return pl
		}
	}
	pl := p.plans[ev.Class]
	if pl == nil || pl.trace != ev.Stream.Trace {
		pl = p.newPlan(ev)
		p.plans[ev.Class] = pl
	}
	p.recent[p.next] = pl
	p.next = (p.next + 1) % len(p.recent)
	return pl
}

func (p *Printer) newPlan(ev *ctf.Event) *classPlan {
	t := ev.Stream.Trace
	pl := &classPlan{class: ev.Class, trace: t}
	pl.head[0] = p.header(t, ev.Class, true)
	pl.head[1] = p.header(t, ev.Class, false)
	var roots [4]*meta.Class
	if sc := ev.Stream.Class; sc != nil {
		roots[0], roots[1] = sc.PacketContext, sc.EventContext
	}
	roots[2], roots[3] = ev.Class.Context, ev.Class.Payload
	strip := t.Meta == nil || t.Meta.Major < 2
	pl.scopes = compile(roots, strip)
	pl.flat = p.flatten(pl)
	return pl
}

func envString(t *ctf.Trace, key string) (string, bool) {
	if t.Meta == nil {
		return "", false
	}
	for _, e := range t.Meta.Env {
		if e.Key == key {
			return e.Str, !e.IsInt
		}
	}
	return "", false
}

func envInt(t *ctf.Trace, key string) (int64, bool) {
	if t.Meta == nil {
		return 0, false
	}
	for _, e := range t.Meta.Env {
		if e.Key == key {
			return e.Int, e.IsInt
		}
	}
	return 0, false
}

// header builds the text between the time and the first scope, following
// babeltrace2's quirks to the letter (separators depend on a "start of
// line" flag the optional fields never update).
func (p *Printer) header(t *ctf.Trace, ec *meta.Event, startLine bool) []byte {
	o := &p.opts
	names := o.NamesHeader
	var b []byte
	dom := false
	sep := func() {
		if !startLine {
			b = append(b, ", "...)
		}
	}
	if o.FieldTrace {
		sep()
		if names {
			b = append(b, "trace = "...)
		}
		b = append(b, p.traceName(t)...)
		if names {
			b = append(b, ", "...)
		}
	}
	if o.FieldHostname {
		if s, ok := envString(t, "hostname"); ok {
			sep()
			if names {
				b = append(b, "trace:hostname = "...)
			}
			b = append(b, s...)
			dom = true
		}
	}
	field := func(label, val string) {
		sep()
		if names {
			b = append(b, label...)
			b = append(b, " = "...)
		} else if dom {
			b = append(b, ':')
		}
		b = append(b, val...)
		dom = true
	}
	if o.FieldDomain {
		if s, ok := envString(t, "domain"); ok {
			field("trace:domain", s)
		}
	}
	if o.FieldProcname {
		if s, ok := envString(t, "procname"); ok {
			field("trace:procname", s)
		}
	}
	if o.FieldVPID {
		if v, ok := envInt(t, "vpid"); ok {
			field("trace:vpid", "("+strconv.FormatInt(v, 10)+")")
		}
	}
	if o.FieldLoglevel && ec.HasLogLevel && ec.LogLevel >= 0 && ec.LogLevel < int64(len(logLevelNames)) {
		field("loglevel", logLevelNames[ec.LogLevel]+" ("+strconv.FormatInt(ec.LogLevel, 10)+")")
	}
	if o.FieldEMF && ec.EMFURI != "" {
		field("model.emf.uri", ec.EMFURI)
	}
	if dom && !names {
		b = append(b, ' ')
	}
	sep()
	if names {
		b = append(b, "name = "...)
	}
	if ec.Name != "" {
		b = append(b, ec.Name...)
	} else {
		b = append(b, "<unknown>"...)
	}
	if names {
		b = append(b, ", "...)
	} else {
		b = append(b, ": "...)
	}
	return b
}

func (p *Printer) traceName(t *ctf.Trace) string {
	if n, ok := p.names[t]; ok {
		return n
	}
	var n string
	if p.opts.TraceName != nil {
		n = p.opts.TraceName(t)
	} else {
		n, _ = envString(t, "hostname")
	}
	p.names[t] = n
	return n
}

func (p *Printer) event(ev *ctf.Event) {
	pl := p.plan(ev)
	if ev.Stream != p.lastStream {
		p.lastStream = ev.Stream
		p.streams[ev.Stream] = struct{}{}
	}
	o := &p.opts
	window := uint64(recycleBatch * (len(p.streams) + 1))
	p.recycled = pl.seen && p.seq-pl.seq >= window && !o.NoBT2Quirks
	pl.seq, pl.seen = p.seq, true
	p.seq++
	b := p.buf
	startLine := true
	if ev.HasTime {
		names := o.NamesHeader
		if names {
			b = append(b, "timestamp = "...)
		} else {
			b = append(b, '[')
		}
		switch {
		case o.ClockCycles:
			b = appendPadded(b, ev.Cycles, 20)
		case ev.TimeOverflow:
			// Past int64 nanoseconds (funky-trace): babeltrace2 refuses
			// the trace; babeltrace 1 prints the time modulo 2^64 as an
			// unsigned count of nanoseconds.
			b = p.appendWallUnsigned(b, uint64(ev.NS))
		default:
			b = p.appendWall(b, ev.NS)
		}
		if !names {
			b = append(b, ']', ' ')
		}
		if !o.NoDelta {
			if names {
				b = append(b, ", delta = "...)
			} else {
				b = append(b, '(')
			}
			if o.ClockCycles {
				if p.haveCyc {
					b = append(b, '+')
					b = appendPadded(b, ev.Cycles-p.lastCyc, 12)
				} else {
					b = append(b, "+????????????"...)
				}
			} else if p.haveLastNS {
				d := uint64(ev.NS) - uint64(p.lastNS)
				b = append(b, '+')
				b = appendUint(b, d/1e9)
				b = append(b, '.')
				b = appendNano(b, d%1e9)
			} else {
				b = append(b, "+?.?????????"...)
			}
			if !names {
				b = append(b, ')', ' ')
			}
		}
		if o.ClockCycles {
			p.lastCyc, p.haveCyc = ev.Cycles, true
		} else {
			p.lastNS, p.haveLastNS = ev.NS, true
		}
		startLine = !names
	}
	if startLine {
		b = append(b, pl.head[0]...)
	} else {
		b = append(b, pl.head[1]...)
	}
	if pl.flat != nil {
		if nb, ok := p.flat(b, pl.flat, ev); ok {
			p.buf = append(nb, '\n')
			return
		}
	}
	startLine = true
	for i, n := range pl.scopes {
		if n == nil || n.hidden {
			continue
		}
		r := ev.Root[scopeOrder[i]]
		if r < 0 || int(r) >= len(ev.Values) {
			continue
		}
		if !startLine {
			b = append(b, ", "...)
		}
		startLine = false
		if o.NamesScope {
			b = append(b, scopeNames[i]...)
		}
		names := o.NamesContext
		if i == 3 {
			names = o.NamesPayload
		}
		b = p.value(b, n, &ev.Values[r], ev, names)
	}
	p.buf = append(b, '\n')
}

var scopeNames = [4]string{"stream.packet.context = ", "stream.event.context = ",
	"event.context = ", "event.fields = "}

// appendWall formats a time in nanoseconds from the clock's origin as
// babeltrace2 does: local (or UTC) HH:MM:SS.nnnnnnnnn, with the date when
// asked, or SEC.nnnnnnnnn.
func (p *Printer) appendWall(b []byte, ns int64) []byte {
	sec, nsec := ns/1e9, ns%1e9
	var neg bool
	var sabs, nabs uint64
	switch {
	case sec >= 0 && nsec >= 0:
		sabs, nabs = uint64(sec), uint64(nsec)
	case sec == 0 && nsec < 0:
		neg, nabs = true, uint64(-nsec)
	case sec < 0 && nsec == 0:
		neg, sabs = true, uint64(-sec)
	default:
		neg, sabs, nabs = true, uint64(-sec), uint64(-nsec)
	}
	if !p.opts.ClockSeconds {
		// babeltrace2 falls back to seconds for the first negative time
		// only, then prints the absolute value as a time of day.
		if !neg || p.negWarned {
			if !p.secOK || p.sec != sabs {
				p.secText = p.formatSecond(p.secText[:0], sabs)
				p.sec, p.secOK = sabs, true
			}
			b = append(b, p.secText...)
			b = append(b, '.')
			return appendNano(b, nabs)
		}
		p.negWarned = true
		p.warn("[warning] Fallback to [sec.ns] to print negative time value. Use --clock-seconds.\n")
	}
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, sabs, 10)
	b = append(b, '.')
	return appendNano(b, nabs)
}

// appendWallUnsigned formats a time of uint64 nanoseconds from the
// clock's origin, as babeltrace 1 does.
func (p *Printer) appendWallUnsigned(b []byte, ns uint64) []byte {
	sec, nsec := ns/1e9, ns%1e9
	if p.opts.ClockSeconds {
		b = appendUint(b, sec)
	} else {
		if !p.secOK || p.sec != sec {
			p.secText = p.formatSecond(p.secText[:0], sec)
			p.sec, p.secOK = sec, true
		}
		b = append(b, p.secText...)
	}
	b = append(b, '.')
	return appendNano(b, nsec)
}

func (p *Printer) formatSecond(b []byte, sec uint64) []byte {
	t := time.Unix(int64(sec), 0).In(p.loc)
	if p.opts.ClockDate {
		y, m, d := t.Date()
		b = appendPadded(b, uint64(y), 4)
		b = append(b, '-')
		b = appendPadded(b, uint64(m), 2)
		b = append(b, '-')
		b = appendPadded(b, uint64(d), 2)
		b = append(b, ' ')
	}
	h, mi, s := t.Clock()
	b = appendPadded(b, uint64(h), 2)
	b = append(b, ':')
	b = appendPadded(b, uint64(mi), 2)
	b = append(b, ':')
	return appendPadded(b, uint64(s), 2)
}

// warn writes a line on the error writer, after what is buffered for the
// output so that both keep their order on a terminal.
func (p *Printer) warn(s string) {
	p.Flush()
	io.WriteString(p.opts.errWriter(), s)
}

// value appends one field.
func (p *Printer) value(b []byte, n *node, v *ctf.Value, ev *ctf.Event, names bool) []byte {
	switch n.kind {
	case meta.KindInt, meta.KindVarInt:
		return appendInt(b, v.Bits, n.signed, n.base, n.size)
	case meta.KindEnum:
		return p.enum(b, n, v.Bits)
	case meta.KindFloat:
		return appendFloat(b, v.Float())
	case meta.KindString:
		return appendQuoted(b, n.str(text(ev, v), p.recycled))
	case meta.KindStaticText, meta.KindDynamicText:
		return appendQuoted(b, text(ev, v))
	case meta.KindStruct:
		b = append(b, '{')
		first := true
		for i, k := range n.kids {
			if k.hidden || i >= int(v.N) {
				continue
			}
			sep := k.sepName
			if !names {
				sep = ", "
			}
			if first {
				sep = sep[1:]
				first = false
			}
			b = append(b, sep...)
			b = p.value(b, k, &ev.Values[int(v.Start)+i], ev, names)
		}
		return append(b, " }"...)
	case meta.KindVariant:
		if int(v.Opt) >= len(n.kids) || v.N < 1 {
			return append(b, "{ }"...)
		}
		b = append(b, '{', ' ')
		b = p.value(b, n.kids[v.Opt], &ev.Values[v.Start], ev, names)
		return append(b, " }"...)
	case meta.KindArray, meta.KindSequence:
		if n.text {
			return appendQuoted(b, text(ev, v))
		}
		b = append(b, '[')
		for i := 0; i < int(v.N); i++ {
			if i == 0 {
				b = append(b, ' ')
			} else {
				b = append(b, ", "...)
			}
			if names {
				b = append(b, '[')
				b = strconv.AppendUint(b, uint64(i), 10)
				b = append(b, "] = "...)
			}
			b = p.value(b, n.elem, &ev.Values[int(v.Start)+i], ev, names)
		}
		return append(b, " ]"...)
	case meta.KindOptional:
		if v.N < 1 || n.elem == nil {
			return append(b, "<none>"...)
		}
		b = append(b, '{', ' ')
		b = p.value(b, n.elem, &ev.Values[v.Start], ev, names)
		return append(b, " }"...)
	case meta.KindStaticBlob, meta.KindDynamicBlob:
		bs := ev.Bytes(v)
		b = append(b, '[')
		for i, c := range bs {
			if i == 0 {
				b = append(b, ' ')
			} else {
				b = append(b, ", "...)
			}
			if names {
				b = append(b, '[')
				b = strconv.AppendUint(b, uint64(i), 10)
				b = append(b, "] = "...)
			}
			b = append(b, '0', 'x')
			b = appendHex(b, uint64(c))
		}
		return append(b, " ]"...)
	}
	return b
}

// str returns what babeltrace2 2.0 shows for a NUL-terminated string
// field that decoded as s (see node.stale); recycled says the event's
// object would be a recycled one.
func (n *node) str(s []byte, recycled bool) []byte {
	if n.inArray {
		return s
	}
	if len(s) == 0 || s[0] == 0 {
		if recycled {
			return n.stale
		}
		return s
	}
	n.stale = append(n.stale[:0], s...)
	return s
}

// text returns the bytes of a string value up to its first NUL.
func text(ev *ctf.Event, v *ctf.Value) []byte {
	if v.N <= 0 || int(v.Start)+int(v.N) > len(ev.Text) {
		return nil
	}
	return ev.Bytes(v)
}

// enum appends "( "LABEL", ... : container = N )" or
// "( <unknown> : container = N )".
func (p *Printer) enum(b []byte, n *node, bits uint64) []byte {
	b = append(b, '(', ' ')
	found := 0
	for i := range n.cls.Mappings {
		m := &n.cls.Mappings[i]
		for _, r := range m.Ranges {
			var in bool
			if n.signed {
				in = int64(r.Lo) <= int64(bits) && int64(bits) <= int64(r.Hi)
			} else {
				in = r.Lo <= bits && bits <= r.Hi
			}
			if in {
				if found > 0 {
					b = append(b, ", "...)
				}
				b = appendQuoted(b, m.Label)
				found++
				break
			}
		}
	}
	if found == 0 {
		b = append(b, "<unknown>"...)
	}
	b = append(b, " : container = "...)
	b = appendInt(b, bits, n.signed, n.base, n.size)
	return append(b, " )"...)
}

// discarded reports lost events or packets as babeltrace2 does, on the
// error writer.
func (p *Printer) discarded(ev *ctf.Event, what string) {
	var b []byte
	if ev.CountUnknown {
		b = append(b, "WARNING: Tracer may have discarded "...)
		b = append(b, what...)
		b = append(b, 's')
	} else {
		b = append(b, "WARNING: Tracer discarded "...)
		b = strconv.AppendUint(b, ev.Count, 10)
		b = append(b, ' ')
		b = append(b, what...)
		if ev.Count != 1 {
			b = append(b, 's')
		}
	}
	b = append(b, ' ')
	if ev.HasBounds {
		b = append(b, "between ["...)
		b = p.appendWall(b, ev.BeginNS)
		b = append(b, "] and ["...)
		b = p.appendWall(b, ev.EndNS)
		b = append(b, ']')
	} else {
		b = append(b, "(unknown time range)"...)
	}
	s := ev.Stream
	var t *ctf.Trace
	if s != nil {
		t = s.Trace
	}
	b = append(b, " in trace \""...)
	if t != nil {
		b = append(b, p.traceName(t)...)
	}
	b = append(b, "\" "...)
	if t != nil && t.Meta != nil && t.Meta.HasUUID {
		b = append(b, "(UUID: "...)
		b = appendUUID(b, t.Meta.UUID)
		b = append(b, ") "...)
	} else {
		b = append(b, "(no UUID) "...)
	}
	b = append(b, "within stream \""...)
	if s != nil {
		if p.opts.StreamName != nil {
			b = append(b, p.opts.StreamName(s)...)
		} else {
			b = append(b, s.Name...)
		}
	}
	b = append(b, "\" (stream class ID: "...)
	if s != nil && s.Class != nil {
		b = strconv.AppendUint(b, s.Class.ID, 10)
	} else {
		b = append(b, '0')
	}
	b = append(b, ", stream ID: "...)
	if s != nil {
		b = strconv.AppendUint(b, s.InstanceID, 10)
	}
	b = append(b, ").\n"...)
	p.warn(string(b))
}

// MetadataWarnings writes the warnings of a trace's metadata parser on
// the error writer, in the shape of babeltrace2's log lines:
//
//	MM-DD HH:MM:SS.mmm PID TID W PLUGIN/CTF/META/IR-VISITOR FUNC@visitor-generate-ir.c:LINE [auto-disc-source-ctf-fs] At line N in metadata stream: ...
func (p *Printer) MetadataWarnings(t *ctf.Trace) {
	if t == nil || t.Meta == nil || len(t.Meta.Warnings) == 0 {
		return
	}
	blocks := topBlocks(t)
	for _, w := range t.Meta.Warnings {
		p.warn(warningLine(time.Now(), os.Getpid(), w, blocks))
	}
}

// topBlocks returns, for each line of a trace's metadata text, the
// keyword of the top-level block it is in ("trace", "stream", ...):
// babeltrace2 words an unknown attribute of a trace block and of a stream
// block alike, and only the function named in its log line differs.
func topBlocks(t *ctf.Trace) []string {
	if t.Path == "" || strings.Contains(t.Path, "://") {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(t.Path, "metadata"))
	if err != nil {
		return nil
	}
	if tsdl.IsPacketized(b) {
		if b, err = tsdl.Unpacketize(b); err != nil {
			return nil
		}
	}
	var out []string
	depth, kw := 0, ""
	for _, line := range strings.Split(string(b), "\n") {
		if depth == 0 {
			if f := strings.Fields(strings.TrimSpace(line)); len(f) > 0 {
				kw = strings.TrimRight(f[0], "{")
			}
		}
		out = append(out, kw)
		depth += strings.Count(line, "{") - strings.Count(line, "}")
		if depth < 0 {
			depth = 0
		}
	}
	return out
}

// warningLine renders one metadata warning. The parser writes either
// babeltrace2's "At line N in metadata stream: ..." or "metadata line N:
// ...". blocks gives the top-level block of each line (may be nil).
func warningLine(now time.Time, pid int, w string, blocks []string) string {
	if rest, ok := strings.CutPrefix(w, "metadata line "); ok {
		if num, msg, ok := strings.Cut(rest, ": "); ok {
			w = "At line " + num + " in metadata stream: " + msg
		}
	}
	line := 0
	if rest, ok := strings.CutPrefix(w, "At line "); ok {
		if num, _, ok := strings.Cut(rest, " "); ok {
			line, _ = strconv.Atoi(num)
		}
	}
	block := ""
	if line >= 1 && line <= len(blocks) {
		block = blocks[line-1]
	}
	fn := "visit_trace_decl_entry@visitor-generate-ir.c:3935"
	switch {
	case strings.Contains(w, "in integer field class"):
		fn = "visit_integer_decl@visitor-generate-ir.c:2520"
	case strings.Contains(w, "in event class"):
		fn = "visit_event_decl_entry@visitor-generate-ir.c:3202"
	case strings.Contains(w, "in trace class"):
		// babeltrace2 2.0 calls a trace block's attribute a stream
		// class's.
		w = strings.Replace(w, "in trace class", "in stream class", 1)
	case strings.Contains(w, "in stream class"):
		if block != "trace" {
			fn = "visit_stream_decl_entry@visitor-generate-ir.c:3683"
		}
	case strings.Contains(w, "in clock class"):
		fn = "visit_clock_decl_entry@visitor-generate-ir.c:4424"
	}
	var b []byte
	b = appendPadded(b, uint64(now.Month()), 2)
	b = append(b, '-')
	b = appendPadded(b, uint64(now.Day()), 2)
	b = append(b, ' ')
	h, m, s := now.Clock()
	b = appendPadded(b, uint64(h), 2)
	b = append(b, ':')
	b = appendPadded(b, uint64(m), 2)
	b = append(b, ':')
	b = appendPadded(b, uint64(s), 2)
	b = append(b, '.')
	b = appendPadded(b, uint64(now.Nanosecond()/1e6), 3)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, " W PLUGIN/CTF/META/IR-VISITOR "...)
	b = append(b, fn...)
	b = append(b, " [auto-disc-source-ctf-fs] "...)
	b = append(b, w...)
	b = append(b, '\n')
	return string(b)
}

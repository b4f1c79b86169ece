package tsdl

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/tracetop/tracetop/ctf/meta"
)

// keywords are the reserved words of TSDL: they cannot name a field, a
// typedef or a variant tag.
var keywords = map[string]bool{
	"align": true, "callsite": true, "const": true, "char": true, "clock": true, "double": true,
	"enum": true, "env": true, "event": true, "floating_point": true, "float": true,
	"integer": true, "int": true, "long": true, "short": true, "signed": true, "stream": true,
	"string": true, "struct": true, "trace": true, "typealias": true, "typedef": true,
	"unsigned": true, "variant": true, "void": true, "_Bool": true, "_Complex": true,
	"_Imaginary": true,
}

// cTypeWords are the keywords that may make up a type name ("unsigned
// long", "int"): typealias can give them a meaning.
var cTypeWords = map[string]bool{
	"const": true, "char": true, "double": true, "float": true, "int": true, "long": true,
	"short": true, "signed": true, "unsigned": true, "void": true, "_Bool": true,
	"_Complex": true, "_Imaginary": true,
}

// scope is a lexical scope of type names. Keys are prefixed by namespace:
// "t " typedef/typealias, "s " struct, "v " variant, "e " enum.
type scope struct {
	parent *scope
	names  map[string]*meta.Class
}

func (s *scope) lookup(key string) *meta.Class {
	for ; s != nil; s = s.parent {
		if c, ok := s.names[key]; ok {
			return c
		}
	}
	return nil
}

// frame is a struct or variant whose body is being parsed: the fields
// declared so far, for checking relative references lexically.
type frame struct {
	fields  *[]meta.Field
	variant bool
	names   map[string]struct{} // field names, for big bodies
}

type parser struct {
	lx    lexer
	ahead []token // lookahead window: ahead[head] is the current token
	head  int
	prev  token          // the token consumed last
	order meta.ByteOrder // the trace's byte order, for "native"
	tr    *meta.Trace

	frames  []frame
	dynamic int // > 0 inside a `:=` type of a trace, stream or event block

	haveTrace  bool
	traceOrder bool
	streams    []*streamDecl
	events     []*eventDecl
	depth      int

	// ints memoizes integer classes by their text (parseInteger).
	ints map[intKey]*meta.Class
}

type streamDecl struct {
	s     *meta.Stream
	hasID bool
	line  int
}

type eventDecl struct {
	e           *meta.Event
	hasID       bool
	hasStreamID bool
	line        int
}

// maxDepth bounds nesting so hostile metadata cannot exhaust the stack.
const maxDepth = 200

// Parse parses CTF 1.8 TSDL text (not packetized: see ParseMetadata and
// Unpacketize) into a trace class.
func Parse(text []byte) (*meta.Trace, error) {
	src := unsafe.String(unsafe.SliceData(text), len(text))
	if len(text) == 0 {
		return nil, errorf(0, "empty metadata")
	}
	// Tokens point into src; copy once so the caller may reuse text.
	src = strings.Clone(src)
	if err := checkHeader(src); err != nil {
		return nil, err
	}
	p := &parser{lx: lexer{src: src, line: 1}, tr: &meta.Trace{Major: 1, Minor: 8}}
	p.order, p.traceOrder = prescanByteOrder(src)
	p.tr.ByteOrder = p.order
	err := p.parseTop()
	if p.lx.err != nil {
		// The parser stopped on the tEOF that stands for the lexer's error.
		return nil, p.lx.err
	}
	if err != nil {
		return nil, err
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return p.tr, nil
}

// checkHeader checks the "/* CTF 1.8" comment that starts plain-text
// metadata, when there is one.
func checkHeader(src string) error {
	s := strings.TrimLeft(src, " \t\r\n")
	if !strings.HasPrefix(s, "/* CTF ") {
		return nil
	}
	v := s[len("/* CTF "):]
	end := strings.IndexAny(v, " \t\r\n*")
	if end < 0 {
		end = len(v)
	}
	if v[:end] != "1.8" {
		ver := v[:end]
		if len(ver) > 20 {
			ver = ver[:20] + "..."
		}
		return errorf(1, "metadata header says CTF %q, want 1.8", ver)
	}
	return nil
}

// prescanByteOrder finds `trace { ... byte_order = X; ... }` so that
// types declared before the trace block can resolve `native`. It lexes
// only up to the end of the first top-level trace block, near the top in
// practice.
func prescanByteOrder(src string) (meta.ByteOrder, bool) {
	l := &lexer{src: src, line: 1}
	depth := 0
	inTrace := false
	var prev, t token
	// window holds the last three tokens at depth 1 of the trace block.
	var w [3]token
	for {
		prev, t = t, l.next()
		if t.kind == tEOF {
			return meta.LittleEndian, false
		}
		if t.kind == tPunct && t.str == "{" {
			if depth == 0 && prev.kind == tIdent && prev.str == "trace" {
				inTrace = true
			}
			depth++
			continue
		}
		if t.kind == tPunct && t.str == "}" {
			depth--
			if depth <= 0 && inTrace {
				return meta.LittleEndian, false
			}
			continue
		}
		if !inTrace || depth != 1 {
			continue
		}
		w[0], w[1], w[2] = w[1], w[2], t
		if w[0].kind == tIdent && w[0].str == "byte_order" && w[1].kind == tPunct && w[1].str == "=" && w[2].kind == tIdent {
			switch w[2].str {
			case "be", "network":
				return meta.BigEndian, true
			case "le":
				return meta.LittleEndian, true
			}
			return meta.LittleEndian, false
		}
	}
}

// peekN returns the token n places after the current one.
func (p *parser) peekN(n int) token {
	for len(p.ahead)-p.head <= n {
		if len(p.ahead) > p.head && p.ahead[len(p.ahead)-1].kind == tEOF {
			return p.ahead[len(p.ahead)-1]
		}
		p.ahead = append(p.ahead, p.lx.next())
	}
	return p.ahead[p.head+n]
}

func (p *parser) peek() token { return p.peekN(0) }

func (p *parser) next() token {
	t := p.peekN(0)
	if t.kind != tEOF {
		p.prev = t
		p.head++
		if p.head == len(p.ahead) {
			p.ahead, p.head = p.ahead[:0], 0
		}
	}
	return t
}

func (p *parser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tPunct && t.str == s
}

func (p *parser) isIdent(s string) bool {
	t := p.peek()
	return t.kind == tIdent && t.str == s
}

func (p *parser) accept(s string) bool {
	if p.isPunct(s) {
		p.next()
		return true
	}
	return false
}

// expect consumes the punctuator s. The error says what s should follow:
// the words of after, the last one quoted when there are several
// (p.expect(";", "field", name) -> `expected ";" after field "x"`). The
// message is only built on error: this runs for every token.
func (p *parser) expect(s string, after ...string) error {
	if p.accept(s) {
		return nil
	}
	t := p.peek()
	switch len(after) {
	case 0:
		return errorf(int(t.line), "expected %q, found %s", s, t)
	case 1:
		return errorf(int(t.line), "expected %q after %s, found %s", s, after[0], t)
	}
	n := len(after) - 1
	return errorf(int(t.line), "expected %q after %s %q, found %s", s, strings.Join(after[:n], " "), after[n], t)
}

func (p *parser) errAt(t token, format string, args ...any) error {
	return errorf(int(t.line), format, args...)
}

func (p *parser) warn(line int32, msg string) {
	p.tr.Warnings = append(p.tr.Warnings, fmt.Sprintf("At line %d in metadata stream: %s", line, msg))
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return errorf(int(p.peek().line), "nesting deeper than %d levels", maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// parseTop parses the top-level declarations.
func (p *parser) parseTop() error {
	root := &scope{names: map[string]*meta.Class{}}
	for p.peek().kind != tEOF {
		t := p.peek()
		if t.kind == tIdent && p.peekN(1).kind == tPunct && p.peekN(1).str == "{" {
			var err error
			switch t.str {
			case "trace":
				err = p.parseTrace(root)
			case "env":
				err = p.parseEnv()
			case "clock":
				err = p.parseClock()
			case "stream":
				err = p.parseStream(root)
			case "event":
				err = p.parseEvent(root)
			case "callsite":
				err = p.parseCallsite()
			default:
				err = p.parseDeclaration(root, nil)
			}
			if err != nil {
				return err
			}
			continue
		}
		if err := p.parseDeclaration(root, nil); err != nil {
			return err
		}
	}
	if !p.haveTrace {
		return errorf(int(p.peek().line), "no trace block in the metadata")
	}
	return nil
}

// block parses `NAME { entries };` calling entry for each `lhs = value;` or
// `lhs := type;`. Type declarations are allowed inside when sc is not nil.
func (p *parser) block(what string, sc *scope, entry func(lhs string, lt token, sc *scope) error) error {
	p.next() // the block keyword
	if err := p.expect("{", what); err != nil {
		return err
	}
	for !p.isPunct("}") {
		t := p.peek()
		if t.kind == tEOF {
			return errorf(int(t.line), "expected \"}\" to close %s block, found end of metadata", what)
		}
		if sc != nil && t.kind == tIdent && !p.isAssignment() {
			if err := p.parseDeclaration(sc, nil); err != nil {
				return err
			}
			continue
		}
		lhs, err := p.path()
		if err != nil {
			return err
		}
		if err := entry(lhs, t, sc); err != nil {
			return err
		}
		if err := p.expect(";", what, "attribute", lhs); err != nil {
			return err
		}
	}
	p.next()
	return p.expect(";", what, "block")
}

// isAssignment reports whether the tokens from the current one are
// `a.b.c =` or `a.b.c :=`.
func (p *parser) isAssignment() bool {
	i := 0
	for {
		if p.peekN(i).kind != tIdent {
			return false
		}
		i++
		if t := p.peekN(i); t.kind == tPunct && t.str == "." {
			i++
			continue
		}
		t := p.peekN(i)
		return t.kind == tPunct && (t.str == "=" || t.str == ":=")
	}
}

// path reads `ident(.ident)*` (keywords allowed) and returns it joined by dots.
func (p *parser) path() (string, error) {
	t := p.next()
	if t.kind != tIdent {
		return "", p.errAt(t, "expected an attribute name, found %s", t)
	}
	s := t.str
	for p.isPunct(".") {
		p.next()
		u := p.next()
		if u.kind != tIdent {
			return "", p.errAt(u, "expected a name after \".\", found %s", u)
		}
		s += "." + u.str
	}
	return s, nil
}

// value is the right side of `name = value;`.
type value struct {
	kind tokKind // tInt, tString, tIdent (a dotted path), tChar
	neg  bool    // tInt: negative (mag is the magnitude)
	mag  uint64
	s    string
	line int32
}

func (v value) String() string {
	switch v.kind {
	case tInt, tChar:
		if v.neg {
			return fmt.Sprintf("-%d", v.mag)
		}
		return fmt.Sprint(v.mag)
	case tString:
		return fmt.Sprintf("%q", clip(v.s))
	}
	return clip(v.s)
}

func (p *parser) parseValue() (value, error) {
	if err := p.expect("="); err != nil {
		return value{}, err
	}
	t := p.peek()
	v := value{line: t.line}
	switch {
	case t.kind == tPunct && (t.str == "-" || t.str == "+"):
		p.next()
		u := p.next()
		if u.kind != tInt {
			return v, p.errAt(u, "expected an integer after %q, found %s", t.str, u)
		}
		v.kind, v.mag, v.neg = tInt, u.val, t.str == "-" && u.val != 0
	case t.kind == tInt || t.kind == tChar:
		p.next()
		v.kind, v.mag = tInt, t.val
	case t.kind == tString:
		p.next()
		v.kind, v.s = tString, t.str
		if p.peek().kind == tString {
			return v, p.errAt(p.peek(), "string literals cannot be concatenated")
		}
	case t.kind == tIdent:
		s, err := p.path()
		if err != nil {
			return v, err
		}
		v.kind, v.s = tIdent, s
	default:
		return v, p.errAt(t, "expected a value, found %s", t)
	}
	return v, nil
}

func (v value) int64(what string) (int64, error) {
	if v.kind != tInt {
		return 0, errorf(int(v.line), "%s must be an integer, found %s", what, v)
	}
	if v.neg {
		if v.mag > 1<<63 {
			return 0, errorf(int(v.line), "%s %s is out of range", what, v)
		}
		return -int64(v.mag-1) - 1, nil
	}
	if v.mag > 1<<63-1 {
		return 0, errorf(int(v.line), "%s %s is out of range", what, v)
	}
	return int64(v.mag), nil
}

func (v value) uint64(what string) (uint64, error) {
	if v.kind != tInt || v.neg {
		return 0, errorf(int(v.line), "%s must be a non-negative integer, found %s", what, v)
	}
	return v.mag, nil
}

func (v value) bool(what string) (bool, error) {
	switch {
	case v.kind == tInt && !v.neg && v.mag <= 1:
		return v.mag == 1, nil
	case v.kind == tIdent:
		switch v.s {
		case "true", "TRUE", "True":
			return true, nil
		case "false", "FALSE", "False":
			return false, nil
		}
	}
	return false, errorf(int(v.line), "%s must be true or false, found %s", what, v)
}

func (v value) text(what string) (string, error) {
	if v.kind == tString {
		return v.s, nil
	}
	return "", errorf(int(v.line), "%s must be a string literal, found %s", what, v)
}

// clip shortens a long literal for an error message.
func clip(s string) string {
	if len(s) > 48 {
		return s[:48] + "..."
	}
	return s
}

// name accepts a string literal or an identifier (LTTng writes event names
// as strings, the suite also as bare words, even keywords).
func (v value) name(what string) (string, error) {
	if v.kind == tString || v.kind == tIdent {
		return v.s, nil
	}
	return "", errorf(int(v.line), "%s must be a string or a name, found %s", what, v)
}

func parseUUID(v value) ([16]byte, error) {
	var u [16]byte
	s, err := v.text("uuid")
	if err != nil {
		return u, err
	}
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, errorf(int(v.line), "malformed uuid %q", clip(s))
	}
	j := 0
	for i := 0; i < 36; {
		if s[i] == '-' {
			i++
			continue
		}
		hi, lo := digitVal(s[i]), digitVal(s[i+1])
		if hi > 15 || lo > 15 {
			return u, errorf(int(v.line), "malformed uuid %q", clip(s))
		}
		u[j] = byte(hi<<4 | lo)
		j++
		i += 2
	}
	return u, nil
}

func (p *parser) parseTrace(root *scope) error {
	if p.haveTrace {
		return p.errAt(p.peek(), "second trace block")
	}
	p.haveTrace = true
	sc := &scope{parent: root, names: map[string]*meta.Class{}}
	hasMajor, hasMinor, hasOrder := false, false, false
	err := p.block("trace", sc, func(lhs string, lt token, sc *scope) error {
		if p.isPunct(":=") {
			p.next()
			c, err := p.dynamicType(sc)
			if err != nil {
				return err
			}
			if lhs == "packet.header" {
				p.tr.PacketHeader = c
			} else {
				p.warn(lt.line, fmt.Sprintf("Unknown attribute in stream class: attr-name=%q", lhs))
			}
			return nil
		}
		v, err := p.parseValue()
		if err != nil {
			return err
		}
		switch lhs {
		case "major", "minor":
			n, err := v.uint64("trace " + lhs)
			if err != nil {
				return err
			}
			if lhs == "major" {
				hasMajor = true
				if n != 1 {
					return errorf(int(v.line), "trace major version %d, want 1", n)
				}
			} else {
				hasMinor = true
				if n != 8 {
					return errorf(int(v.line), "trace minor version %d, want 8", n)
				}
			}
		case "uuid":
			u, err := parseUUID(v)
			if err != nil {
				return err
			}
			p.tr.UUID, p.tr.HasUUID = u, true
		case "byte_order":
			hasOrder = true
			if v.kind != tIdent {
				return errorf(int(v.line), "trace byte_order must be le, be or network, found %s", v)
			}
			switch v.s {
			case "le":
			case "be", "network":
			default:
				return errorf(int(v.line), "trace byte_order must be le, be or network, found %s", v)
			}
		default:
			p.warn(lt.line, fmt.Sprintf("Unknown attribute in stream class: attr-name=%q", lhs))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !hasMajor || !hasMinor {
		return errorf(0, "trace block without major and minor")
	}
	if !hasOrder || !p.traceOrder {
		return errorf(0, "trace block without byte_order")
	}
	return nil
}

func (p *parser) parseEnv() error {
	return p.block("env", nil, func(lhs string, lt token, _ *scope) error {
		if p.isPunct(":=") {
			return p.errAt(p.peek(), "env entry %q must be a value, not a type", lhs)
		}
		v, err := p.parseValue()
		if err != nil {
			return err
		}
		e := meta.EnvEntry{Key: lhs}
		switch v.kind {
		case tInt:
			n, err := v.int64("env." + lhs)
			if err != nil {
				return err
			}
			e.Int, e.IsInt = n, true
		case tString:
			e.Str = v.s
		default:
			p.warn(lt.line, fmt.Sprintf("Unexpected unary expression for environment entry's value: entry-name=%q", lhs))
			return nil
		}
		for i := range p.tr.Env {
			if p.tr.Env[i].Key == lhs {
				p.tr.Env[i] = e
				return nil
			}
		}
		p.tr.Env = append(p.tr.Env, e)
		return nil
	})
}

func (p *parser) parseClock() error {
	c := &meta.Clock{Freq: 1000000000}
	line := p.peek().line
	err := p.block("clock", nil, func(lhs string, lt token, _ *scope) error {
		if p.isPunct(":=") {
			return p.errAt(p.peek(), "clock attribute %q must be a value, not a type", lhs)
		}
		v, err := p.parseValue()
		if err != nil {
			return err
		}
		switch lhs {
		case "name":
			c.Name, err = v.name("clock name")
		case "uuid":
			c.UUID, err = parseUUID(v)
			c.HasUUID = err == nil
		case "description":
			c.Description, err = v.text("clock description")
		case "freq":
			c.Freq, err = v.uint64("clock freq")
			if err == nil && c.Freq == 0 {
				err = errorf(int(v.line), "clock freq must not be 0")
			}
		case "precision":
			c.Precision, err = v.uint64("clock precision")
		case "offset_s":
			c.OffsetS, err = v.int64("clock offset_s")
		case "offset":
			c.Offset, err = v.int64("clock offset")
		case "absolute":
			c.Absolute, err = v.bool("clock absolute")
		default:
			p.warn(lt.line, fmt.Sprintf("Unknown attribute in clock class: attr-name=%q", lhs))
		}
		return err
	})
	if err != nil {
		return err
	}
	if c.Name == "" {
		return errorf(int(line), "clock without a name")
	}
	if p.tr.Clock(c.Name) != nil {
		return errorf(int(line), "clock %q declared twice", c.Name)
	}
	p.tr.Clocks = append(p.tr.Clocks, c)
	return nil
}

func (p *parser) parseCallsite() error {
	return p.block("callsite", nil, func(lhs string, lt token, _ *scope) error {
		if p.isPunct(":=") {
			return p.errAt(p.peek(), "callsite attribute %q must be a value, not a type", lhs)
		}
		_, err := p.parseValue()
		return err
	})
}

func (p *parser) parseStream(root *scope) error {
	sd := &streamDecl{s: &meta.Stream{}, line: int(p.peek().line)}
	sc := &scope{parent: root, names: map[string]*meta.Class{}}
	err := p.block("stream", sc, func(lhs string, lt token, sc *scope) error {
		if p.isPunct(":=") {
			p.next()
			c, err := p.dynamicType(sc)
			if err != nil {
				return err
			}
			switch lhs {
			case "packet.context":
				sd.s.PacketContext = c
			case "event.header":
				sd.s.EventHeader = c
			case "event.context":
				sd.s.EventContext = c
			default:
				p.warn(lt.line, fmt.Sprintf("Unknown attribute in stream class: attr-name=%q", lhs))
			}
			return nil
		}
		v, err := p.parseValue()
		if err != nil {
			return err
		}
		switch lhs {
		case "id":
			sd.s.ID, err = v.uint64("stream id")
			sd.hasID = true
		default:
			p.warn(lt.line, fmt.Sprintf("Unknown attribute in stream class: attr-name=%q", lhs))
		}
		return err
	})
	if err != nil {
		return err
	}
	p.streams = append(p.streams, sd)
	return nil
}

func (p *parser) parseEvent(root *scope) error {
	ed := &eventDecl{e: &meta.Event{}, line: int(p.peek().line)}
	sc := &scope{parent: root, names: map[string]*meta.Class{}}
	hasName := false
	err := p.block("event", sc, func(lhs string, lt token, sc *scope) error {
		if p.isPunct(":=") {
			p.next()
			c, err := p.dynamicType(sc)
			if err != nil {
				return err
			}
			switch lhs {
			case "context":
				ed.e.Context = c
			case "fields":
				ed.e.Payload = c
			default:
				p.warn(lt.line, fmt.Sprintf("Unknown attribute in event class: attr-name=%q", lhs))
			}
			return nil
		}
		v, err := p.parseValue()
		if err != nil {
			return err
		}
		switch lhs {
		case "name":
			ed.e.Name, err = v.name("event name")
			hasName = true
		case "id":
			ed.e.ID, err = v.uint64("event id")
			ed.hasID = true
		case "stream_id":
			ed.e.StreamID, err = v.uint64("event stream_id")
			ed.hasStreamID = true
		case "loglevel":
			ed.e.LogLevel, err = v.int64("event loglevel")
			ed.e.HasLogLevel = true
		case "model.emf.uri":
			ed.e.EMFURI, err = v.text("event model.emf.uri")
		default:
			p.warn(lt.line, fmt.Sprintf("Unknown attribute in event class: attr-name=%q", lhs))
		}
		return err
	})
	if err != nil {
		return err
	}
	if !hasName {
		return errorf(ed.line, "event without a name")
	}
	p.events = append(p.events, ed)
	return nil
}

// dynamicType parses the type of a `:=` scope declaration (packet.header,
// fields, ...), which must be a struct.
func (p *parser) dynamicType(sc *scope) (*meta.Class, error) {
	t := p.peek()
	p.dynamic++
	c, err := p.typeSpec(sc)
	p.dynamic--
	if err != nil {
		return nil, err
	}
	if c.Kind != meta.KindStruct {
		return nil, p.errAt(t, "a dynamic scope must be a struct, found %s", c.Kind)
	}
	return c, nil
}

// finish attaches events to streams and checks what only the whole
// metadata can tell.
func (p *parser) finish() error {
	tr := p.tr
	if len(p.streams) == 0 && len(p.events) > 0 {
		p.streams = append(p.streams, &streamDecl{s: &meta.Stream{}})
	}
	ids := make(map[uint64]struct{}, len(p.streams))
	byID := make(map[uint64]*meta.Stream, len(p.streams))
	for _, sd := range p.streams {
		if !sd.hasID && len(p.streams) > 1 {
			return errorf(sd.line, "stream without an id while the trace has %d streams", len(p.streams))
		}
		if _, dup := ids[sd.s.ID]; dup {
			return errorf(sd.line, "stream id %d declared twice", sd.s.ID)
		}
		ids[sd.s.ID] = struct{}{}
		byID[sd.s.ID] = sd.s
		tr.Streams = append(tr.Streams, sd.s)
		name := clockOf(sd.s.EventHeader)
		if name == "" {
			name = clockOf(sd.s.PacketContext)
		}
		if name != "" {
			sd.s.Clock = tr.Clock(name)
			if sd.s.Clock == nil {
				return errorf(sd.line, "stream %d maps to clock %q, which is not declared", sd.s.ID, name)
			}
		}
	}
	type idKey struct{ stream, event uint64 }
	seen := make(map[idKey]*meta.Event, len(p.events))
	for _, ed := range p.events {
		var s *meta.Stream
		if ed.hasStreamID {
			s = byID[ed.e.StreamID]
			if s == nil {
				return errorf(ed.line, "event %q: stream_id %d is not declared", ed.e.Name, ed.e.StreamID)
			}
		} else {
			if len(tr.Streams) > 1 {
				return errorf(ed.line, "event %q has no stream_id while the trace has %d streams", ed.e.Name, len(tr.Streams))
			}
			s = tr.Streams[0]
			ed.e.StreamID = s.ID
		}
		k := idKey{s.ID, ed.e.ID}
		if o, ok := seen[k]; ok {
			return errorf(ed.line, "event %q: id %d of stream %d is already used by event %q", ed.e.Name, ed.e.ID, s.ID, o.Name)
		}
		seen[k] = ed.e
		s.Events = append(s.Events, ed.e)
	}
	// babeltrace2 takes the origin of an absolute clock, and of every
	// clock of an LTTng trace, to be the Unix epoch.
	tn, _ := tr.EnvString("tracer_name")
	for _, c := range tr.Clocks {
		c.UnixEpoch = c.Absolute || strings.HasPrefix(tn, "lttng")
	}
	return nil
}

// clockOf returns the clock the first clock-mapped integer of c maps to.
func clockOf(c *meta.Class) string {
	if c == nil {
		return ""
	}
	switch c.Kind {
	case meta.KindInt, meta.KindEnum:
		return c.MapClock
	case meta.KindStruct, meta.KindVariant:
		for _, f := range c.Fields {
			if n := clockOf(f.Class); n != "" {
				return n
			}
		}
	case meta.KindArray, meta.KindSequence:
		return clockOf(c.Elem)
	}
	return ""
}

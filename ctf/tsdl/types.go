package tsdl

import (
	"fmt"
	"strings"

	"github.com/tracetop/tracetop/ctf/meta"
)

// maxIntSize bounds integer sizes: the spec allows more than 64 bits
// (ctf-testsuite integer-large-size), not unbounded.
const maxIntSize = 1 << 16

// maxAlign bounds explicit alignments (bits).
const maxAlign = 1 << 32

func (s *scope) declare(key string, c *meta.Class, t token) error {
	if _, ok := s.names[key]; ok {
		kind, name, _ := strings.Cut(key, " ")
		what := map[string]string{"t": "type", "s": "struct", "v": "variant", "e": "enum"}[kind]
		return errorf(int(t.line), "%s %q is already defined in this scope", what, name)
	}
	s.names[key] = c
	return nil
}

// parseDeclaration parses one declaration of a scope: typealias, typedef,
// or a type specifier alone (`struct name {...};`). When fields is not nil
// (a struct or variant body) the type may be followed by field
// declarators, appended to *fields.
func (p *parser) parseDeclaration(sc *scope, fields *[]meta.Field) error {
	if err := p.enter(); err != nil {
		return err
	}
	defer p.leave()
	t := p.peek()
	if t.kind == tIdent {
		switch t.str {
		case "typealias":
			return p.parseTypealias(sc)
		case "typedef":
			return p.parseTypedef(sc)
		}
	}
	base, err := p.typeSpec(sc)
	if err != nil {
		return err
	}
	// babeltrace's grammar takes a list of type specifiers: a struct
	// declared without its ";" followed by another declaration is accepted
	// (ctf-testsuite struct-inner-struct).
	for (base.Kind == meta.KindStruct || base.Kind == meta.KindVariant || base.Kind == meta.KindEnum) &&
		p.prev.kind == tPunct && p.prev.str == "}" &&
		(p.isIdent("struct") || p.isIdent("variant") || p.isIdent("enum")) {
		if base, err = p.typeSpec(sc); err != nil {
			return err
		}
	}
	if p.accept(";") {
		return nil
	}
	if fields == nil {
		u := p.peek()
		return p.errAt(u, "expected \";\" after the type declaration, found %s", u)
	}
	for {
		name, nt, c, err := p.declarator(sc, base, true)
		if err != nil {
			return err
		}
		if c.Kind == meta.KindVariant && len(c.Selector.Path) == 0 {
			return p.errAt(nt, "variant field %q has no tag", name)
		}
		if p.declaredField(fields, name) {
			return p.errAt(nt, "field %q declared twice", name)
		}
		*fields = append(*fields, meta.Field{Name: name, Class: c})
		if p.accept(",") {
			continue
		}
		return p.expect(";", "field", name)
	}
}

// declaredField reports whether name is already a field of the body being
// parsed; big bodies use a map so hostile metadata stays linear.
func (p *parser) declaredField(fields *[]meta.Field, name string) bool {
	fr := &p.frames[len(p.frames)-1]
	if fr.names != nil {
		_, ok := fr.names[name]
		fr.names[name] = struct{}{}
		return ok
	}
	for _, f := range *fields {
		if f.Name == name {
			return true
		}
	}
	if len(*fields) >= 32 {
		fr.names = make(map[string]struct{}, 64)
		for _, f := range *fields {
			fr.names[f.Name] = struct{}{}
		}
		fr.names[name] = struct{}{}
	}
	return false
}

// parseTypealias: typealias TYPE [dims] := NAME [dims];
func (p *parser) parseTypealias(sc *scope) error {
	p.next()
	base, err := p.typeSpec(sc)
	if err != nil {
		return err
	}
	c, err := p.abstractDims(sc, base)
	if err != nil {
		return err
	}
	if err := p.expect(":=", "typealias type"); err != nil {
		return err
	}
	t := p.peek()
	var words []string
	for p.peek().kind == tIdent {
		w := p.peek()
		if keywords[w.str] && !cTypeWords[w.str] {
			return p.errAt(w, "typealias name cannot be the keyword %q", w.str)
		}
		words = append(words, w.str)
		p.next()
	}
	for p.accept("*") {
	}
	if len(words) == 0 {
		return p.errAt(t, "expected a type name after \":=\", found %s", t)
	}
	c, err = p.abstractDims(sc, c)
	if err != nil {
		return err
	}
	if err := sc.declare("t "+strings.Join(words, " "), c, t); err != nil {
		return err
	}
	return p.expect(";", "typealias")
}

// abstractDims applies `[N]` suffixes of an abstract declarator.
func (p *parser) abstractDims(sc *scope, c *meta.Class) (*meta.Class, error) {
	if !p.isPunct("[") {
		return c, nil
	}
	return p.dims(sc, c)
}

// parseTypedef: typedef TYPE declarator[, declarator];
func (p *parser) parseTypedef(sc *scope) error {
	p.next()
	base, err := p.typeSpec(sc)
	if err != nil {
		return err
	}
	for {
		name, nt, c, err := p.declarator(sc, base, false)
		if err != nil {
			return err
		}
		if err := sc.declare("t "+name, c, nt); err != nil {
			return err
		}
		if p.accept(",") {
			continue
		}
		return p.expect(";", "typedef", name)
	}
}

// declarator reads `NAME [dims]` and applies the dims to base.
func (p *parser) declarator(sc *scope, base *meta.Class, field bool) (string, token, *meta.Class, error) {
	for p.accept("*") {
	}
	t := p.next()
	what := "typedef name"
	if field {
		what = "field name"
	}
	if t.kind != tIdent {
		return "", t, nil, p.errAt(t, "expected a %s, found %s", what, t)
	}
	if keywords[t.str] {
		return "", t, nil, p.errAt(t, "the keyword %q cannot be a %s", t.str, what)
	}
	c, err := p.abstractDims(sc, base)
	if err != nil {
		return "", t, nil, err
	}
	return t.str, t, c, nil
}

// dims parses one or more `[N]` / `[length.path]` and wraps elem: the
// first bracket is the outermost dimension, as in C.
func (p *parser) dims(sc *scope, elem *meta.Class) (*meta.Class, error) {
	type dim struct {
		n   uint64
		ref meta.FieldRef
		seq bool
	}
	var ds []dim
	for p.accept("[") {
		t := p.peek()
		var d dim
		switch {
		case t.kind == tInt:
			p.next()
			d.n = t.val
		case t.kind == tIdent:
			if keywords[t.str] && !(p.peekN(1).kind == tPunct && p.peekN(1).str == "." &&
				(t.str == "trace" || t.str == "stream" || t.str == "event")) {
				return nil, p.errAt(t, "the keyword %q cannot be a sequence length", t.str)
			}
			path, err := p.path()
			if err != nil {
				return nil, err
			}
			if sc.lookup("t "+path) != nil {
				return nil, p.errAt(t, "sequence length %q is a type, not a field", path)
			}
			d.ref, d.seq = parseRef(path), true
			if err := p.checkRef(d.ref, t, false); err != nil {
				return nil, err
			}
		case t.kind == tPunct && t.str == "]":
			return nil, p.errAt(t, "array without a length")
		case t.kind == tPunct && t.str == "-":
			return nil, p.errAt(t, "array length must not be negative")
		default:
			return nil, p.errAt(t, "expected an array length or a sequence length field, found %s", t)
		}
		if err := p.expect("]", "array length"); err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	c := elem
	for i := len(ds) - 1; i >= 0; i-- {
		d := ds[i]
		n := &meta.Class{Elem: c, Align: c.Align, Encoding: c.Encoding}
		if d.seq {
			n.Kind, n.LengthRef = meta.KindSequence, d.ref
		} else {
			n.Kind, n.Length = meta.KindArray, d.n
		}
		c = n
	}
	return c, nil
}

var scopePrefixes = []struct {
	prefix string
	scope  meta.Scope
}{
	{"trace.packet.header.", meta.ScopePacketHeader},
	{"stream.packet.context.", meta.ScopePacketContext},
	{"stream.event.header.", meta.ScopeEventHeader},
	{"stream.event.context.", meta.ScopeEventCommonContext},
	{"event.context.", meta.ScopeEventSpecificContext},
	{"event.fields.", meta.ScopeEventPayload},
}

// parseRef splits a TSDL field path into its dynamic scope and names.
func parseRef(path string) meta.FieldRef {
	for _, sp := range scopePrefixes {
		if strings.HasPrefix(path, sp.prefix) {
			return meta.FieldRef{Scope: sp.scope, Path: strings.Split(path[len(sp.prefix):], ".")}
		}
	}
	return meta.FieldRef{Path: strings.Split(path, ".")}
}

// checkRef checks a relative reference against the fields declared before
// it in the enclosing structs, when it can be found there: a sequence
// length must be an unsigned integer, a variant tag an enumeration.
// Outside a dynamic scope a relative reference must be found that way;
// inside one, it may name a field of an earlier scope, which only the
// compiler can tell.
func (p *parser) checkRef(ref meta.FieldRef, t token, tag bool) error {
	if ref.Scope != meta.ScopeNone {
		return nil
	}
	what := "sequence length"
	if tag {
		what = "variant tag"
	}
	c := p.lookupField(ref.Path)
	if c == nil {
		if p.dynamic == 0 {
			return p.errAt(t, "%s %q does not name a field declared before it", what, ref)
		}
		return nil
	}
	if tag {
		if c.Kind != meta.KindEnum {
			return p.errAt(t, "variant tag %q is a %s, not an enumeration", ref, c.Kind)
		}
	} else if (c.Kind != meta.KindInt && c.Kind != meta.KindEnum) || c.Signed {
		kind := c.Kind.String()
		if c.Signed {
			kind = "signed " + kind
		}
		return p.errAt(t, "sequence length %q is a %s, not an unsigned integer", ref, kind)
	}
	return nil
}

// lookupField finds a relative path among the fields declared so far in
// the enclosing struct bodies, innermost first.
func (p *parser) lookupField(path []string) *meta.Class {
	for i := len(p.frames) - 1; i >= 0; i-- {
		fr := p.frames[i]
		if fr.variant {
			continue
		}
		for _, f := range *fr.fields {
			if f.Name != path[0] {
				continue
			}
			c := f.Class
			for _, name := range path[1:] {
				if c.Kind != meta.KindStruct {
					return nil
				}
				j := c.FieldIndex(name)
				if j < 0 {
					return nil
				}
				c = c.Fields[j].Class
			}
			return c
		}
	}
	return nil
}

// typeSpec parses a type specifier.
func (p *parser) typeSpec(sc *scope) (*meta.Class, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	t := p.peek()
	if t.kind != tIdent {
		return nil, p.errAt(t, "expected a type, found %s", t)
	}
	switch t.str {
	case "integer":
		p.next()
		return p.parseInteger()
	case "floating_point":
		p.next()
		return p.parseFloat()
	case "string":
		p.next()
		return p.parseString()
	case "struct":
		p.next()
		return p.parseStruct(sc, t)
	case "variant":
		p.next()
		return p.parseVariant(sc, t)
	case "enum":
		p.next()
		return p.parseEnum(sc, t)
	}
	var words []string
	for {
		u := p.peek()
		if u.kind != tIdent {
			break
		}
		if cTypeWords[u.str] {
			words = append(words, u.str)
			p.next()
			continue
		}
		if len(words) == 0 && !keywords[u.str] {
			words = append(words, u.str)
			p.next()
		}
		break
	}
	if len(words) == 0 {
		return nil, p.errAt(t, "expected a type, found %s", t)
	}
	name := strings.Join(words, " ")
	c := sc.lookup("t " + name)
	if c == nil {
		return nil, p.errAt(t, "type %q is not defined", name)
	}
	return c, nil
}

// attrs parses `{ name = value; ... }` for integer, floating_point and
// string, calling set for each attribute.
func (p *parser) attrs(what string, set func(name string, nt token, v value) error) error {
	if err := p.expect("{", what); err != nil {
		return err
	}
	for !p.accept("}") {
		nt := p.peek()
		if nt.kind == tEOF {
			return p.errAt(nt, "expected \"}\" to close %s, found end of metadata", what)
		}
		name, err := p.path()
		if err != nil {
			return err
		}
		if p.isPunct(":=") {
			return p.errAt(p.peek(), "%s attribute %q must be a value, not a type", what, name)
		}
		v, err := p.parseValue()
		if err != nil {
			return err
		}
		if err := set(name, nt, v); err != nil {
			return err
		}
		if err := p.expect(";", what, "attribute", name); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) byteOrder(v value, what string) (meta.ByteOrder, error) {
	if v.kind == tIdent {
		switch v.s {
		case "native":
			return p.order, nil
		case "le":
			return meta.LittleEndian, nil
		case "be", "network":
			return meta.BigEndian, nil
		}
	}
	return 0, errorf(int(v.line), "%s byte_order must be native, le, be or network, found %s", what, v)
}

func alignValue(v value, what string) (int, error) {
	n, err := v.uint64(what + " align")
	if err != nil {
		return 0, err
	}
	if n == 0 || n&(n-1) != 0 || n > maxAlign {
		return 0, errorf(int(v.line), "%s align %d is not a power of two", what, n)
	}
	return int(n), nil
}

// noIntMemo turns parseInteger's memo off (tests compare both ways).
var noIntMemo bool

// intKey identifies an integer class by its source text and the byte
// order "native" stands for.
type intKey struct {
	text  string
	order meta.ByteOrder
}

// parseInteger parses the attribute block of an integer class. A kernel
// trace's metadata declares the same few integers inline thousands of
// times (every field of every syscall): the class of a block of text
// already parsed without warning is copied instead of parsed again.
func (p *parser) parseInteger() (*meta.Class, error) {
	text, end, lines, ok := p.integerText()
	ok = ok && !noIntMemo
	k := intKey{text, p.order}
	if ok {
		if c := p.ints[k]; c != nil {
			p.lx.i, p.lx.line = end, p.lx.line+lines
			p.prev = token{kind: tPunct, line: p.lx.line, str: "}"}
			cp := *c
			return &cp, nil
		}
	}
	warnings := len(p.tr.Warnings)
	c, err := p.parseIntegerAttrs()
	if err == nil && ok && len(p.tr.Warnings) == warnings && p.head == len(p.ahead) && p.lx.i == end {
		if p.ints == nil {
			p.ints = make(map[intKey]*meta.Class)
		}
		cp := *c
		p.ints[k] = &cp
	}
	return c, err
}

// integerText returns the text of the attribute block that follows,
// "{" to "}", when the parser has no token ahead and the block is plain
// (no nested brace, comment or quote), with the offset after it and the
// newlines up to there.
func (p *parser) integerText() (text string, end int, lines int32, ok bool) {
	if p.head != len(p.ahead) || p.lx.err != nil {
		return "", 0, 0, false
	}
	src, i := p.lx.src, p.lx.i
	for ; i < len(src); i++ {
		c := src[i]
		if c == '\n' {
			lines++
		} else if c != ' ' && c != '\t' && c != '\r' {
			break
		}
	}
	if i >= len(src) || src[i] != '{' {
		return "", 0, 0, false
	}
	j := strings.IndexByte(src[i:], '}')
	if j < 0 {
		return "", 0, 0, false
	}
	text = src[i : i+j+1]
	if strings.ContainsAny(text[1:], "{/\"'") {
		return "", 0, 0, false
	}
	lines += int32(strings.Count(text, "\n"))
	return text, i + j + 1, lines, true
}

func (p *parser) parseIntegerAttrs() (*meta.Class, error) {
	start := p.peek()
	c := &meta.Class{Kind: meta.KindInt, Order: p.order, Base: 10}
	hasSize, hasAlign := false, false
	err := p.attrs("integer", func(name string, nt token, v value) error {
		var err error
		switch name {
		case "size":
			var n uint64
			n, err = v.uint64("integer size")
			if err == nil && (n == 0 || n > maxIntSize) {
				err = errorf(int(v.line), "integer size %d is out of range", n)
			}
			c.Size, hasSize = int(n), true
		case "align":
			c.Align, err = alignValue(v, "integer")
			hasAlign = true
		case "signed":
			c.Signed, err = v.bool("integer signed")
		case "byte_order":
			c.Order, err = p.byteOrder(v, "integer")
		case "base":
			c.Base, err = baseValue(v)
		case "encoding":
			c.Encoding, err = encodingValue(v)
		case "map":
			s, ok := strings.CutPrefix(v.s, "clock.")
			s, ok2 := strings.CutSuffix(s, ".value")
			if v.kind != tIdent || !ok || !ok2 || s == "" || strings.Contains(s, ".") {
				return errorf(int(v.line), "integer map must be clock.NAME.value, found %s", v)
			}
			c.MapClock = s
		default:
			p.warn(nt.line, fmt.Sprintf("Unknown attribute in integer field class: attr-name=%q", name))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if !hasSize {
		return nil, p.errAt(start, "integer without a size")
	}
	if !hasAlign {
		c.Align = 1
		if c.Size%8 == 0 {
			c.Align = 8
		}
	}
	return c, nil
}

func baseValue(v value) (int, error) {
	switch v.kind {
	case tInt:
		if !v.neg {
			switch v.mag {
			case 2, 8, 10, 16:
				return int(v.mag), nil
			}
		}
	case tIdent:
		switch v.s {
		case "decimal", "dec", "d", "i", "u":
			return 10, nil
		case "hexadecimal", "hex", "x", "X", "p":
			return 16, nil
		case "octal", "oct", "o":
			return 8, nil
		case "binary", "bin", "b":
			return 2, nil
		}
	}
	return 0, errorf(int(v.line), "integer base must be 2, 8, 10, 16 or a base name, found %s", v)
}

func encodingValue(v value) (meta.Encoding, error) {
	if v.kind == tIdent {
		switch strings.ToLower(v.s) {
		case "none":
			return meta.EncodingNone, nil
		case "utf8", "utf-8":
			return meta.EncodingUTF8, nil
		case "ascii":
			return meta.EncodingASCII, nil
		}
	}
	return 0, errorf(int(v.line), "encoding must be none, UTF8 or ASCII, found %s", v)
}

func (p *parser) parseFloat() (*meta.Class, error) {
	start := p.peek()
	c := &meta.Class{Kind: meta.KindFloat, Order: p.order}
	hasAlign := false
	err := p.attrs("floating_point", func(name string, nt token, v value) error {
		var err error
		var n uint64
		switch name {
		case "exp_dig":
			n, err = v.uint64("floating_point exp_dig")
			if err == nil && (n == 0 || n > 64) {
				err = errorf(int(v.line), "floating_point exp_dig %d is out of range", n)
			}
			c.ExpDig = int(n)
		case "mant_dig":
			n, err = v.uint64("floating_point mant_dig")
			if err == nil && (n == 0 || n > 128) {
				err = errorf(int(v.line), "floating_point mant_dig %d is out of range", n)
			}
			c.MantDig = int(n)
		case "align":
			c.Align, err = alignValue(v, "floating_point")
			hasAlign = true
		case "byte_order":
			c.Order, err = p.byteOrder(v, "floating_point")
		default:
			p.warn(nt.line, fmt.Sprintf("Unknown attribute in floating point number field class: attr-name=%q", name))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if c.ExpDig == 0 || c.MantDig == 0 {
		return nil, p.errAt(start, "floating_point needs exp_dig and mant_dig")
	}
	c.Size = c.ExpDig + c.MantDig
	if !hasAlign {
		c.Align = 1
		if c.Size%8 == 0 {
			c.Align = 8
		}
	}
	return c, nil
}

func (p *parser) parseString() (*meta.Class, error) {
	c := &meta.Class{Kind: meta.KindString, Align: 8, Encoding: meta.EncodingUTF8}
	if !p.isPunct("{") {
		return c, nil
	}
	err := p.attrs("string", func(name string, nt token, v value) error {
		var err error
		switch name {
		case "encoding":
			c.Encoding, err = encodingValue(v)
			if err == nil && c.Encoding == meta.EncodingNone {
				c.Encoding = meta.EncodingUTF8
			}
		default:
			p.warn(nt.line, fmt.Sprintf("Unknown attribute in string field class: attr-name=%q", name))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// optName reads the optional name after struct/variant/enum.
func (p *parser) optName(what string) (string, token, error) {
	t := p.peek()
	if t.kind != tIdent {
		return "", t, nil
	}
	if keywords[t.str] {
		return "", t, p.errAt(t, "the keyword %q cannot name a %s", t.str, what)
	}
	p.next()
	return t.str, t, nil
}

// body parses `{ declarations }` into fields, in a new lexical scope.
func (p *parser) body(sc *scope, variant bool, what string) ([]meta.Field, error) {
	p.next() // {
	inner := &scope{parent: sc, names: map[string]*meta.Class{}}
	fields := []meta.Field{}
	p.frames = append(p.frames, frame{fields: &fields, variant: variant})
	defer func() { p.frames = p.frames[:len(p.frames)-1] }()
	for !p.accept("}") {
		if p.peek().kind == tEOF {
			return nil, p.errAt(p.peek(), "expected \"}\" to close %s, found end of metadata", what)
		}
		if err := p.parseDeclaration(inner, &fields); err != nil {
			return nil, err
		}
	}
	return fields, nil
}

func (p *parser) parseStruct(sc *scope, kw token) (*meta.Class, error) {
	name, nt, err := p.optName("struct")
	if err != nil {
		return nil, err
	}
	var c *meta.Class
	if p.isPunct("{") {
		what := "struct"
		if name != "" {
			what = fmt.Sprintf("struct %q", name)
		}
		fields, err := p.body(sc, false, what)
		if err != nil {
			return nil, err
		}
		c = &meta.Class{Kind: meta.KindStruct, Fields: fields, Align: 1}
		for _, f := range fields {
			if f.Class.Kind != meta.KindVariant && f.Class.Align > c.Align {
				c.Align = f.Class.Align
			}
		}
		if err := p.structAlign(c); err != nil {
			return nil, err
		}
		if name != "" {
			if err := sc.declare("s "+name, c, nt); err != nil {
				return nil, err
			}
		}
		return c, nil
	}
	if name == "" {
		return nil, p.errAt(p.peek(), "expected a struct name or \"{\" after struct, found %s", p.peek())
	}
	c = sc.lookup("s " + name)
	if c == nil {
		return nil, p.errAt(nt, "struct %q is not defined", name)
	}
	if p.isIdent("align") {
		cp := *c
		if err := p.structAlign(&cp); err != nil {
			return nil, err
		}
		c = &cp
	}
	return c, nil
}

// structAlign parses an optional `align(N)` after a struct.
func (p *parser) structAlign(c *meta.Class) error {
	if !p.isIdent("align") {
		return nil
	}
	p.next()
	if err := p.expect("(", "align"); err != nil {
		return err
	}
	t := p.peek()
	if t.kind != tInt {
		return p.errAt(t, "struct align must be an integer, found %s", t)
	}
	p.next()
	if t.val == 0 || t.val&(t.val-1) != 0 || t.val > maxAlign {
		return p.errAt(t, "struct align %s is not a power of two", t.str)
	}
	if int(t.val) > c.Align {
		c.Align = int(t.val)
	}
	return p.expect(")", "align value")
}

func (p *parser) parseVariant(sc *scope, kw token) (*meta.Class, error) {
	name, nt, err := p.optName("variant")
	if err != nil {
		return nil, err
	}
	var tag meta.FieldRef
	var tagTok token
	hasTag := false
	if p.accept("<") {
		tagTok = p.peek()
		if tagTok.kind != tIdent {
			return nil, p.errAt(tagTok, "expected a variant tag field, found %s", tagTok)
		}
		if keywords[tagTok.str] && !(p.peekN(1).kind == tPunct && p.peekN(1).str == "." &&
			(tagTok.str == "trace" || tagTok.str == "stream" || tagTok.str == "event")) {
			return nil, p.errAt(tagTok, "the keyword %q cannot be a variant tag", tagTok.str)
		}
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		if err := p.expect(">", "variant tag"); err != nil {
			return nil, err
		}
		tag, hasTag = parseRef(path), true
	}
	var c *meta.Class
	if p.isPunct("{") {
		what := "variant"
		if name != "" {
			what = fmt.Sprintf("variant %q", name)
		}
		fields, err := p.body(sc, true, what)
		if err != nil {
			return nil, err
		}
		c = &meta.Class{Kind: meta.KindVariant, Fields: fields, Align: 1}
		if name != "" {
			// The declared variant keeps no tag: each use gives its own.
			if err := sc.declare("v "+name, c, nt); err != nil {
				return nil, err
			}
		}
	} else {
		if name == "" {
			return nil, p.errAt(p.peek(), "expected a variant name or \"{\" after variant, found %s", p.peek())
		}
		c = sc.lookup("v " + name)
		if c == nil {
			return nil, p.errAt(nt, "variant %q is not defined", name)
		}
	}
	if hasTag {
		if err := p.checkRef(tag, tagTok, true); err != nil {
			return nil, err
		}
		if err := p.checkOptions(c, tag, tagTok); err != nil {
			return nil, err
		}
		cp := *c
		cp.Selector = tag
		c = &cp
	}
	return c, nil
}

// checkOptions checks, when the tag enumeration is known here, that some
// option of the variant is named after one of its labels (ctf-testsuite
// variant-string-fields): options without a label, and labels without an
// option, are legal.
func (p *parser) checkOptions(c *meta.Class, tag meta.FieldRef, t token) error {
	if tag.Scope != meta.ScopeNone || len(c.Fields) == 0 {
		return nil
	}
	e := p.lookupField(tag.Path)
	if e == nil || e.Kind != meta.KindEnum {
		return nil
	}
	for _, f := range c.Fields {
		for _, m := range e.Mappings {
			if f.Name == m.Label || strings.TrimPrefix(f.Name, "_") == strings.TrimPrefix(m.Label, "_") {
				return nil
			}
		}
	}
	return p.errAt(t, "no option of the variant is named after a label of its tag %q", tag)
}

func (p *parser) parseEnum(sc *scope, kw token) (*meta.Class, error) {
	name, nt, err := p.optName("enum")
	if err != nil {
		return nil, err
	}
	var cont *meta.Class
	if p.accept(":") {
		ct := p.peek()
		cont, err = p.typeSpec(sc)
		if err != nil {
			return nil, err
		}
		if cont.Kind != meta.KindInt {
			return nil, p.errAt(ct, "enum container must be an integer, found %s", cont.Kind)
		}
	}
	if !p.isPunct("{") {
		if name == "" {
			return nil, p.errAt(p.peek(), "expected an enum name or \"{\" after enum, found %s", p.peek())
		}
		c := sc.lookup("e " + name)
		if c == nil {
			return nil, p.errAt(nt, "enum %q is not defined", name)
		}
		return c, nil
	}
	if cont == nil {
		cont = sc.lookup("t int")
		if cont == nil {
			return nil, p.errAt(kw, "enum without a container type, and type \"int\" is not defined")
		}
		if cont.Kind != meta.KindInt {
			return nil, p.errAt(kw, "enum without a container type, and type \"int\" is a %s, not an integer", cont.Kind)
		}
	}
	c := *cont
	c.Kind = meta.KindEnum
	if err := p.enumBody(&c); err != nil {
		return nil, err
	}
	if name != "" {
		if err := sc.declare("e "+name, &c, nt); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// enumValue reads a signed integer literal of an enumeration.
func (p *parser) enumValue() (neg bool, mag uint64, err error) {
	t := p.peek()
	if t.kind == tPunct && (t.str == "-" || t.str == "+") {
		p.next()
		u := p.next()
		if u.kind != tInt && u.kind != tChar {
			return false, 0, p.errAt(u, "expected an integer after %q, found %s", t.str, u)
		}
		return t.str == "-" && u.val != 0, u.val, nil
	}
	if t.kind == tInt || t.kind == tChar {
		p.next()
		return false, t.val, nil
	}
	return false, 0, p.errAt(t, "enum value must be an integer literal, found %s", t)
}

// fit converts a literal to the container's representation, checking its
// range.
func fit(c *meta.Class, neg bool, mag uint64, t token, label string) (uint64, error) {
	n := c.Size
	if c.Signed {
		if n >= 64 {
			if (neg && mag > 1<<63) || (!neg && mag > 1<<63-1) {
				return 0, errorf(int(t.line), "enum value of %q does not fit in a signed 64-bit integer", label)
			}
		} else {
			lim := uint64(1) << (n - 1)
			if (neg && mag > lim) || (!neg && mag >= lim) {
				return 0, errorf(int(t.line), "enum value of %q does not fit in a signed %d-bit integer", label, n)
			}
		}
		if neg {
			return -mag, nil
		}
		return mag, nil
	}
	if neg {
		return 0, errorf(int(t.line), "enum value of %q is negative but the container is unsigned", label)
	}
	if n < 64 && mag >= uint64(1)<<n {
		return 0, errorf(int(t.line), "enum value %d of %q does not fit in an unsigned %d-bit integer", mag, label, n)
	}
	return mag, nil
}

func (p *parser) enumBody(c *meta.Class) error {
	p.next()        // {
	var next uint64 // the value of a label without one: previous + 1
	nextOK := true
	for !p.accept("}") {
		t := p.next()
		var label string
		switch t.kind {
		case tIdent, tString:
			label = t.str
		default:
			return p.errAt(t, "expected an enum label, found %s", t)
		}
		var r meta.Range
		if p.accept("=") {
			vt := p.peek()
			neg, mag, err := p.enumValue()
			if err != nil {
				return err
			}
			if r.Lo, err = fit(c, neg, mag, vt, label); err != nil {
				return err
			}
			r.Hi = r.Lo
			if p.accept("...") {
				vt = p.peek()
				neg, mag, err := p.enumValue()
				if err != nil {
					return err
				}
				if r.Hi, err = fit(c, neg, mag, vt, label); err != nil {
					return err
				}
			}
			if (c.Signed && int64(r.Hi) < int64(r.Lo)) || (!c.Signed && r.Hi < r.Lo) {
				r.Lo, r.Hi = r.Hi, r.Lo
			}
		} else {
			if !nextOK {
				return p.errAt(t, "enum label %q has no value and the previous value is the largest possible", label)
			}
			v := next
			var err error
			if c.Signed {
				_, err = fit(c, int64(v) < 0, uint64(absInt(int64(v))), t, label)
			} else {
				_, err = fit(c, false, v, t, label)
			}
			if err != nil {
				return err
			}
			r = meta.Range{Lo: v, Hi: v}
		}
		next = r.Hi + 1
		nextOK = !(c.Signed && int64(r.Hi) == 1<<63-1) && !(!c.Signed && r.Hi == ^uint64(0))
		added := false
		for i := range c.Mappings {
			if c.Mappings[i].Label == label {
				c.Mappings[i].Ranges = append(c.Mappings[i].Ranges, r)
				added = true
				break
			}
		}
		if !added {
			c.Mappings = append(c.Mappings, meta.Mapping{Label: label, Ranges: []meta.Range{r}})
		}
		if !p.accept(",") {
			if err := p.expect("}", "enum label", label); err != nil {
				return err
			}
			break
		}
	}
	if len(c.Mappings) == 0 {
		return p.errAt(p.peek(), "enum without labels")
	}
	return nil
}

func absInt(v int64) uint64 {
	if v < 0 {
		return -uint64(v)
	}
	return uint64(v)
}

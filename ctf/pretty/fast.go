package pretty

import (
	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/meta"
)

// A flat program prints the scopes of an event class whose printed
// members are all scalars (integers, enumerations, floats, strings) or
// empty structures, which is what most LTTng events are: the text between
// two values never changes, so it is kept as one literal and the printer
// only formats the values.
type flatOp struct {
	lit   string // text before the value
	scope int8   // index in scopeOrder
	idx   int32  // member index in the scope's root structure
	how   uint8  // fmtUnsigned, fmtSigned, fmtString or fmtOther
	n     *node
}

const (
	fmtOther uint8 = iota
	fmtUnsigned
	fmtSigned
	fmtString
)

func howOf(n *node) uint8 {
	switch {
	case (n.kind == meta.KindInt || n.kind == meta.KindVarInt) && n.base == 10:
		if n.signed {
			return fmtSigned
		}
		return fmtUnsigned
	case n.kind == meta.KindString:
		return fmtString
	}
	return fmtOther
}

type flatProg struct {
	ops    []flatOp
	tail   string // text after the last value, up to the newline
	scopes [4]bool
	counts [4]int32 // members each root structure must have
	groups []flatGroup
}

// flatGroup is the ops of one scope. The text of a scope often repeats
// from event to event (the stream context of a thread, the packet
// context): it is remembered with the values it was made from and
// copied when they come again. A scope whose values keep changing stops
// being remembered.
type flatGroup struct {
	from, to int // ops[from:to]
	scope    int8
	idx      []int32 // member index of each op
	isText   []bool  // the op's value is text (else its Bits say it all)
	memo     bool
	valid    bool
	keys     []uint64
	text     []byte // text values of the key, one after the other
	out      []byte
	hits     int
	misses   int
}

func scalar(k meta.Kind) bool {
	switch k {
	case meta.KindInt, meta.KindEnum, meta.KindVarInt, meta.KindFloat, meta.KindString,
		meta.KindStaticText, meta.KindDynamicText:
		return true
	}
	return false
}

// flatten returns the flat program of pl's scopes, or nil when a printed
// member is compound.
func (p *Printer) flatten(pl *classPlan) *flatProg {
	o := &p.opts
	fp := &flatProg{}
	lit := []byte{}
	startLine := true
	for i, n := range pl.scopes {
		if n == nil || n.hidden {
			continue
		}
		if n.kind != meta.KindStruct {
			return nil
		}
		fp.scopes[i] = true
		fp.counts[i] = int32(len(n.kids))
		if !startLine {
			lit = append(lit, ", "...)
		}
		startLine = false
		if o.NamesScope {
			lit = append(lit, scopeNames[i]...)
		}
		names := o.NamesContext
		if i == 3 {
			names = o.NamesPayload
		}
		lit = append(lit, '{')
		first := true
		for j, k := range n.kids {
			if k.hidden {
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
			lit = append(lit, sep...)
			switch {
			case scalar(k.kind) || k.text:
				fp.ops = append(fp.ops, flatOp{lit: string(lit), scope: int8(i), idx: int32(j), how: howOf(k), n: k})
				lit = lit[:0]
			case k.kind == meta.KindStruct && len(k.kids) == 0:
				lit = append(lit, "{ }"...)
			default:
				return nil
			}
		}
		lit = append(lit, " }"...)
	}
	fp.tail = string(lit)
	for i := 0; i < len(fp.ops); {
		j := i
		memo := true
		for j < len(fp.ops) && fp.ops[j].scope == fp.ops[i].scope {
			// Empty strings print what babeltrace2's recycled objects
			// hold (node.str): such text is not a function of the values.
			if fp.ops[j].n.kind == meta.KindString {
				memo = false
			}
			j++
		}
		g := flatGroup{from: i, to: j, memo: memo, scope: fp.ops[i].scope}
		for _, op := range fp.ops[i:j] {
			g.idx = append(g.idx, op.idx)
			k := op.n.kind
			g.isText = append(g.isText, k != meta.KindEnum && k != meta.KindInt && k != meta.KindVarInt && k != meta.KindFloat)
		}
		fp.groups = append(fp.groups, g)
		i = j
	}
	return fp
}

// same says whether the values of g's ops in ev are those g's text was
// made from.
func (g *flatGroup) same(ev *ctf.Event, starts *[4]int32) bool {
	vals := ev.Values[starts[g.scope]:]
	t := g.text
	keys := g.keys[:len(g.idx)]
	isText := g.isText[:len(g.idx)]
	for i, k := range g.idx {
		v := &vals[k]
		if !isText[i] {
			if keys[i] != v.Bits {
				return false
			}
			continue
		}
		s := text(ev, v)
		if keys[i] != uint64(len(s)) || len(t) < len(s) || string(t[:len(s)]) != string(s) {
			return false
		}
		t = t[len(s):]
	}
	return true
}

// remember keeps the values of g's ops in ev and the text they gave.
func (g *flatGroup) remember(ev *ctf.Event, starts *[4]int32, out []byte) {
	g.keys = g.keys[:0]
	g.text = g.text[:0]
	for i, k := range g.idx {
		v := &ev.Values[starts[g.scope]+k]
		if g.isText[i] {
			s := text(ev, v)
			g.keys = append(g.keys, uint64(len(s)))
			g.text = append(g.text, s...)
			continue
		}
		g.keys = append(g.keys, v.Bits)
	}
	g.out = append(g.out[:0], out...)
	g.valid = true
}

// flat prints ev with fp, or reports false (printing nothing) when ev
// does not have the shape fp expects.
func (p *Printer) flat(b []byte, fp *flatProg, ev *ctf.Event) ([]byte, bool) {
	var starts [4]int32
	for i, ok := range fp.scopes {
		if !ok {
			continue
		}
		r := ev.Root[scopeOrder[i]]
		if r < 0 || int(r) >= len(ev.Values) {
			return b, false
		}
		root := &ev.Values[r]
		if root.N < fp.counts[i] || int(root.Start)+int(root.N) > len(ev.Values) {
			return b, false
		}
		starts[i] = root.Start
	}
	for gi := range fp.groups {
		g := &fp.groups[gi]
		if g.memo {
			if g.valid && g.same(ev, &starts) {
				g.hits++
				b = append(b, g.out...)
				continue
			}
			start := len(b)
			b = p.flatOps(b, fp, g.from, g.to, ev, &starts)
			g.remember(ev, &starts, b[start:])
			if g.misses++; g.misses > 64 && g.misses > 2*g.hits {
				g.memo = false
			}
			continue
		}
		b = p.flatOps(b, fp, g.from, g.to, ev, &starts)
	}
	return append(b, fp.tail...), true
}

// flatOps formats ops[from:to] of fp.
func (p *Printer) flatOps(b []byte, fp *flatProg, from, to int, ev *ctf.Event, starts *[4]int32) []byte {
	for i := from; i < to; i++ {
		op := &fp.ops[i]
		b = append(b, op.lit...)
		v := &ev.Values[starts[op.scope]+op.idx]
		switch op.how {
		case fmtUnsigned:
			b = appendUint(b, v.Bits)
			continue
		case fmtSigned:
			b = appendSigned(b, int64(v.Bits))
			continue
		case fmtString:
			b = appendQuoted(b, op.n.str(text(ev, v), p.recycled))
			continue
		}
		n := op.n
		switch n.kind {
		case meta.KindInt, meta.KindVarInt:
			b = appendInt(b, v.Bits, n.signed, n.base, n.size)
		case meta.KindEnum:
			b = p.enum(b, n, v.Bits)
		case meta.KindFloat:
			b = appendFloat(b, v.Float())
		case meta.KindString:
			b = appendQuoted(b, n.str(text(ev, v), p.recycled))
		default:
			b = appendQuoted(b, text(ev, v))
		}
	}
	return b
}

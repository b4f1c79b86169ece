package pretty

import (
	"strconv"

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
	return fp
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
	for i := range fp.ops {
		op := &fp.ops[i]
		b = append(b, op.lit...)
		v := &ev.Values[starts[op.scope]+op.idx]
		switch op.how {
		case fmtUnsigned:
			b = strconv.AppendUint(b, v.Bits, 10)
			continue
		case fmtSigned:
			b = strconv.AppendInt(b, int64(v.Bits), 10)
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
	return append(b, fp.tail...), true
}

package ctf

import (
	"encoding/binary"

	"github.com/tracetop/tracetop/ctf/meta"
)

// noFastPaths turns the compiled fast paths off (tests compare both
// ways).
var noFastPaths bool

// headerPlan is the fast path of LTTng's event headers, recognised from
// the shape of the compiled plan (not from names alone):
//
//	struct {                                   // align 8
//		enum : uintN_t { compact = 0 ... E-1, extended = E } id;
//		variant <id> {
//			struct { uintM_t timestamp; } compact;
//			struct { uint32_t id; uint64_t timestamp; } extended;
//		} v;
//	}
//
// compact: N = 5 (align 1), M = 27 (align 1), E = 31;
// large:   N = 16 (align 8), M = 32 (align 8), E = 65535.
//
// Only the compact option is decoded here; an escape (the extended
// option) goes through the generic plan, as does a header that would
// cross the end of the packet content (for its exact error).
type headerPlan struct {
	large   bool
	order   meta.ByteOrder
	escape  uint64
	tsSize  uint32
	compact int32 // variant option of the compact form
	// Classes of the five values the generic plan writes.
	hdr, id, v, cs, ts *meta.Class
	// The extended form (the escape: a 32-bit id and a 64-bit
	// timestamp, byte-aligned after the escape id): ext says it is
	// recognised, extended is its variant option, es, eid and ets the
	// classes of its struct and members. A kernel trace with more than 30
	// event classes (every syscall) takes it for most events.
	ext          bool
	extended     int32
	es, eid, ets *meta.Class
}

// compileHeader recognises an LTTng compact or large event header in a
// compiled plan; nil when the plan has another shape.
func compileHeader(o *op) *headerPlan {
	if o == nil || o.kind != opStruct || o.align != 8 || len(o.fields) != 2 {
		return nil
	}
	id, v := o.fields[0], o.fields[1]
	if id.kind != opInt || id.signed || id.role != meta.RoleEventClassID {
		return nil
	}
	h := &headerPlan{order: id.order}
	switch {
	case id.size == 5 && id.align == 1:
		h.escape, h.tsSize = 31, 27
	case id.size == 16 && id.align == 8:
		h.large, h.escape, h.tsSize = true, 65535, 32
	default:
		return nil
	}
	if h.order != meta.LittleEndian && h.order != meta.BigEndian {
		return nil
	}
	// The variant's selector must be this id (first member of the
	// header, the scope being compiled).
	if v.kind != opVariant || v.ref == nil || len(v.ref.path) != 1 || v.ref.path[0] != 0 || v.signed || len(v.fields) != 2 {
		return nil
	}
	if !(v.ref.depth == 0 || v.ref.depth < 0 && v.ref.scope == meta.ScopeEventHeader) {
		return nil
	}
	copt := v.pick(0)
	if copt < 0 || v.pick(h.escape-1) != copt || v.pick(h.escape) < 0 || v.pick(h.escape) == copt {
		return nil
	}
	// Every value below the escape must select the compact option: the
	// ranges of that option must cover 0 .. escape-1 with no other
	// option's range in between (checked on the table).
	covered := uint64(0)
	for covered < h.escape {
		next := covered
		for _, r := range v.sel {
			if r.opt == copt && r.lo <= covered && r.hi >= covered && r.hi+1 > next {
				next = r.hi + 1
			}
		}
		if next == covered {
			return nil
		}
		covered = next
	}
	for _, r := range v.sel {
		if r.opt != copt && r.lo < h.escape {
			return nil
		}
	}
	cs := v.fields[copt]
	if cs.kind != opStruct || len(cs.fields) != 1 {
		return nil
	}
	ts := cs.fields[0]
	if ts.kind != opInt || ts.signed || ts.role != meta.RoleTimestamp || ts.size != h.tsSize || ts.order != h.order {
		return nil
	}
	if h.large {
		if cs.align > 8 || ts.align > 8 || 8%ts.align != 0 {
			return nil
		}
	} else if cs.align != 1 || ts.align != 1 {
		return nil
	}
	h.compact = copt
	h.hdr, h.id, h.v, h.cs, h.ts = o.class, id.class, v.class, cs.class, ts.class
	h.compileExtended(v)
	return h
}

// compileExtended recognises the extended option of the header's variant
// v: struct { uint32_t id; uint64_t timestamp; } with both members
// byte-aligned in the header's byte order, the id with the event class id
// role and the timestamp with the timestamp role.
func (h *headerPlan) compileExtended(v *op) {
	eopt := v.pick(h.escape)
	es := v.fields[eopt]
	if es.kind != opStruct || len(es.fields) != 2 || es.align > 8 || 8%es.align != 0 {
		return
	}
	eid, ets := es.fields[0], es.fields[1]
	if eid.kind != opInt || eid.signed || eid.role != meta.RoleEventClassID || eid.size != 32 || eid.order != h.order ||
		eid.align > 8 || 8%eid.align != 0 {
		return
	}
	if ets.kind != opInt || ets.signed || ets.role != meta.RoleTimestamp || ets.size != 64 || ets.order != h.order ||
		ets.align > 8 || 8%ets.align != 0 {
		return
	}
	if !h.large && max(es.align, eid.align) != 8 {
		return // the id would not start at the next byte after the 5-bit escape
	}
	h.ext, h.extended = true, eopt
	h.es, h.eid, h.ets = es.class, eid.class, ets.class
}

// header decodes an event header with h, writing the values the generic
// plan writes. It reports false, having changed nothing, when the header
// takes the escape or does not fit: the caller then runs the generic plan.
func (d *decoder) header(h *headerPlan) bool {
	off := alignUp(d.off, 8)
	if off+32 > d.end || off+32 < off {
		return false
	}
	b := d.buf[off>>3:]
	var id, ts uint64
	var bits uint64 = 32
	switch {
	case h.large && h.order == meta.LittleEndian:
		id = uint64(binary.LittleEndian.Uint16(b))
		if id == h.escape {
			return h.ext && d.headerExtended(h, off)
		}
		if off+48 > d.end {
			return false
		}
		ts = uint64(binary.LittleEndian.Uint32(b[2:]))
		bits = 48
	case h.large:
		id = uint64(binary.BigEndian.Uint16(b))
		if id == h.escape {
			return h.ext && d.headerExtended(h, off)
		}
		if off+48 > d.end {
			return false
		}
		ts = uint64(binary.BigEndian.Uint32(b[2:]))
		bits = 48
	case h.order == meta.LittleEndian:
		w := binary.LittleEndian.Uint32(b)
		id, ts = uint64(w&31), uint64(w>>5)
	default:
		w := binary.BigEndian.Uint32(b)
		id, ts = uint64(w>>27), uint64(w&(1<<27-1))
	}
	if id == h.escape {
		return h.ext && d.headerExtended(h, off)
	}
	l := len(d.vals)
	if l+5 > cap(d.vals) || l+5 > maxValues {
		return false
	}
	d.vals = d.vals[:l+5]
	s := int32(l)
	vs := d.vals[l : l+5 : l+5]
	vs[0] = Value{Class: h.hdr, Start: s + 1, N: 2}
	vs[1] = Value{Class: h.id, Bits: id}
	vs[2] = Value{Class: h.v, Start: s + 3, N: 1, Opt: h.compact}
	vs[3] = Value{Class: h.cs, Start: s + 4, N: 1}
	vs[4] = Value{Class: h.ts, Bits: ts}
	d.root[meta.ScopeEventHeader] = s
	d.off = off + bits
	d.got |= meta.RoleEventClassID | meta.RoleTimestamp
	d.id = id
	d.ts = wrapClock(d.last, ts, h.tsSize)
	d.last = d.ts
	return true
}

// headerExtended decodes the extended form of the header at off (byte
// aligned, its escape id already read), writing the six values the
// generic plan writes; false, having changed nothing, when it does not
// fit.
func (d *decoder) headerExtended(h *headerPlan, off uint64) bool {
	n := uint64(1) // bytes of the escape id
	if h.large {
		n = 2
	}
	if off+(n+12)*8 > d.end || off+(n+12)*8 < off {
		return false
	}
	l := len(d.vals)
	if l+6 > cap(d.vals) || l+6 > maxValues {
		return false
	}
	b := d.buf[off>>3+n : off>>3+n+12]
	var id, ts uint64
	if h.order == meta.LittleEndian {
		id, ts = uint64(binary.LittleEndian.Uint32(b)), binary.LittleEndian.Uint64(b[4:])
	} else {
		id, ts = uint64(binary.BigEndian.Uint32(b)), binary.BigEndian.Uint64(b[4:])
	}
	d.vals = d.vals[:l+6]
	s := int32(l)
	vs := d.vals[l : l+6 : l+6]
	vs[0] = Value{Class: h.hdr, Start: s + 1, N: 2}
	vs[1] = Value{Class: h.id, Bits: h.escape}
	vs[2] = Value{Class: h.v, Start: s + 3, N: 1, Opt: h.extended}
	vs[3] = Value{Class: h.es, Start: s + 4, N: 2}
	vs[4] = Value{Class: h.eid, Bits: id}
	vs[5] = Value{Class: h.ets, Bits: ts}
	d.root[meta.ScopeEventHeader] = s
	d.off = off + (n+12)*8
	d.got |= meta.RoleEventClassID | meta.RoleTimestamp
	d.id = id
	d.ts = ts
	d.last = ts
	return true
}

// fixedField is one member of a fused run: a byte-aligned integer of 8,
// 16, 32 or 64 bits, or a byte-aligned text array of fixed length.
type fixedField struct {
	pos    uint32 // bytes from the start of the run
	size   uint32 // bits (integer), bytes (text)
	text   bool
	signed bool
	big    bool
	class  *meta.Class
}

// fixedRun fuses consecutive members of a structure whose relative
// offsets are known at compile time: the run starts aligned to align
// bits and every later member's alignment divides it, so one bounds check
// covers the whole run.
type fixedRun struct {
	first  int // index of the first member in the structure
	align  uint64
	bytes  uint64
	fields []fixedField
}

// segment is a part of a structure's members: a fused run, or one member
// decoded by its own op.
type segment struct {
	run *fixedRun
	idx int
}

// fixedOf says whether o can be a member of a fused run, and how many
// bytes it takes.
func fixedOf(o *op) (fixedField, bool) {
	if o.align%8 != 0 || o.role != 0 {
		return fixedField{}, false
	}
	switch o.kind {
	case opInt:
		switch o.size {
		case 8, 16, 32, 64:
		default:
			return fixedField{}, false
		}
		if o.order != meta.LittleEndian && o.order != meta.BigEndian {
			return fixedField{}, false
		}
		return fixedField{size: o.size, signed: o.signed, big: o.order == meta.BigEndian, class: o.class}, true
	case opText:
		e := o.elem
		if o.class.Kind != meta.KindArray || e == nil || e.kind != opInt || e.size != 8 || e.align%8 != 0 || o.length > 1<<16 {
			return fixedField{}, false
		}
		return fixedField{size: uint32(o.length), text: true, class: o.class}, true
	}
	return fixedField{}, false
}

func (f *fixedField) bytes() uint32 {
	if f.text {
		return f.size
	}
	return f.size / 8
}

// fuse splits the members of a structure op into segments; runs of at
// least two fixed members are fused.
func fuse(o *op) []segment {
	var segs []segment
	var run *fixedRun
	flush := func() {
		if run == nil {
			return
		}
		if len(run.fields) == 1 {
			segs = append(segs, segment{idx: run.first})
		} else {
			segs = append(segs, segment{run: run, idx: run.first})
		}
		run = nil
	}
	for i, f := range o.fields {
		ff, ok := fixedOf(f)
		if ok && run != nil && f.align <= run.align {
			pos := alignUp(run.bytes*8, f.align) / 8
			ff.pos = uint32(pos)
			run.bytes = pos + uint64(ff.bytes())
			run.fields = append(run.fields, ff)
			continue
		}
		flush()
		if ok {
			run = &fixedRun{first: i, align: f.align, bytes: uint64(ff.bytes()), fields: []fixedField{ff}}
			continue
		}
		segs = append(segs, segment{idx: i})
	}
	flush()
	return segs
}

// run decodes a fused run into vals (the run's members); false when the
// run does not fit in the packet content (the caller then decodes member
// by member, for the exact error).
func (d *decoder) run(r *fixedRun, vals []Value) bool {
	off := alignUp(d.off, r.align)
	if off+r.bytes*8 > d.end || off+r.bytes*8 < off {
		return false
	}
	b := d.buf[off>>3 : off>>3+r.bytes]
	vals = vals[:len(r.fields)]
	for i := range r.fields {
		f := &r.fields[i]
		p := b[f.pos:]
		var v uint64
		if f.text {
			t := p[:f.size]
			for k, c := range t {
				if c == 0 {
					t = t[:k]
					break
				}
			}
			start := len(d.text)
			d.text = append(d.text, t...)
			vals[i] = Value{Class: f.class, Start: int32(start), N: int32(len(t))}
			continue
		}
		if f.big {
			switch f.size {
			case 8:
				v = uint64(p[0])
			case 16:
				v = uint64(binary.BigEndian.Uint16(p))
			case 32:
				v = uint64(binary.BigEndian.Uint32(p))
			default:
				v = binary.BigEndian.Uint64(p)
			}
		} else {
			switch f.size {
			case 8:
				v = uint64(p[0])
			case 16:
				v = uint64(binary.LittleEndian.Uint16(p))
			case 32:
				v = uint64(binary.LittleEndian.Uint32(p))
			default:
				v = binary.LittleEndian.Uint64(p)
			}
		}
		if f.signed {
			v = signExtend(v, f.size)
		}
		vals[i] = Value{Class: f.class, Bits: v}
	}
	d.off = off + r.bytes*8
	return true
}

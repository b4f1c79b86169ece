package ctf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/tracetop/tracetop/ctf/meta"
)

// maxValues bounds the values of one event, so that a hostile length
// cannot make the decoder allocate without limit.
const maxValues = 1 << 20

// decoder walks compiled plans over the bytes of one packet. Errors are
// sticky: after the first one every op returns at once, and the caller
// checks err once per scope.
type decoder struct {
	buf   []byte // packet bytes followed by bufPad zero bytes
	off   uint64 // cursor, bits from the packet start
	end   uint64 // content end, bits
	vals  []Value
	text  []byte
	root  *[7]int32
	stack []int32
	err   *decodeError
	empty uint64 // elements of 0 bits decoded in this packet

	// What the roles of the fields decoded so far said.
	got       meta.Role
	id        uint64
	last      uint64 // last full clock value of the stream
	ts        uint64
	magic     uint64
	streamID  uint64
	instID    uint64
	pktSize   uint64
	content   uint64
	tsBegin   uint64
	tsEnd     uint64
	discarded uint64
	discBits  uint32
	seq       uint64
}

func (d *decoder) fail(bit uint64, format string, args ...any) {
	if d.err == nil {
		d.err = &decodeError{bit: bit, msg: fmt.Sprintf(format, args...)}
	}
}

// failEnd is fail for a field that needs bits past the end of the packet
// content (in a packet cut by the end of its file: past the file's end).
func (d *decoder) failEnd(bit uint64, format string, args ...any) {
	if d.err == nil {
		d.err = &decodeError{bit: bit, msg: fmt.Sprintf(format, args...), end: true}
	}
}

func (d *decoder) alloc(n int) int32 {
	l := len(d.vals)
	if l+n > maxValues {
		d.fail(d.off, "event has more than %d fields", maxValues)
		return -1
	}
	if l+n <= cap(d.vals) {
		d.vals = d.vals[:l+n]
	} else {
		d.vals = append(d.vals, make([]Value, n)...)
	}
	return int32(l)
}

// scope decodes the root of a scope and records it in root.
func (d *decoder) scope(s meta.Scope, o *op) {
	if o == nil {
		d.root[s] = -1
		return
	}
	if r := o.whole; r != nil && !noFastPaths {
		// A structure that is one fused run: its values and its members'
		// in one go.
		l := len(d.vals)
		n := len(r.fields)
		if l+1+n <= cap(d.vals) && l+1+n <= maxValues {
			d.vals = d.vals[:l+1+n]
			if d.run(r, d.vals[l+1:]) {
				d.vals[l] = Value{Class: o.class, Start: int32(l + 1), N: int32(n)}
				d.root[s] = int32(l)
				return
			}
			d.vals = d.vals[:l]
		}
	}
	slot := d.alloc(1)
	if slot < 0 {
		return
	}
	d.root[s] = slot
	d.stack = d.stack[:0]
	d.decode(o, slot)
}

func (d *decoder) refValue(r *fieldRef) uint64 {
	var base int32
	if r.depth >= 0 {
		if int(r.depth) >= len(d.stack) {
			d.fail(d.off, "field reference out of scope")
			return 0
		}
		base = d.stack[r.depth]
	} else {
		base = d.root[r.scope]
		if base < 0 {
			d.fail(d.off, "field reference to absent scope %s", r.scope)
			return 0
		}
	}
	v := &d.vals[base]
	for _, p := range r.path {
		if p < 0 {
			if v.Opt != -p-1 || v.N < 1 {
				d.fail(d.off, "field reference through option %d of a variant whose selected option is %d", -p-1, v.Opt)
				return 0
			}
			v = &d.vals[v.Start]
			continue
		}
		v = &d.vals[v.Start+p]
	}
	return v.Bits
}

func (d *decoder) roleInt(o *op, v uint64) {
	d.got |= o.role
	switch o.role {
	case meta.RoleEventClassID:
		d.id = v
	case meta.RoleTimestamp:
		d.ts = wrapClock(d.last, v, o.size)
		d.last = d.ts
	case meta.RoleTimestampBegin:
		d.tsBegin = wrapClock(d.last, v, o.size)
		d.last = d.tsBegin
	case meta.RoleTimestampEnd:
		d.tsEnd = v
	case meta.RolePacketMagic:
		d.magic = v
	case meta.RoleStreamClassID:
		d.streamID = v
	case meta.RoleStreamInstanceID:
		d.instID = v
	case meta.RolePacketSize:
		d.pktSize = v
	case meta.RoleContentSize:
		d.content = v
	case meta.RoleEventsDiscarded:
		d.discarded = v
		d.discBits = o.size
	case meta.RolePacketSeqNum:
		d.seq = v
	}
}

// wrapClock rebuilds a full clock value from its size low bits and the
// last full value, assuming at most one wrap in between.
func wrapClock(last, v uint64, size uint32) uint64 {
	if size >= 64 {
		return v
	}
	mask := uint64(1)<<size - 1
	if v >= last&mask {
		return last&^mask | v
	}
	return (last&^mask + mask + 1) | v
}

func (d *decoder) decode(o *op, slot int32) {
	switch o.kind {
	case opInt:
		off := d.off
		if o.align > 1 {
			off = alignUp(off, o.align)
		}
		if off+uint64(o.size) > d.end {
			d.failEnd(off, "%d-bit integer crosses the end of the packet content", o.size)
			return
		}
		var v uint64
		if off&7 == 0 && o.order == meta.LittleEndian {
			b := d.buf[off>>3:]
			switch o.size {
			case 8:
				v = uint64(b[0])
			case 16:
				v = uint64(binary.LittleEndian.Uint16(b))
			case 32:
				v = uint64(binary.LittleEndian.Uint32(b))
			case 64:
				v = binary.LittleEndian.Uint64(b)
			default:
				v = readLE(d.buf, off, o.size)
			}
		} else if o.order == meta.LittleEndian {
			v = readLE(d.buf, off, o.size)
		} else {
			v = readBE(d.buf, off, o.size)
		}
		if o.signed {
			v = signExtend(v, o.size)
		}
		d.off = off + uint64(o.size)
		d.vals[slot] = Value{Class: o.class, Bits: v}
		if o.role != 0 {
			d.roleInt(o, v)
		}
	case opStruct:
		off := alignUp(d.off, o.align)
		if off > d.end {
			d.failEnd(d.off, "struct aligned past the end of the packet content")
			return
		}
		d.off = off
		n := len(o.fields)
		start := d.alloc(n)
		if start < 0 {
			return
		}
		d.vals[slot] = Value{Class: o.class, Start: start, N: int32(n)}
		d.stack = append(d.stack, slot)
		if o.segs != nil && !noFastPaths {
			d.segments(o, start)
			d.stack = d.stack[:len(d.stack)-1]
			return
		}
		vals := d.vals[start : int(start)+n]
		for i, f := range o.fields {
			// Fast path: a byte-aligned little-endian integer without a
			// role, the most common member.
			if f.kind == opInt && f.role == 0 && f.order == meta.LittleEndian {
				off := alignUp(d.off, f.align)
				if off&7 == 0 && off+uint64(f.size) <= d.end {
					b := d.buf[off>>3:]
					var v uint64
					switch f.size {
					case 8:
						v = uint64(b[0])
					case 16:
						v = uint64(binary.LittleEndian.Uint16(b))
					case 32:
						v = uint64(binary.LittleEndian.Uint32(b))
					case 64:
						v = binary.LittleEndian.Uint64(b)
					default:
						v = readLE(d.buf, off, f.size)
					}
					if f.signed {
						v = signExtend(v, f.size)
					}
					d.off = off + uint64(f.size)
					vals[i] = Value{Class: f.class, Bits: v}
					continue
				}
			}
			d.decode(f, start+int32(i))
			if d.err != nil {
				break
			}
			vals = d.vals[start : int(start)+n] // d.vals may have grown
		}
		d.stack = d.stack[:len(d.stack)-1]
	case opString:
		off := alignUp(d.off, 8)
		if off >= d.end {
			d.failEnd(off, "string starts past the end of the packet content")
			return
		}
		b := d.buf[off>>3 : d.end>>3]
		n := bytes.IndexByte(b, 0)
		if n < 0 {
			d.failEnd(off, "string not terminated before the end of the packet content")
			return
		}
		t := len(d.text)
		d.text = append(d.text, b[:n]...)
		d.vals[slot] = Value{Class: o.class, Start: int32(t), N: int32(n)}
		d.off = off + uint64(n+1)*8
	case opVariant:
		sel := d.refValue(o.ref)
		if d.err != nil {
			return
		}
		opt := o.pick(sel)
		if opt < 0 {
			if o.signed {
				d.fail(d.off, "variant selector value %d selects no option", int64(sel))
			} else {
				d.fail(d.off, "variant selector value %d selects no option", sel)
			}
			return
		}
		child := d.alloc(1)
		if child < 0 {
			return
		}
		d.vals[slot] = Value{Class: o.class, Start: child, N: 1, Opt: opt}
		d.decode(o.fields[opt], child)
	case opArray, opSequence:
		n := o.length
		if o.kind == opSequence {
			n = d.refValue(o.ref)
			if d.err != nil {
				return
			}
		}
		off := alignUp(d.off, o.align)
		if off > d.end || (o.elem.minBits > 0 && n > (d.end-off)/o.elem.minBits) {
			d.failEnd(off, "array of %d elements crosses the end of the packet content", n)
			return
		}
		if n > maxValues {
			d.fail(off, "array of %d elements is too long", n)
			return
		}
		if o.elem.minBits == 0 {
			// Elements that may occupy no bits: bound the work a packet
			// can ask for without consuming its bytes.
			d.empty += n
			if d.empty > maxValues {
				d.fail(off, "too many elements of 0 bits in one packet")
				return
			}
		}
		d.off = off
		start := d.alloc(int(n))
		if start < 0 {
			return
		}
		d.vals[slot] = Value{Class: o.class, Start: start, N: int32(n)}
		for i := int32(0); i < int32(n); i++ {
			d.decode(o.elem, start+i)
			if d.err != nil {
				return
			}
		}
	case opText, opDynText, opBlob, opDynBlob:
		n := o.length
		if o.kind == opDynText || o.kind == opDynBlob {
			n = d.refValue(o.ref)
			if d.err != nil {
				return
			}
		}
		off := alignUp(d.off, o.align)
		if off > d.end || n > (d.end-off)/8 {
			d.failEnd(off, "%d bytes cross the end of the packet content", n)
			return
		}
		t := len(d.text)
		if off&7 == 0 {
			b := d.buf[off>>3 : off>>3+n]
			if o.kind == opText || o.kind == opDynText {
				if k := bytes.IndexByte(b, 0); k >= 0 {
					b = b[:k]
				}
			}
			d.text = append(d.text, b...)
		} else {
			stop := false
			for i := uint64(0); i < n; i++ {
				var c byte
				if o.elem != nil && o.elem.order == meta.BigEndian {
					c = byte(readBE(d.buf, off+i*8, 8))
				} else {
					c = byte(readLE(d.buf, off+i*8, 8))
				}
				if c == 0 && (o.kind == opText || o.kind == opDynText) {
					stop = true
				}
				if !stop {
					d.text = append(d.text, c)
				}
			}
		}
		d.vals[slot] = Value{Class: o.class, Start: int32(t), N: int32(len(d.text) - t)}
		d.off = off + n*8
	case opFloat:
		off := alignUp(d.off, o.align)
		if off+uint64(o.size) > d.end {
			d.failEnd(off, "%d-bit float crosses the end of the packet content", o.size)
			return
		}
		var v uint64
		if o.order == meta.LittleEndian {
			v = readLE(d.buf, off, o.size)
		} else {
			v = readBE(d.buf, off, o.size)
		}
		d.off = off + uint64(o.size)
		d.vals[slot] = Value{Class: o.class, Bits: math.Float64bits(o.float(v))}
	case opVarInt:
		off := alignUp(d.off, 8)
		var v uint64
		var sh uint
		for {
			if off+8 > d.end {
				d.failEnd(off, "LEB128 integer crosses the end of the packet content")
				return
			}
			c := d.buf[off>>3]
			off += 8
			if sh < 64 {
				v |= uint64(c&0x7f) << sh
			}
			sh += 7
			if c&0x80 == 0 {
				break
			}
		}
		if o.signed && sh < 64 {
			v = signExtend(v, uint32(sh))
		}
		d.off = off
		d.vals[slot] = Value{Class: o.class, Bits: v}
		if o.role != 0 {
			d.roleInt(o, v)
		}
	case opBigInt:
		off := alignUp(d.off, o.align)
		if off+uint64(o.size) > d.end {
			d.failEnd(off, "%d-bit integer crosses the end of the packet content", o.size)
			return
		}
		var v uint64
		if o.order == meta.LittleEndian {
			v = readLE(d.buf, off, 64)
		} else {
			v = readBE(d.buf, off+uint64(o.size)-64, 64)
		}
		d.off = off + uint64(o.size)
		d.vals[slot] = Value{Class: o.class, Bits: v}
	case opOptional:
		sel := d.refValue(o.ref)
		if d.err != nil {
			return
		}
		on := sel != 0
		if o.sel != nil {
			on = o.pick(sel) >= 0
		}
		if !on {
			d.vals[slot] = Value{Class: o.class}
			return
		}
		child := d.alloc(1)
		if child < 0 {
			return
		}
		d.vals[slot] = Value{Class: o.class, Start: child, N: 1}
		d.decode(o.elem, child)
	}
}

// segments decodes the members of a structure whose op has fused runs
// (see fuse) into the n values from start.
func (d *decoder) segments(o *op, start int32) {
	for _, sg := range o.segs {
		if r := sg.run; r != nil {
			if d.run(r, d.vals[int(start)+r.first:]) {
				continue
			}
			for i := range r.fields {
				d.decode(o.fields[r.first+i], start+int32(r.first+i))
				if d.err != nil {
					return
				}
			}
			continue
		}
		d.decode(o.fields[sg.idx], start+int32(sg.idx))
		if d.err != nil {
			return
		}
	}
}

func (o *op) pick(sel uint64) int32 {
	for _, r := range o.sel {
		if o.signed {
			if int64(sel) >= int64(r.lo) && int64(sel) <= int64(r.hi) {
				return r.opt
			}
		} else if sel >= r.lo && sel <= r.hi {
			return r.opt
		}
	}
	return -1
}

func (o *op) float(v uint64) float64 {
	switch {
	case o.expDig == 8 && o.mantDig == 24:
		return float64(math.Float32frombits(uint32(v)))
	case o.expDig == 11 && o.mantDig == 53:
		return math.Float64frombits(v)
	}
	m := uint(o.mantDig - 1)
	e := uint(o.expDig)
	mant := v & (1<<m - 1)
	exp := (v >> m) & (1<<e - 1)
	neg := v>>(m+e)&1 == 1
	bias := int(1)<<(e-1) - 1
	var f float64
	switch {
	case exp == 0:
		f = math.Ldexp(float64(mant), 1-bias-int(m))
	case exp == 1<<e-1:
		if mant == 0 {
			f = math.Inf(1)
		} else {
			f = math.NaN()
		}
	default:
		f = math.Ldexp(float64(mant|1<<m), int(exp)-bias-int(m))
	}
	if neg {
		f = -f
	}
	return f
}

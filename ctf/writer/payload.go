package writer

import "encoding/binary"

// Payload builds the bytes of one event payload (or stream event context)
// in the order of its class's fields. It never allocates once its buffer
// has grown to the largest event; reuse one Payload with Reset.
//
//	var p writer.Payload
//	p.Reset()
//	p.Text([]byte("bash"), 16) // comm
//	p.I32(1234)                 // tid
//	rec.Emit(cpu, ts, class, p.B)
type Payload struct{ B []byte }

// Reset empties the payload, keeping its buffer.
func (p *Payload) Reset() { p.B = p.B[:0] }

func (p *Payload) U8(v uint8)   { p.B = append(p.B, v) }
func (p *Payload) U16(v uint16) { p.B = binary.LittleEndian.AppendUint16(p.B, v) }
func (p *Payload) U32(v uint32) { p.B = binary.LittleEndian.AppendUint32(p.B, v) }
func (p *Payload) U64(v uint64) { p.B = binary.LittleEndian.AppendUint64(p.B, v) }
func (p *Payload) I8(v int8)    { p.U8(uint8(v)) }
func (p *Payload) I16(v int16)  { p.U16(uint16(v)) }
func (p *Payload) I32(v int32)  { p.U32(uint32(v)) }
func (p *Payload) I64(v int64)  { p.U64(uint64(v)) }

// BE32 appends a big-endian (network order) 32-bit integer.
func (p *Payload) BE32(v uint32) { p.B = binary.BigEndian.AppendUint32(p.B, v) }

// Int appends v as an integer of bits bits (8, 16, 32 or 64).
func (p *Payload) Int(v uint64, bits uint8) {
	switch bits {
	case 8:
		p.U8(uint8(v))
	case 16:
		p.U16(uint16(v))
	case 32:
		p.U32(uint32(v))
	default:
		p.U64(v)
	}
}

// String appends s and its terminating NUL. A NUL inside s ends it.
func (p *Payload) String(s string) {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			s = s[:i]
			break
		}
	}
	p.B = append(p.B, s...)
	p.B = append(p.B, 0)
}

// CString appends the bytes of b up to its first NUL, then a NUL.
func (p *Payload) CString(b []byte) {
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	p.B = append(p.B, b...)
	p.B = append(p.B, 0)
}

// Text appends b as a fixed array of n bytes: cut at its first NUL (bytes
// after a NUL would print as garbage), truncated or padded with zeros.
func (p *Payload) Text(b []byte, n int) {
	m := 0
	for m < len(b) && m < n && b[m] != 0 {
		m++
	}
	p.B = append(p.B, b[:m]...)
	for i := m; i < n; i++ {
		p.B = append(p.B, 0)
	}
}

// TextString is Text for a string.
func (p *Payload) TextString(s string, n int) {
	m := 0
	for m < len(s) && m < n && s[m] != 0 {
		m++
	}
	p.B = append(p.B, s[:m]...)
	for i := m; i < n; i++ {
		p.B = append(p.B, 0)
	}
}

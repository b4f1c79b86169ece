// Package wire reads and writes the big-endian binary messages of the LTTng
// relay protocols (control, data and live viewer ports).
//
// A Cursor decodes with a sticky error: read every field, then check Err
// once. Every error carries the byte offset where decoding stopped. An
// Encoder appends fields to a caller-owned slice, so encoding a reply does
// not allocate once the slice has grown.
//
//	c := wire.Cursor{B: payload}
//	id, size := c.U64(), c.U32()
//	name := c.CString(255) // fixed char[255] field
//	if err := c.Err(); err != nil {
//		return err // "wire: need 8 bytes at byte 0x10, have 3"
//	}
//	var e wire.Encoder
//	e.U64(id)
//	e.U32(size)
//	e.FixedString(name, 255)
//	conn.Write(e.B)
package wire

package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrShort is matched (errors.Is) by every error about missing bytes.
var ErrShort = errors.New("message too short")

// FormatError is a decoding error at a byte offset of a message.
type FormatError struct {
	Off   int64  // offset from the start of the decoded buffer
	Msg   string // what was wrong
	short bool
}

func (e *FormatError) Error() string { return fmt.Sprintf("wire: %s at byte 0x%x", e.Msg, e.Off) }

// Is reports whether the error is about missing bytes (ErrShort).
func (e *FormatError) Is(t error) bool { return t == ErrShort && e.short }

// Cursor reads big-endian fields from B with a sticky error: after the
// first failure every read returns zero and Err reports the first failure.
type Cursor struct {
	B   []byte
	Off int // next byte to read
	err error
}

// Err returns the first error met, or nil.
func (c *Cursor) Err() error { return c.err }

// Fail records err as the cursor's error unless one is already recorded;
// decoders use it for semantic checks so they keep the single Err check.
func (c *Cursor) Fail(msg string) {
	if c.err == nil {
		c.err = &FormatError{Off: int64(c.Off), Msg: msg}
	}
}

// Failf is Fail with formatting.
func (c *Cursor) Failf(format string, args ...any) {
	if c.err == nil {
		c.err = &FormatError{Off: int64(c.Off), Msg: fmt.Sprintf(format, args...)}
	}
}

// Len returns the number of unread bytes.
func (c *Cursor) Len() int { return len(c.B) - c.Off }

func (c *Cursor) need(n int) bool {
	if c.err != nil {
		return false
	}
	if n < 0 || len(c.B)-c.Off < n {
		c.err = &FormatError{Off: int64(c.Off), Msg: fmt.Sprintf("need %d bytes, have %d", n, len(c.B)-c.Off), short: true}
		return false
	}
	return true
}

// U8 reads one byte.
func (c *Cursor) U8() uint8 {
	if !c.need(1) {
		return 0
	}
	v := c.B[c.Off]
	c.Off++
	return v
}

// U32 reads a big-endian uint32.
func (c *Cursor) U32() uint32 {
	if !c.need(4) {
		return 0
	}
	v := binary.BigEndian.Uint32(c.B[c.Off:])
	c.Off += 4
	return v
}

// U64 reads a big-endian uint64.
func (c *Cursor) U64() uint64 {
	if !c.need(8) {
		return 0
	}
	v := binary.BigEndian.Uint64(c.B[c.Off:])
	c.Off += 8
	return v
}

// OptU64 reads an "optional u64": u8 is_set then u64 value.
func (c *Cursor) OptU64() (v uint64, set bool) {
	set = c.U8() != 0
	v = c.U64()
	return v, set
}

// OptU32 reads an "optional u32": u8 is_set then u32 value.
func (c *Cursor) OptU32() (v uint32, set bool) {
	set = c.U8() != 0
	v = c.U32()
	return v, set
}

// Bytes returns the next n bytes (aliasing B).
func (c *Cursor) Bytes(n int) []byte {
	if !c.need(n) {
		return nil
	}
	b := c.B[c.Off : c.Off+n : c.Off+n]
	c.Off += n
	return b
}

// Skip advances n bytes.
func (c *Cursor) Skip(n int) {
	if c.need(n) {
		c.Off += n
	}
}

// CString reads a fixed char[n] field and returns the text before the
// first NUL; a field without NUL is cut at n-1 bytes, as a C reader forcing
// a NUL at the last byte would.
func (c *Cursor) CString(n int) string {
	b := c.Bytes(n)
	if b == nil {
		return ""
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return string(b[:i])
	}
	return string(b[:n-1])
}

// NulString reads a variable-length name of n bytes that must end with its
// NUL terminator and contain no other NUL (the 2.11+ name encoding).
func (c *Cursor) NulString(n int, what string) string {
	start := c.Off
	b := c.Bytes(n)
	if c.err != nil {
		return ""
	}
	if n == 0 || b[n-1] != 0 {
		c.err = &FormatError{Off: int64(start), Msg: fmt.Sprintf("%s of %d bytes is not NUL-terminated", what, n)}
		return ""
	}
	if i := bytes.IndexByte(b, 0); i != n-1 {
		c.err = &FormatError{Off: int64(start + i), Msg: fmt.Sprintf("%s has a NUL inside its %d bytes", what, n)}
		return ""
	}
	return string(b[:n-1])
}

// Encoder appends big-endian fields to B.
type Encoder struct {
	B []byte
}

// Reset empties the buffer and keeps its storage.
func (e *Encoder) Reset() { e.B = e.B[:0] }

// U8 appends one byte.
func (e *Encoder) U8(v uint8) { e.B = append(e.B, v) }

// U32 appends a big-endian uint32.
func (e *Encoder) U32(v uint32) { e.B = binary.BigEndian.AppendUint32(e.B, v) }

// U64 appends a big-endian uint64.
func (e *Encoder) U64(v uint64) { e.B = binary.BigEndian.AppendUint64(e.B, v) }

// OptU64 appends an "optional u64" (zero value when unset).
func (e *Encoder) OptU64(v uint64, set bool) {
	if !set {
		v = 0
	}
	e.U8(b2u(set))
	e.U64(v)
}

// OptU32 appends an "optional u32" (zero value when unset).
func (e *Encoder) OptU32(v uint32, set bool) {
	if !set {
		v = 0
	}
	e.U8(b2u(set))
	e.U32(v)
}

// Bytes appends raw bytes.
func (e *Encoder) Bytes(b []byte) { e.B = append(e.B, b...) }

// Zero appends n zero bytes.
func (e *Encoder) Zero(n int) {
	for ; n > 0; n-- {
		e.B = append(e.B, 0)
	}
}

// FixedString appends s in a char[n] field: the text cut to n-1 bytes,
// then NUL fill.
func (e *Encoder) FixedString(s string, n int) {
	if len(s) > n-1 {
		s = s[:n-1]
	}
	e.B = append(e.B, s...)
	e.Zero(n - len(s))
}

// NulString appends s and its NUL terminator.
func (e *Encoder) NulString(s string) {
	e.B = append(e.B, s...)
	e.B = append(e.B, 0)
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

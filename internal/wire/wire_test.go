package wire

import (
	"errors"
	"testing"
)

func TestCursorRoundTrip(t *testing.T) {
	var e Encoder
	e.U8(7)
	e.U32(0xdeadbeef)
	e.U64(1 << 40)
	e.OptU64(9, true)
	e.OptU32(5, false)
	e.FixedString("vm", 8)
	e.NulString("abc")
	c := Cursor{B: e.B}
	a, b, d := c.U8(), c.U32(), c.U64()
	o, oset := c.OptU64()
	p, pset := c.OptU32()
	s := c.CString(8)
	n := c.NulString(4, "name")
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	if a != 7 || b != 0xdeadbeef || d != 1<<40 || o != 9 || !oset || p != 0 || pset || s != "vm" || n != "abc" || c.Len() != 0 {
		t.Fatalf("got %v %x %v %v %v %v %v %q %q", a, b, d, o, oset, p, pset, s, n)
	}
}

func TestCursorErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		read func(c *Cursor)
		want string
	}{
		{"short u64 after u32", []byte{0, 0, 0, 1, 2}, func(c *Cursor) { c.U32(); c.U64() }, "wire: need 8 bytes, have 1 at byte 0x4"},
		{"name without NUL", []byte("abc"), func(c *Cursor) { c.NulString(3, "session name") }, "wire: session name of 3 bytes is not NUL-terminated at byte 0x0"},
		{"name with NUL inside", []byte("a\x00c\x00"), func(c *Cursor) { c.NulString(4, "hostname") }, "wire: hostname has a NUL inside its 4 bytes at byte 0x1"},
		{"zero-length name", []byte{}, func(c *Cursor) { c.NulString(0, "path") }, "wire: path of 0 bytes is not NUL-terminated at byte 0x0"},
		{"negative length", []byte{1}, func(c *Cursor) { c.Bytes(-1) }, "wire: need -1 bytes, have 1 at byte 0x0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Cursor{B: tc.b}
			tc.read(&c)
			if c.Err() == nil || c.Err().Error() != tc.want {
				t.Fatalf("got %v, want %s", c.Err(), tc.want)
			}
			if c.U64() != 0 {
				t.Fatal("read after error returned data")
			}
		})
	}
	c := Cursor{B: []byte{1}}
	c.U32()
	if !errors.Is(c.Err(), ErrShort) {
		t.Fatal("short read does not match ErrShort")
	}
}

func TestCStringWithoutNul(t *testing.T) {
	c := Cursor{B: []byte("abcd")}
	if s := c.CString(4); s != "abc" {
		t.Fatalf("got %q", s)
	}
}

func TestEncoderNoAlloc(t *testing.T) {
	e := Encoder{B: make([]byte, 0, 64)}
	if n := testing.AllocsPerRun(100, func() {
		e.Reset()
		e.U64(1)
		e.U32(2)
		e.FixedString("x", 16)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

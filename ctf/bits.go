package ctf

import "encoding/binary"

// bufPad is the number of zero bytes kept after the data of a packet
// buffer, so that a bit-field read can always load 9 bytes; reads are
// bounded by the packet's content size, never by the buffer.
const bufPad = 16

// readLE reads size (1..64) bits at bit offset off, little-endian bit and
// byte order. b must hold at least off/8+9 bytes (see bufPad).
func readLE(b []byte, off uint64, size uint32) uint64 {
	i := off >> 3
	sh := uint(off & 7)
	u := binary.LittleEndian.Uint64(b[i : i+8])
	v := u >> sh
	if sh+uint(size) > 64 {
		v |= uint64(b[i+8]) << (64 - sh)
	}
	if size < 64 {
		v &= 1<<size - 1
	}
	return v
}

// readBE reads size (1..64) bits at bit offset off, big-endian bit and
// byte order.
func readBE(b []byte, off uint64, size uint32) uint64 {
	i := off >> 3
	sh := uint(off & 7)
	u := binary.BigEndian.Uint64(b[i : i+8])
	v := (u << sh) >> (64 - uint(size))
	if n := sh + uint(size); n > 64 {
		v |= uint64(b[i+8]) >> (8 - (n - 64))
	}
	return v
}

func alignUp(off, a uint64) uint64 { return (off + a - 1) &^ (a - 1) }

func signExtend(v uint64, size uint32) uint64 {
	if size >= 64 || size == 0 {
		return v
	}
	s := 64 - size
	return uint64(int64(v<<s) >> s)
}

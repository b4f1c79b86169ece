package pretty

import (
	"math"
	"math/bits"
	"strconv"
)

const upperHex = "0123456789ABCDEF"

// appendInt formats an integer as babeltrace2 does for its display base:
// decimal (signed or not), hexadecimal "0x" with upper-case digits,
// octal with a leading 0, binary "0b" with all size bits. Negative values
// in base 16 or 8 are shown in two's complement over the field size
// rounded up to whole digits.
func appendInt(b []byte, bits uint64, signed bool, base, size int) []byte {
	switch base {
	case 16:
		if size < 64 {
			r := (size + 3) &^ 3
			if r < 64 {
				bits &= 1<<uint(r) - 1
			}
		}
		b = append(b, '0', 'x')
		return appendHex(b, bits)
	case 8:
		if signed && size < 64 && size > 0 {
			r := ((size-1)/3 + 1) * 3
			if r < 64 {
				bits &= 1<<uint(r) - 1
			}
		}
		b = append(b, '0')
		return strconv.AppendUint(b, bits, 8)
	case 2:
		b = append(b, '0', 'b')
		if size <= 0 || size > 64 {
			size = 64
		}
		for i := size - 1; i >= 0; i-- {
			b = append(b, byte('0'+(bits>>uint(i))&1))
		}
		return b
	}
	if signed {
		return appendSigned(b, int64(bits))
	}
	return appendUint(b, bits)
}

func appendHex(b []byte, v uint64) []byte {
	n := (bits.Len64(v|1) + 3) / 4
	b = grow(b, n)
	l := len(b)
	b = b[:l+n]
	for i := l + n - 1; i >= l; i-- {
		b[i] = upperHex[v&15]
		v >>= 4
	}
	return b
}

// appendPadded appends v in decimal, zero-padded to width digits.
func appendPadded(b []byte, v uint64, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for v > 0 || len(tmp)-i < width {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if i == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// digits2 holds "00" to "99".
var digits2 = func() (t [200]byte) {
	for i := 0; i < 100; i++ {
		t[2*i], t[2*i+1] = byte('0'+i/10), byte('0'+i%10)
	}
	return
}()

// grow returns b with room for n more bytes.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		b = append(b[:cap(b)], make([]byte, n+cap(b))...)[:len(b)]
	}
	return b
}

// appendNano appends a 9-digit nanosecond count (ns < 1e9).
func appendNano(b []byte, ns uint64) []byte {
	x := uint32(ns % 1e9)
	b = grow(b, 9)
	n := len(b)
	b = b[:n+9]
	d := (*[9]byte)(b[n:])
	hi, lo := x/100000, x%100000 // 4 and 5 digits
	a, c := hi/100, hi%100
	e, f := lo/1000, lo%1000
	g, h := f/10, f%10
	d[0], d[1] = digits2[2*a], digits2[2*a+1]
	d[2], d[3] = digits2[2*c], digits2[2*c+1]
	d[4], d[5] = digits2[2*e], digits2[2*e+1]
	d[6], d[7] = digits2[2*g], digits2[2*g+1]
	d[8] = byte('0' + h)
	return b
}

// appendUint appends v in decimal, writing the digits in place (two at a
// time) rather than through a temporary buffer.
func appendUint(b []byte, v uint64) []byte {
	if v < 10 {
		return append(b, byte('0'+v))
	}
	n := decLen(v)
	b = grow(b, n)
	l := len(b)
	b = b[:l+n]
	i := l + n
	for v >= 100 {
		q := v / 100
		r := v - q*100
		i -= 2
		b[i], b[i+1] = digits2[2*r], digits2[2*r+1]
		v = q
	}
	if v >= 10 {
		i -= 2
		b[i], b[i+1] = digits2[2*v], digits2[2*v+1]
	} else {
		b[i-1] = byte('0' + v)
	}
	return b
}

// appendSigned appends a two's complement value in decimal.
func appendSigned(b []byte, v int64) []byte {
	if v < 0 {
		return appendUint(append(b, '-'), uint64(-v))
	}
	return appendUint(b, uint64(v))
}

// decLen returns the number of decimal digits of v.
func decLen(v uint64) int {
	n := 1
	for v >= 10000 {
		v /= 10000
		n += 4
	}
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}

// appendFloat formats like C's printf("%g").
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		if math.Signbit(f) {
			return append(b, "-nan"...)
		}
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', 6, 64)
}

// needsEscape marks the bytes babeltrace2 escapes in strings: C0 control
// characters, DEL, and \ ' " ?.
var needsEscape = func() (t [256]bool) {
	for i := 0; i < 0x20; i++ {
		t[i] = true
	}
	t[0x7f] = true
	t['\\'], t['\''], t['"'], t['?'] = true, true, true, true
	return
}()

// appendQuoted appends s between double quotes with babeltrace2's escapes
// (\n, \t, \\, \", \?, \xHH for other control characters); bytes from 0x80
// are copied as they are. s ends at its first NUL, as a C string.
func appendQuoted[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !needsEscape[c] {
			continue
		}
		b = append(b, s[start:i]...)
		start = i + 1
		switch c {
		case 0:
			b = append(b, '"')
			return b
		case '\\':
			b = append(b, '\\', '\\')
		case '\'':
			b = append(b, '\\', '\'')
		case '"':
			b = append(b, '\\', '"')
		case '?':
			b = append(b, '\\', '?')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		case 0x1b:
			b = append(b, '\\', 'e')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\v':
			b = append(b, '\\', 'v')
		default:
			b = append(b, '\\', 'x', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendUUID formats a UUID in its canonical lower-case form.
func appendUUID(b []byte, u [16]byte) []byte {
	const hx = "0123456789abcdef"
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hx[c>>4], hx[c&15])
	}
	return b
}

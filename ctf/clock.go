package ctf

import (
	"math"
	"math/bits"

	"github.com/tracetop/tracetop/ctf/meta"
)

// clockConv converts clock values (cycles) of one clock class to
// nanoseconds from its origin, as babeltrace2 does: the offset is
// normalised to whole seconds plus cycles below one second, a 1 GHz clock
// is converted with integer arithmetic, another frequency through a
// float64 product (babeltrace2's rounding).
type clockConv struct {
	clock   *meta.Clock
	freq    uint64
	baseNS  int64 // offset_s*1e9 + ns(offset cycles)
	baseBad bool  // the offset alone overflows int64 ns
}

func newClockConv(c *meta.Clock) *clockConv {
	cv := &clockConv{clock: c, freq: c.Freq}
	if cv.freq == 0 {
		cv.freq = 1e9
	}
	offS, offC := c.OffsetS, c.Offset
	f := int64(cv.freq)
	if f > 0 {
		// Normalise so that 0 <= offC < freq.
		offS += offC / f
		offC %= f
		if offC < 0 {
			offC += f
			offS--
		}
	}
	hi, lo := mulS64(offS, 1e9)
	if hi != lo>>63 { // does not fit in int64
		cv.baseBad = true
		return cv
	}
	cns := nsFromCycles(cv.freq, uint64(offC))
	b := lo + int64(cns)
	if (lo > 0 && b < lo) || cns >= math.MaxInt64 {
		cv.baseBad = true
		return cv
	}
	cv.baseNS = b
	return cv
}

// mulS64 returns the 128-bit product of a and b as (high, low) words.
func mulS64(a, b int64) (hi, lo int64) {
	p := new128(a).mul(b)
	return p.hi, p.lo
}

type i128 struct{ hi, lo int64 }

func new128(a int64) i128 { return i128{hi: a >> 63, lo: a} }

func (x i128) mul(b int64) i128 {
	// Signed 128-bit product of a 64-bit value (in x.lo) by b.
	a := x.lo
	neg := (a < 0) != (b < 0)
	ua, ub := uabs(a), uabs(b)
	h, l := bits.Mul64(ua, ub)
	if neg {
		l = ^l + 1
		h = ^h
		if l == 0 {
			h++
		}
	}
	return i128{hi: int64(h), lo: int64(l)}
}

func uabs(a int64) uint64 {
	if a < 0 {
		return uint64(-a)
	}
	return uint64(a)
}

func nsFromCycles(freq, v uint64) uint64 {
	if freq == 1e9 {
		return v
	}
	d := 1e9 * float64(v) / float64(freq)
	if d >= math.MaxUint64 {
		return math.MaxUint64
	}
	return uint64(d)
}

// ns converts a clock value; ok is false when the result does not fit in
// an int64 (babeltrace2 refuses such a trace; we keep reading).
func (cv *clockConv) ns(v uint64) (int64, bool) {
	if cv.baseBad {
		return 0, false
	}
	n := nsFromCycles(cv.freq, v)
	if n >= math.MaxInt64 {
		return 0, false
	}
	r := cv.baseNS + int64(n)
	if r < cv.baseNS {
		return 0, false
	}
	return r, true
}

// wrappedNS computes the time modulo 2^64, as babeltrace 1 does when the
// true value does not fit.
func (cv *clockConv) wrappedNS(v uint64) int64 {
	c := cv.clock
	ns := uint64(c.OffsetS)*1e9 + uint64(c.Offset)*1e9/cv.freq
	if cv.freq == 1e9 {
		ns = uint64(c.OffsetS)*1e9 + uint64(c.Offset)
	}
	return int64(ns + nsFromCycles(cv.freq, v))
}

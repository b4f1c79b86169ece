package clocksync

import (
	"math/bits"
	"sort"
)

// HostTSC inverts KVM's guest TSC, G = ((H·ratio) >> frac) + off: it
// returns H = ⌈((G − off) << frac) / ratio⌉, with a 128-bit intermediate so
// that neither the shift nor the division overflows. The division rounds
// up: that is the first host cycle at which the guest TSC reads G (KVM's
// forward transform truncates), so GuestTSC(HostTSC(G)) == G exactly; a
// truncating division would be one cycle early whenever the guest runs
// faster. ratio 0 (or 1 << frac) means no scaling: H = G − off. The
// subtraction wraps as the hardware does (a u64 TSC with a signed offset).
func HostTSC(g uint64, off int64, ratio uint64, frac uint) uint64 {
	d := g - uint64(off)
	if ratio == 0 || frac == 0 && ratio == 1 || frac < 64 && ratio == 1<<frac {
		return d
	}
	// (d << frac) as 128 bits: hi:lo.
	var hi, lo uint64
	if frac >= 64 {
		hi, lo = d<<(frac-64), 0
	} else {
		hi, lo = d>>(64-frac), d<<frac
		if frac == 0 {
			hi = 0
		}
	}
	if hi >= ratio { // quotient past 64 bits: not a real TSC value
		return ^uint64(0)
	}
	q, r := bits.Div64(hi, lo, ratio)
	if r != 0 {
		q++
	}
	return q
}

// GuestTSC is KVM's forward transform, G = ((H·ratio) >> frac) + off, for
// tests and for checking HostTSC.
func GuestTSC(h uint64, off int64, ratio uint64, frac uint) uint64 {
	if ratio == 0 || frac < 64 && ratio == 1<<frac {
		return h + uint64(off)
	}
	hi, lo := bits.Mul64(h, ratio)
	var v uint64
	switch {
	case frac == 0:
		v = lo
	case frac >= 64:
		v = hi >> (frac - 64)
	default:
		v = lo>>frac | hi<<(64-frac)
	}
	return v + uint64(off)
}

// TSCOffset is one setting of a vCPU's TSC offset (kvm_write_tsc_offset, or
// debugfs when a VM is first seen): valid from host TSC HostTSC on.
type TSCOffset struct {
	VCPU    uint32 `json:"vcpu"`
	HostTSC uint64 `json:"host_tsc"` // when it was written, host TSC
	Offset  int64  `json:"offset"`
	Ratio   uint64 `json:"ratio,omitempty"` // 0: no scaling
	Frac    uint   `json:"frac,omitempty"`
}

// TSCOffsets holds the offset history of every vCPU of one VM.
type TSCOffsets struct {
	by map[uint32][]TSCOffset
}

// Add records an offset change; changes of one vCPU may come in any order.
func (t *TSCOffsets) Add(o TSCOffset) {
	if t.by == nil {
		t.by = map[uint32][]TSCOffset{}
	}
	l := append(t.by[o.VCPU], o)
	sort.SliceStable(l, func(i, j int) bool { return l[i].HostTSC < l[j].HostTSC })
	t.by[o.VCPU] = l
}

// Host returns the host TSC of guest TSC g read on vCPU vcpu: the offset
// used is the oldest one whose validity interval (host time, from its
// write to the next write) contains the resulting host time, at or after
// `after`. An offset written backwards makes the guest TSC repeat a range
// of values, which the TSC alone cannot tell apart: pass as after the
// host time of the previous event of the same guest CPU stream (0 for the
// first), so a stream, read in order, never goes back to an old epoch.
// ok is false when the vCPU has no offset at all.
func (t *TSCOffsets) Host(vcpu uint32, g, after uint64) (h uint64, ok bool) {
	l := t.by[vcpu]
	if len(l) == 0 {
		return 0, false
	}
	for i := range l {
		o := &l[i]
		h = HostTSC(g, o.Offset, o.Ratio, o.Frac)
		if h >= after && (i == 0 || h >= o.HostTSC) && (i == len(l)-1 || h < l[i+1].HostTSC) {
			return h, true
		}
	}
	// Nothing consistent (lost offset event): the latest offset.
	o := &l[len(l)-1]
	return HostTSC(g, o.Offset, o.Ratio, o.Frac), true
}

// TSCPair is one (host TSC, host trace clock ns) sample.
type TSCPair struct {
	TSC uint64 `json:"tsc"`
	NS  int64  `json:"ns"`
}

// TSCClock puts host TSC values on the host's trace clock by linear
// interpolation between pairs (extrapolation outside), since the trace
// clock (CLOCK_MONOTONIC) is slewed by NTP and one line is not enough.
type TSCClock struct {
	Pairs []TSCPair // sorted by TSC
}

// Add adds a pair; pairs must come in increasing TSC order.
func (c *TSCClock) Add(p TSCPair) { c.Pairs = append(c.Pairs, p) }

// NS returns the trace-clock time of host TSC v.
func (c *TSCClock) NS(v uint64) int64 {
	n := len(c.Pairs)
	switch n {
	case 0:
		return int64(v)
	case 1:
		return c.Pairs[0].NS + int64(v-c.Pairs[0].TSC)
	}
	i := sort.Search(n, func(i int) bool { return c.Pairs[i].TSC > v })
	i = min(max(i, 1), n-1)
	p, q := c.Pairs[i-1], c.Pairs[i]
	dt := float64(q.NS-p.NS) / float64(q.TSC-p.TSC)
	return p.NS + int64(float64(int64(v-p.TSC))*dt+0.5*sign(int64(v-p.TSC)))
}

func sign(v int64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}

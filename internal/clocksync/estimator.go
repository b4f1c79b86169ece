package clocksync

import (
	"fmt"
	"math"
)

// Sample is one message exchange, each time in its own trace clock
// (nanoseconds): the host sent at T1, the guest received at T2 and replied
// at T3, the host received at T4.
type Sample struct {
	Seq uint32 `json:"seq"`
	T1  int64  `json:"t1"`
	T2  int64  `json:"t2"`
	T3  int64  `json:"t3"`
	T4  int64  `json:"t4"`
}

// Quality says how much a fit can be trusted.
type Quality uint8

const (
	// QualityNone: no sample.
	QualityNone Quality = iota
	// QualityOneWay: constraints in one direction only; the offset is
	// bounded on one side.
	QualityOneWay
	// QualityApproximate: both directions, but the slope is not bounded
	// yet (a single exchange): a = 1 is assumed where it is feasible.
	QualityApproximate
	// QualityAccurate: slope and offset bounded on both sides.
	QualityAccurate
	// QualityFailed: the constraints contradict each other (a bad sample,
	// or a clock that is not linear): no line fits.
	QualityFailed
)

func (q Quality) String() string {
	switch q {
	case QualityNone:
		return "none"
	case QualityOneWay:
		return "one-way"
	case QualityApproximate:
		return "approximate"
	case QualityAccurate:
		return "accurate"
	case QualityFailed:
		return "failed"
	}
	return fmt.Sprintf("quality(%d)", uint8(q))
}

// Fit is the state of one segment: H(g) = H0 + A·(g − G0) + B, with the
// feasible slopes [AMin, AMax] and, for slope A, the feasible offsets
// [BLo, BHi] (B is their middle).
type Fit struct {
	Quality    Quality
	G0, H0     int64 // origin: T2 and T1 of the segment's first sample
	A          float64
	AMin, AMax float64 // 1 ∓ MaxSkew when not bounded by the samples
	B          float64 // ns at g = G0
	BLo, BHi   float64
	GMin, GMax int64 // guest times spanned by the samples
	N          int   // samples
}

// Map returns the host time of guest time g on the fitted line.
func (f Fit) Map(g int64) int64 {
	return f.H0 + int64(math.Round(f.A*float64(g-f.G0)+f.B))
}

// Bound returns the half-width of the offset interval at the fitted slope,
// (BHi − BLo)/2, the figure to show next to the tier ("C ±84µs").
func (f Fit) Bound() float64 { return (f.BHi - f.BLo) / 2 }

// MaxSkew bounds the slope: |a − 1| ≤ MaxSkew (1 %).
const MaxSkew = 0.01

// Estimator fits one segment incrementally (see the package comment).
type Estimator struct {
	origin     bool
	g0, h0     int64
	lo, up     hull // lo: upper hull of lower points; up: lower hull of upper points
	gmin, gmax int64
	n          int
	fit        Fit
}

// NewEstimator returns an empty estimator.
func NewEstimator() *Estimator {
	e := &Estimator{}
	e.lo.upper = true
	return e
}

func (e *Estimator) clone() *Estimator {
	c := *e
	c.lo.pts = append([]point(nil), e.lo.pts...)
	c.up.pts = append([]point(nil), e.up.pts...)
	return &c
}

// Add adds one exchange and refits. A sample with T3 < T2 or T4 < T1 is
// refused with an error. The returned quality is QualityFailed when the
// new sample contradicts the earlier ones; the estimator is then left as
// it was before the sample.
func (e *Estimator) Add(s Sample) (Quality, error) {
	if s.T3 < s.T2 || s.T4 < s.T1 {
		return e.fit.Quality, fmt.Errorf("clocksync: sample %d goes back in time (t1 %d t2 %d t3 %d t4 %d)", s.Seq, s.T1, s.T2, s.T3, s.T4)
	}
	old := e.clone()
	if !e.origin {
		e.origin, e.g0, e.h0, e.gmin, e.gmax = true, s.T2, s.T1, s.T2, s.T3
	}
	e.lo.add(point{s.T2 - e.g0, s.T1 - e.h0})
	e.up.add(point{s.T3 - e.g0, s.T4 - e.h0})
	e.gmin, e.gmax = min(e.gmin, s.T2), max(e.gmax, s.T3)
	e.n++
	f := e.compute()
	if f.Quality == QualityFailed {
		*e = *old
		return QualityFailed, nil
	}
	e.fit = f
	return f.Quality, nil
}

// Fit returns the current fit.
func (e *Estimator) Fit() Fit { return e.fit }

// Range returns the interval of host times that every line still feasible
// gives for guest time g: the truth lies inside. It is exact for the
// constraints seen (the feasible polygon's extremes at g).
func (e *Estimator) Range(g int64) (lo, hi float64) {
	f := &e.fit
	x := float64(g - e.g0)
	if f.Quality != QualityAccurate && f.Quality != QualityApproximate {
		return math.Inf(-1), math.Inf(1)
	}
	// a·x + bHi(a) is concave in a, a·x + bLo(a) convex: their extremes
	// over [AMin, AMax] are at the ends or at the slopes of hull edges.
	lo, hi = math.Inf(1), math.Inf(-1)
	try := func(a float64) {
		if a < f.AMin || a > f.AMax {
			return
		}
		bl, bh := e.lo.extreme(a), e.up.extreme(a)
		if bl > bh {
			bl, bh = (bl+bh)/2, (bl+bh)/2 // rounding at the ends of the interval
		}
		lo, hi = math.Min(lo, a*x+bl), math.Max(hi, a*x+bh)
	}
	try(f.AMin)
	try(f.AMax)
	for _, h := range []*hull{&e.lo, &e.up} {
		for i := 1; i < len(h.pts); i++ {
			p, q := h.pts[i-1], h.pts[i]
			try(float64(q.y-p.y) / float64(q.x-p.x))
		}
	}
	return lo + float64(e.h0), hi + float64(e.h0)
}

// gap is bHi(a) − bLo(a): feasible slopes have gap ≥ 0.
func (e *Estimator) gap(a float64) float64 { return e.up.extreme(a) - e.lo.extreme(a) }

func (e *Estimator) compute() Fit {
	f := Fit{G0: e.g0, H0: e.h0, GMin: e.gmin, GMax: e.gmax, N: e.n,
		AMin: math.Inf(-1), AMax: math.Inf(1), A: 1}
	if len(e.lo.pts) == 0 && len(e.up.pts) == 0 {
		return f
	}
	if len(e.lo.pts) == 0 || len(e.up.pts) == 0 {
		f.Quality = QualityOneWay
		f.BLo, f.BHi = e.lo.extreme(1), e.up.extreme(1)
		return f
	}
	var span float64
	for _, h := range []*hull{&e.lo, &e.up} {
		for _, p := range h.pts {
			span = math.Max(span, math.Abs(float64(p.x)))
		}
	}
	tol := 1e-3 + 1e-13*span // rounding of a·x for |x| up to span
	// Slopes are searched within [1 − MaxSkew, 1 + MaxSkew]: two trace
	// clocks ticking in nanoseconds never differ by more, and without this
	// two exchanges, one of them corrupted, would fit a wild slope. A
	// finite end of the feasible interval inside is the slope of a line
	// through one vertex of each hull.
	lim0, lim1 := 1-MaxSkew, 1+MaxSkew
	amin, amax := math.Inf(1), math.Inf(-1)
	try := func(a float64) {
		if a >= lim0 && a <= lim1 && e.gap(a) >= -tol {
			amin, amax = math.Min(amin, a), math.Max(amax, a)
		}
	}
	try(lim0)
	try(lim1)
	for _, l := range e.lo.pts {
		for _, u := range e.up.pts {
			if l.x != u.x {
				try(float64(u.y-l.y) / float64(u.x-l.x))
			}
		}
	}
	if amin > amax {
		f.Quality = QualityFailed
		return f
	}
	f.AMin, f.AMax = amin, amax
	if amin == lim0 || amax == lim1 {
		// Not bounded by the samples yet (one exchange, or all in a
		// tiny span): a = 1 where feasible.
		f.Quality = QualityApproximate
		f.A = math.Min(math.Max(1, amin), amax)
	} else {
		f.Quality = QualityAccurate
		f.A = (amin + amax) / 2
	}
	f.BLo, f.BHi = e.lo.extreme(f.A), e.up.extreme(f.A)
	if f.BLo > f.BHi { // within rounding (a single feasible slope)
		f.BLo, f.BHi = (f.BLo+f.BHi)/2, (f.BLo+f.BHi)/2
	}
	f.B = (f.BLo + f.BHi) / 2
	return f
}

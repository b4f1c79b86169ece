package clocksync

import (
	"math"
	"math/rand/v2"
	"testing"
)

// truth is a ground-truth clock relation H(g) = a·g + b with random
// message delays.
type truth struct {
	a   float64
	b   float64
	rng *rand.Rand
	h   float64 // host time of the next exchange
}

func (tr *truth) host(g int64) float64  { return tr.a*float64(g) + tr.b }
func (tr *truth) guest(h float64) int64 { return int64(math.Ceil((h - tr.b) / tr.a)) }

// exchange makes one ping at host time tr.h: delays of 60 µs plus an
// exponential queueing part, 5 µs in the guest.
func (tr *truth) exchange(seq uint32) Sample {
	t1 := int64(tr.h)
	d1 := 60e3 + tr.rng.ExpFloat64()*100e3
	t2 := tr.guest(float64(t1) + d1)
	t3 := t2 + 5000
	d2 := 60e3 + tr.rng.ExpFloat64()*100e3
	t4 := int64(math.Ceil(tr.host(t3) + d2))
	tr.h += 2e6
	return Sample{Seq: seq, T1: t1, T2: t2, T3: t3, T4: t4}
}

func newTruth(seed uint64) *truth {
	return &truth{a: 1 + 57e-6, b: 1969704987391, rng: rand.New(rand.NewPCG(seed, 1)), h: 1971e9}
}

func TestTierCContainsTruth(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		tr := newTruth(seed)
		var s Sync
		var first Sample
		prevW := math.Inf(1)
		accurateAt := -1
		var probe int64
		for i := range 300 {
			x := tr.exchange(uint32(i))
			if i == 0 {
				first = x
				probe = x.T2 + 300e6 // inside the span once enough samples exist
			}
			q, err := s.Add(x)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case i == 0 && q != QualityApproximate:
				t.Fatalf("seed %d: quality after one exchange %v, want approximate", seed, q)
			case q == QualityAccurate && accurateAt < 0:
				accurateAt = i
			case q != QualityAccurate && accurateAt >= 0:
				t.Fatalf("seed %d sample %d: quality %v after accurate", seed, i, q)
			case i == 299 && q != QualityAccurate:
				t.Fatalf("seed %d: never accurate", seed)
			}
			f := s.Fit()
			if tr.a < f.AMin || tr.a > f.AMax {
				t.Fatalf("seed %d sample %d: true slope %.9f outside [%.9f, %.9f]", seed, i, tr.a, f.AMin, f.AMax)
			}
			e := s.segs[0]
			// The true offset at the true slope is feasible.
			bTrue := tr.host(f.G0) - float64(f.H0)
			if bl, bh := e.lo.extreme(tr.a), e.up.extreme(tr.a); bTrue < bl-1 || bTrue > bh+1 {
				t.Fatalf("seed %d sample %d: true offset %.1f outside [%.1f, %.1f]", seed, i, bTrue, bl, bh)
			}
			// Truth inside the reported interval everywhere in the span,
			// and the interval at a fixed time never widens.
			for _, g := range []int64{first.T2, (first.T2 + x.T3) / 2, x.T3, probe} {
				lo, hi := e.Range(g)
				if h := tr.host(g); h < lo-1 || h > hi+1 {
					t.Fatalf("seed %d sample %d: H(%d)=%.0f outside [%.0f, %.0f]", seed, i, g, h, lo, hi)
				}
				h, bound := s.Map(g)
				if d := math.Abs(float64(h) - tr.host(g)); d > bound+1 {
					t.Fatalf("seed %d sample %d: Map error %.0f ns beyond its bound %.0f", seed, i, d, bound)
				}
			}
			lo, hi := e.Range(probe)
			if w := hi - lo; w > prevW+1e-3 {
				t.Fatalf("seed %d sample %d: interval at a fixed time widened %.1f -> %.1f", seed, i, prevW, w)
			} else {
				prevW = w
			}
		}
		f := s.Fit()
		if f.Bound() > 100e3 || f.AMax-f.AMin > 1000e-6 {
			t.Errorf("seed %d: after 300 exchanges bound ±%.0f ns, slope width %.1f ppm", seed, f.Bound(), (f.AMax-f.AMin)*1e6)
		}
		if n := len(s.segs[0].lo.pts) + len(s.segs[0].up.pts); n > 80 {
			t.Errorf("seed %d: hulls keep %d points of 600", seed, n)
		}
		t.Logf("seed %d: accurate after %d exchanges; a∈[%.9f, %.9f] bound ±%.1f µs, hull %d+%d points", seed, accurateAt+1, f.AMin, f.AMax, f.Bound()/1e3, len(s.segs[0].lo.pts), len(s.segs[0].up.pts))
	}
}

func TestBoundShrinks(t *testing.T) {
	tr := newTruth(7)
	var s Sync
	var bounds []float64
	for i := range 400 {
		s.Add(tr.exchange(uint32(i)))
		if i == 9 || i == 49 || i == 399 {
			bounds = append(bounds, s.Fit().Bound())
		}
	}
	if !(bounds[0] > bounds[1] && bounds[1] > bounds[2]) {
		t.Errorf("bound after 10, 50, 400 exchanges: %.0f %.0f %.0f ns, want decreasing", bounds[0], bounds[1], bounds[2])
	}
}

func TestCorruptedSample(t *testing.T) {
	for _, c := range []struct {
		name    string
		corrupt func(*Sample)
	}{
		// A reply seen 1 µs after the ping left, with the guest's times
		// late: impossible on its own.
		{"impossible alone", func(x *Sample) { x.T4 = x.T1 + 1000; x.T2 += 2e6; x.T3 += 2e6 }},
		// Host times 3 ms early: consistent alone, not with the others.
		{"host times early", func(x *Sample) { x.T1 -= 3e6; x.T4 -= 3e6 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := newTruth(3)
			var s Sync
			for i := range 50 {
				s.Add(tr.exchange(uint32(i)))
			}
			bad := tr.exchange(50)
			c.corrupt(&bad)
			q, err := s.Add(bad)
			if err != nil {
				t.Fatal(err)
			}
			if q != QualityFailed {
				t.Fatalf("corrupted sample: quality %v, want failed", q)
			}
			// The last good fit still maps guest times before the sample.
			g := s.Samples[20].T2
			if h, bound := s.Map(g); math.Abs(float64(h)-tr.host(g)) > bound+1 {
				t.Fatalf("after the failure, Map is off by %.0f ns (bound %.0f)", float64(h)-tr.host(g), bound)
			}
			// The next good sample shows the bad one was alone.
			q, _ = s.Add(tr.exchange(51))
			if q != QualityAccurate || len(s.Segments()) != 1 || s.Outliers != 1 {
				t.Fatalf("after a good sample: quality %v, %d segments, %d outliers; want accurate, 1, 1", q, len(s.Segments()), s.Outliers)
			}
		})
	}
}

func TestClockStepStartsSegment(t *testing.T) {
	tr := newTruth(4)
	var s Sync
	for i := range 100 {
		s.Add(tr.exchange(uint32(i)))
	}
	gStep := tr.guest(tr.h)
	before := *tr
	tr.b += 5e6 // the guest clock steps back 5 ms (host sees its times 5 ms later)
	fails := 0
	for i := 100; i < 200; i++ {
		if q, _ := s.Add(tr.exchange(uint32(i))); q == QualityFailed {
			fails++
		}
	}
	segs := s.Segments()
	if len(segs) != 2 || fails != 1 {
		t.Fatalf("clock step: %d segments, %d failed adds; want 2 and 1", len(segs), fails)
	}
	for _, c := range []struct {
		tr *truth
		g  int64
	}{{&before, gStep - 100e6}, {tr, s.Samples[150].T2}} {
		h, bound := s.Map(c.g)
		if d := math.Abs(float64(h) - c.tr.host(c.g)); d > bound+1 || segs[1].Quality != QualityAccurate {
			t.Errorf("g=%d: error %.0f ns, bound %.0f, quality %v", c.g, d, bound, segs[1].Quality)
		}
	}
}

func TestBadSampleRefused(t *testing.T) {
	var s Sync
	if _, err := s.Add(Sample{T1: 10, T2: 5, T3: 4, T4: 20}); err == nil {
		t.Fatal("t3 < t2 accepted")
	}
	if q, _ := s.Add(Sample{T1: 10, T2: 5, T3: 6, T4: 20}); q != QualityApproximate {
		t.Fatalf("one exchange: %v", q)
	}
	f := s.Fit()
	// a = 1, b in [t1 − t2, t4 − t3] = [5, 14] (relative to the origin
	// (t2, t1) = (5, 10): [0, 9]).
	if f.A != 1 || f.H0-f.G0+int64(f.BLo) != 5 || f.H0-f.G0+int64(f.BHi) != 14 {
		t.Fatalf("approximate fit %+v, want a=1 b∈[5,14]", f)
	}
}

func TestCrossExact(t *testing.T) {
	// Products past int64: 3e12 · 4e12.
	o := point{0, 0}
	a := point{3e12, 4e12 + 1}
	b := point{6e12, 8e12 + 2}
	if c := cross(o, a, b); c != 0 {
		t.Fatalf("collinear points: cross sign %d", c)
	}
	b.y++
	if c := cross(o, a, b); c != 1 {
		t.Fatalf("left turn: cross sign %d", c)
	}
}

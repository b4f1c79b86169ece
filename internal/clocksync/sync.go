package clocksync

import (
	"math"
	"sort"
)

// Sync is a piecewise tier-C transform: a list of segments, each fitted by
// its own Estimator. A sample that contradicts the current segment starts
// a new one, unless it is a lone outlier: when the segment it started
// contradicts the very next sample while the previous segment accepts
// that sample, the outlier is dropped (counted in Outliers) and the
// previous segment goes on.
type Sync struct {
	segs     []*Estimator
	Failures int      // samples that started a new segment
	Outliers int      // samples dropped: lone outliers, or impossible alone
	Samples  []Sample // every sample added, in order
}

// Add adds one exchange and returns the quality of the current segment,
// or QualityFailed when the sample contradicted it (a new segment then
// starts with the sample).
func (s *Sync) Add(x Sample) (Quality, error) {
	if len(s.segs) == 0 {
		s.segs = append(s.segs, NewEstimator())
	}
	cur := s.segs[len(s.segs)-1]
	q, err := cur.Add(x)
	if err != nil {
		return q, err
	}
	s.Samples = append(s.Samples, x)
	if q != QualityFailed {
		return q, nil
	}
	if cur.n == 1 && len(s.segs) >= 2 {
		prev := s.segs[len(s.segs)-2]
		if q2, _ := prev.clone().Add(x); q2 != QualityFailed {
			prev.Add(x)
			s.segs = s.segs[:len(s.segs)-1]
			s.Failures--
			s.Outliers++
			return prev.fit.Quality, nil
		}
	}
	ne := NewEstimator()
	if q, _ := ne.Add(x); q == QualityFailed {
		// Impossible on its own (a reply faster than the skew allows).
		s.Outliers++
		return QualityFailed, nil
	}
	s.segs = append(s.segs, ne)
	s.Failures++
	return QualityFailed, nil
}

// Fit returns the fit of the current (last) segment.
func (s *Sync) Fit() Fit {
	if len(s.segs) == 0 {
		return Fit{}
	}
	return s.segs[len(s.segs)-1].fit
}

// Segments returns the fit of every segment, oldest first.
func (s *Sync) Segments() []Fit {
	fs := make([]Fit, len(s.segs))
	for i, e := range s.segs {
		fs[i] = e.fit
	}
	return fs
}

// segment returns the estimator for guest time g: the last segment
// starting at or before g (the first one before every segment).
func (s *Sync) segment(g int64) *Estimator {
	if len(s.segs) == 0 {
		return nil
	}
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].gmin > g })
	if i > 0 {
		i--
	}
	// A segment with nothing usable (one-way) yields to its neighbour.
	for i > 0 && s.segs[i].fit.Quality < QualityApproximate {
		i--
	}
	return s.segs[i]
}

// Map returns the host time of guest time g and the half-width of the
// interval the truth lies in, as far as the samples tell (+Inf when
// nothing is known).
func (s *Sync) Map(g int64) (h int64, bound float64) {
	e := s.segment(g)
	if e == nil || e.fit.Quality < QualityApproximate {
		return g, math.Inf(1)
	}
	h = e.fit.Map(g)
	lo, hi := e.Range(g)
	return h, max(float64(h)-lo, hi-float64(h))
}

// Replay builds a Sync from recorded samples, as they were added.
func Replay(samples []Sample) (*Sync, error) {
	s := &Sync{}
	for _, x := range samples {
		if _, err := s.Add(x); err != nil {
			return nil, err
		}
	}
	return s, nil
}

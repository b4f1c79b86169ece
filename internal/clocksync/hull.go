package clocksync

import (
	"math"
	"math/bits"
	"sort"
)

// point is a constraint in coordinates relative to the estimator's origin:
// x guest nanoseconds, y host nanoseconds.
type point struct{ x, y int64 }

// cross returns the sign of (a−o)×(b−o), computed exactly with 128-bit
// products: coordinates of long sessions (1e12 ns) overflow int64 products.
func cross(o, a, b point) int {
	p1h, p1l := mul128(a.x-o.x, b.y-o.y)
	p2h, p2l := mul128(a.y-o.y, b.x-o.x)
	switch {
	case p1h != p2h:
		if p1h > p2h {
			return 1
		}
		return -1
	case p1l != p2l:
		if p1l > p2l {
			return 1
		}
		return -1
	}
	return 0
}

// mul128 returns a·b as a signed 128-bit value (high word signed).
func mul128(a, b int64) (int64, uint64) {
	neg := (a < 0) != (b < 0)
	ua, ub := uabs(a), uabs(b)
	hi, lo := bits.Mul64(ua, ub)
	if neg {
		lo = ^lo + 1
		hi = ^hi
		if lo == 0 {
			hi++
		}
	}
	return int64(hi), lo
}

func uabs(v int64) uint64 {
	if v < 0 {
		return uint64(-v)
	}
	return uint64(v)
}

// hull is one half of a convex hull over points sorted by x, kept by the
// monotone chain: upper (the line must pass above every point: lower
// constraints) or lower (the line must pass below: upper constraints).
// Points strictly inside can never bind a line that is feasible for the
// hull, so they are dropped and the hull stays small.
type hull struct {
	upper bool
	pts   []point
}

// bad reports whether b makes the middle point a useless.
func (h *hull) bad(o, a, b point) bool {
	c := cross(o, a, b)
	if h.upper {
		return c >= 0
	}
	return c <= 0
}

func (h *hull) add(p point) {
	n := len(h.pts)
	if n > 0 && p.x < h.pts[n-1].x {
		// Out of order (a sample older than the last): rebuild from the
		// hull's own vertices, which is the hull of every point so far.
		pts := append(append([]point(nil), h.pts...), p)
		sort.Slice(pts, func(i, j int) bool {
			if pts[i].x != pts[j].x {
				return pts[i].x < pts[j].x
			}
			return pts[i].y < pts[j].y
		})
		h.pts = h.pts[:0]
		for _, q := range pts {
			h.push(q)
		}
		return
	}
	h.push(p)
}

func (h *hull) push(p point) {
	n := len(h.pts)
	if n > 0 && h.pts[n-1].x == p.x {
		// Same x: only the most constraining y matters.
		last := h.pts[n-1]
		if (h.upper && p.y <= last.y) || (!h.upper && p.y >= last.y) {
			return
		}
		h.pts = h.pts[:n-1]
		n--
	}
	for n >= 2 && h.bad(h.pts[n-2], h.pts[n-1], p) {
		h.pts = h.pts[:n-1]
		n--
	}
	h.pts = append(h.pts, p)
}

// extreme returns max (upper hull) or min (lower hull) of y − a·x over the
// vertices: the tightest intercept bound for slope a.
func (h *hull) extreme(a float64) float64 {
	best := math.Inf(-1)
	if !h.upper {
		best = math.Inf(1)
	}
	for _, p := range h.pts {
		v := float64(p.y) - a*float64(p.x)
		if h.upper && v > best || !h.upper && v < best {
			best = v
		}
	}
	return best
}

// Package clocksync maps guest trace timestamps onto the host's trace clock,
// with an error bound.
//
// Tier C (always available) fits H(g) = a·g + b from message exchanges: the
// host sends ping k at host time t1, the guest takes t2 on receipt and t3
// just before replying, the host takes t4 on receipt. Each exchange gives
// two constraints, H(t2) > t1 and H(t3) < t4. An Estimator keeps the upper
// convex hull of the "lower" points (t2, t1) and the lower convex hull of
// the "upper" points (t3, t4) incrementally; the feasible lines lie between
// them, and the fit reports the slope interval [AMin, AMax], the offset
// interval [BLo, BHi] at the mid slope, and a Quality. A sample that makes
// the hulls overlap (a corrupted sample, or a clock that stepped) fails
// the current segment: a Sync starts a new segment, so the transform is
// piecewise and never silently wrong.
//
//	var s clocksync.Sync
//	for _, x := range exchanges {
//		s.Add(clocksync.Sample{T1: x.t1, T2: x.t2, T3: x.t3, T4: x.t4})
//	}
//	f := s.Fit()                      // the current segment
//	fmt.Println(f.Quality, f.Bound()) // accurate ±84µs
//	h, bound := s.Map(guestTime)      // host time of a guest timestamp
//
// Tier A (KVM, exact) inverts KVM's TSC offsetting and scaling,
// G = ((H·ratio) >> frac) + off, with 128-bit intermediates:
//
//	h := clocksync.HostTSC(g, offset, ratio, frac) // ((g − off) << frac) / ratio
//
// TSCOffsets keeps the offset changes of each vCPU (kvm_write_tsc_offset)
// and picks the one valid at each guest timestamp; TSCClock interpolates
// host (TSC, CLOCK_MONOTONIC) pairs to put host TSC values on the host's
// trace axis.
package clocksync

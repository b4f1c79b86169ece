package ftrace

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestMonoNow checks MonoNow against clock_gettime(CLOCK_MONOTONIC): a
// MonoNow read between two clock_gettime calls lies between them, give or
// take the start-up pairing error (under a microsecond), for the tightest of
// many tries (a try may be preempted).
func TestMonoNow(t *testing.T) {
	best := int64(1 << 62)
	var worst int64
	for i := 0; i < 2000; i++ {
		var a, b unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &a); err != nil {
			t.Skip("clock_gettime:", err)
		}
		m := MonoNow()
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &b)
		// distance of m outside [a, b]
		out := int64(0)
		if m < a.Nano() {
			out = a.Nano() - m
		} else if m > b.Nano() {
			out = m - b.Nano()
		}
		if w := b.Nano() - a.Nano(); w < best {
			best = w
			worst = out
		}
	}
	t.Logf("MonoNow outside the tightest clock_gettime pair (%d ns wide) by %d ns", best, worst)
	if worst > 1000 {
		t.Errorf("MonoNow is %d ns away from CLOCK_MONOTONIC (want under 1 µs)", worst)
	}
	// It never goes back.
	last := MonoNow()
	for i := 0; i < 10000; i++ {
		m := MonoNow()
		if m < last {
			t.Fatalf("MonoNow went back: %d after %d", m, last)
		}
		last = m
	}
}

func BenchmarkMonoNow(b *testing.B) {
	var s int64
	for i := 0; i < b.N; i++ {
		s += MonoNow()
	}
	_ = s
}

func BenchmarkClockGettime(b *testing.B) {
	var ts unix.Timespec
	for i := 0; i < b.N; i++ {
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	}
}

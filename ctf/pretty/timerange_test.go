package pretty

import (
	"testing"
	"time"
)

func TestParseBound(t *testing.T) {
	first := int64(1795639113348191803) // 2026-11-25 20:38:33.348191803 UTC
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"1795639113.35", 1795639113350000000},
		{"-1.5", -1500000000},
		{"12", 12e9},
		{"20:38:33.35", 1795639113350000000},
		{"20:38", 1795639080000000000},
		{"2026-11-25 20:38:33.000000001", 1795639113000000001},
		{"2026-11-24 00:00", 1795478400000000000},
	} {
		b, err := ParseBound(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got := b.NS(first, time.UTC); got != c.want {
			t.Errorf("%q: got %d want %d", c.in, got, c.want)
		}
	}
	for _, bad := range []string{"", "x", "1.2.3", "25:00", "12:3a", "1.0123456789", "2026-1 10:00"} {
		if _, err := ParseBound(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

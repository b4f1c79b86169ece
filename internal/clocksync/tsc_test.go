package clocksync

import (
	"math/rand/v2"
	"testing"
)

func TestHostTSCInverts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name  string
		ratio uint64
		frac  uint
	}{
		{"no scaling", 0, 0},
		{"Intel identity ratio", 1 << 48, 48},
		{"Intel guest 1.25x faster", 1<<48 + 1<<46, 48},
		{"AMD guest 0.8x", (1 << 32) * 4 / 5, 32},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for range 10000 {
				h := rng.Uint64() >> 8 // a host TSC (years of cycles)
				off := int64(rng.Uint64()>>16) - 1<<46
				g := GuestTSC(h, off, c.ratio, c.frac)
				got := HostTSC(g, off, c.ratio, c.frac)
				if c.ratio == 0 || c.ratio == 1<<c.frac {
					if got != h {
						t.Fatalf("h %d off %d: got %d", h, off, got)
					}
					continue
				}
				// Exact: the recovered host time is the first host cycle
				// showing that guest TSC (the same cycle when the guest
				// runs faster than the host).
				exact := got == h || c.ratio < 1<<c.frac && got < h && h-got <= (1<<c.frac)/c.ratio
				if GuestTSC(got, off, c.ratio, c.frac) != g || !exact || got > 0 && GuestTSC(got-1, off, c.ratio, c.frac) == g {
					t.Fatalf("h %d off %d g %d: got %d", h, off, g, got)
				}
			}
		})
	}
}

func TestTSCOffsetsChangeMidTrace(t *testing.T) {
	// vCPUs with sparse ids (APIC ids 0 and 6); the offset of vCPU 6
	// changes at host TSC 5e9 (guest TSC written back by 1e9 cycles).
	var o TSCOffsets
	o.Add(TSCOffset{VCPU: 0, HostTSC: 0, Offset: -1e12})
	o.Add(TSCOffset{VCPU: 6, HostTSC: 5e9, Offset: -1e12 - 1e9})
	o.Add(TSCOffset{VCPU: 6, HostTSC: 0, Offset: -1e12})
	o.Add(TSCOffset{VCPU: 3, HostTSC: 0, Offset: 7e9, Ratio: 3 << 47, Frac: 48}) // scaled 1.5x
	prev := map[uint32]uint64{}
	for h := uint64(1e9); h < 1e10; h += 123456789 {
		for _, v := range []uint32{0, 6, 3} {
			var off int64 = -1e12
			var ratio uint64
			var frac uint
			switch {
			case v == 6 && h >= 5e9:
				off = -1e12 - 1e9
			case v == 3:
				off, ratio, frac = 7e9, 3<<47, 48
			}
			g := GuestTSC(h, off, ratio, frac)
			got, ok := o.Host(v, g, prev[v])
			prev[v] = got
			if !ok || got != h {
				t.Fatalf("vcpu %d host %d (guest %d): got %d", v, h, g, got)
			}
		}
	}
	if _, ok := o.Host(1, 5, 0); ok {
		t.Fatal("a vCPU without offsets mapped")
	}
}

func TestTSCClock(t *testing.T) {
	var c TSCClock
	// 3 GHz TSC, mono slewed by +100 ppm after the second pair.
	c.Add(TSCPair{TSC: 3e9, NS: 1e9})
	c.Add(TSCPair{TSC: 6e9, NS: 2e9})
	c.Add(TSCPair{TSC: 9e9, NS: 3e9 + 100e3})
	for _, x := range []struct {
		tsc uint64
		ns  int64
	}{{4.5e9, 1.5e9}, {7.5e9, 2.5e9 + 50e3}, {0, 0}, {12e9, 4e9 + 200e3}} {
		if got := c.NS(x.tsc); got != x.ns {
			t.Errorf("NS(%d) = %d, want %d", x.tsc, got, x.ns)
		}
	}
}

package perf

import (
	"errors"
	"strings"
	"testing"

	"github.com/tracetop/tracetop/internal/testenv"
)

func TestParseContext(t *testing.T) {
	tests := []struct {
		in, field string
		thread    bool
	}{
		{"perf:cpu:page-fault", "perf_cpu_page_fault", false},
		{"perf:thread:context-switches", "perf_thread_context_switches", true},
		{"perf:cpu:cpu-cycles", "perf_cpu_cpu_cycles", false},
		{"perf:major-faults", "perf_cpu_major_faults", false},
	}
	for _, tc := range tests {
		s, ok, err := ParseContext(tc.in)
		if !ok || err != nil || s.Field() != tc.field || s.PerThread != tc.thread {
			t.Errorf("%s: %+v %v %v, want field %s thread %v", tc.in, s, ok, err, tc.field, tc.thread)
		}
	}
	if _, ok, _ := ParseContext("vpid"); ok {
		t.Error("vpid is a perf context")
	}
	if _, _, err := ParseContext("perf:cpu:no-such"); err == nil || !strings.Contains(err.Error(), "unknown perf counter") {
		t.Errorf("unknown counter: %v", err)
	}
}

// Software counters count here; a hardware counter either counts or says
// clearly that the machine has no PMU (this one has none).
func TestOpenCounters(t *testing.T) {
	testenv.Root(t)
	for _, n := range []string{"page-fault", "context-switches", "cpu-migrations", "cpu-clock", "task-clock", "minor-faults", "major-faults"} {
		c, _ := Lookup(n)
		fd, err := OpenCPU(c, firstCPU())
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if _, err := fd.Read(); err != nil {
			t.Errorf("%s: %v", n, err)
		}
		fd.Close()
	}
	for _, n := range []string{"cpu-cycles", "instructions", "cache-misses", "branch-misses"} {
		c, _ := Lookup(n)
		err := c.Check()
		t.Logf("%s: %v", n, err)
		if err != nil && (!errors.Is(err, ErrNotAvailable) || !strings.Contains(err.Error(), "not available on this machine (no hardware PMU)")) {
			t.Errorf("%s: %v", n, err)
		}
	}
}

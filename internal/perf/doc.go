// Package perf opens the kernel's perf counters (perf_event_open) that
// lttng add-context -t perf:cpu:NAME and perf:thread:NAME name: software
// counters (page-fault, context-switches, cpu-migrations, cpu-clock,
// task-clock, minor-faults, major-faults …) and hardware ones
// (cpu-cycles, instructions, cache-misses, branch-misses …) where the
// machine has a PMU.
//
// A counter is opened once per CPU, counting everything that runs there;
// the recorder's BPF programs read it with bpf_perf_event_read_value at
// each event and, for per-thread values, keep each thread's share at
// context switches.
//
//	c, err := perf.Lookup("page-fault")
//	if err != nil { … }              // unknown name
//	if err := c.Check(); err != nil { // "perf counter cpu-cycles is not available on this machine (no hardware PMU)"
//		…
//	}
//	fd, err := perf.OpenCPU(c, 0)
//	defer fd.Close()
//	n, _ := fd.Read()
package perf

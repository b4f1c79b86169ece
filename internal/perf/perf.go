package perf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNotAvailable is matched (errors.Is) by the error of a counter this
// machine cannot count.
var ErrNotAvailable = errors.New("perf counter not available")

// unavailable is the error of a counter that cannot be opened; it matches
// ErrNotAvailable.
type unavailable struct{ msg string }

func (e *unavailable) Error() string        { return e.msg }
func (e *unavailable) Is(target error) bool { return target == ErrNotAvailable }

func notAvailable(format string, args ...any) error {
	return &unavailable{fmt.Sprintf(format, args...)}
}

// Counter is one perf counter known by its lttng name.
type Counter struct {
	Name   string // lttng's name: "page-fault", "cpu-cycles"
	Type   uint32 // unix.PERF_TYPE_SOFTWARE or unix.PERF_TYPE_HARDWARE
	Config uint64
}

// Hardware reports whether the counter needs the CPU's PMU.
func (c Counter) Hardware() bool { return c.Type == unix.PERF_TYPE_HARDWARE }

// Field returns the context field name of the counter for a scope ("cpu"
// or "thread"), as LTTng writes it: perf_cpu_page_fault.
func (c Counter) Field(scope string) string {
	return "perf_" + scope + "_" + strings.NewReplacer("-", "_", ":", "_").Replace(c.Name)
}

// counters lists lttng's perf counter names (lttng add-context --list),
// aliases included.
var counters = map[string]Counter{}

func init() {
	hw := func(cfg uint64, names ...string) {
		for _, n := range names {
			counters[n] = Counter{Name: n, Type: unix.PERF_TYPE_HARDWARE, Config: cfg}
		}
	}
	sw := func(cfg uint64, names ...string) {
		for _, n := range names {
			counters[n] = Counter{Name: n, Type: unix.PERF_TYPE_SOFTWARE, Config: cfg}
		}
	}
	hw(unix.PERF_COUNT_HW_CPU_CYCLES, "cpu-cycles", "cycles")
	hw(unix.PERF_COUNT_HW_INSTRUCTIONS, "instructions")
	hw(unix.PERF_COUNT_HW_CACHE_REFERENCES, "cache-references")
	hw(unix.PERF_COUNT_HW_CACHE_MISSES, "cache-misses")
	hw(unix.PERF_COUNT_HW_BRANCH_INSTRUCTIONS, "branch-instructions", "branches")
	hw(unix.PERF_COUNT_HW_BRANCH_MISSES, "branch-misses")
	hw(unix.PERF_COUNT_HW_BUS_CYCLES, "bus-cycles")
	hw(unix.PERF_COUNT_HW_STALLED_CYCLES_FRONTEND, "stalled-cycles-frontend", "idle-cycles-frontend")
	hw(unix.PERF_COUNT_HW_STALLED_CYCLES_BACKEND, "stalled-cycles-backend", "idle-cycles-backend")
	hw(unix.PERF_COUNT_HW_REF_CPU_CYCLES, "ref-cycles")
	sw(unix.PERF_COUNT_SW_CPU_CLOCK, "cpu-clock")
	sw(unix.PERF_COUNT_SW_TASK_CLOCK, "task-clock")
	sw(unix.PERF_COUNT_SW_PAGE_FAULTS, "page-fault", "faults", "page-faults")
	sw(unix.PERF_COUNT_SW_CONTEXT_SWITCHES, "context-switches", "cs")
	sw(unix.PERF_COUNT_SW_CPU_MIGRATIONS, "cpu-migrations", "migrations")
	sw(unix.PERF_COUNT_SW_PAGE_FAULTS_MIN, "minor-faults")
	sw(unix.PERF_COUNT_SW_PAGE_FAULTS_MAJ, "major-faults")
	sw(unix.PERF_COUNT_SW_ALIGNMENT_FAULTS, "alignment-faults")
	sw(unix.PERF_COUNT_SW_EMULATION_FAULTS, "emulation-faults")
}

// Names returns every known counter name, sorted.
func Names() []string {
	out := make([]string, 0, len(counters))
	for n := range counters {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the counter called name.
func Lookup(name string) (Counter, error) {
	c, ok := counters[name]
	if !ok {
		return Counter{}, fmt.Errorf("unknown perf counter %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return c, nil
}

// Spec is one perf context: a counter and its scope.
type Spec struct {
	Counter
	PerThread bool // perf:thread:NAME; false for perf:cpu:NAME
}

// Field returns the context field name: perf_thread_page_fault.
func (s Spec) Field() string {
	if s.PerThread {
		return s.Counter.Field("thread")
	}
	return s.Counter.Field("cpu")
}

// ParseContext parses an lttng context type "perf:cpu:NAME" or
// "perf:thread:NAME" (also "perf:NAME", lttng's old per-CPU spelling).
// ok is false for a type that is not a perf context.
func ParseContext(t string) (s Spec, ok bool, err error) {
	rest, isPerf := strings.CutPrefix(t, "perf:")
	if !isPerf {
		return s, false, nil
	}
	switch {
	case strings.HasPrefix(rest, "cpu:"):
		rest = rest[4:]
	case strings.HasPrefix(rest, "thread:"):
		rest, s.PerThread = rest[7:], true
	}
	c, err := Lookup(rest)
	if err != nil {
		return s, true, fmt.Errorf("context %s: %w", t, err)
	}
	s.Counter = c
	return s, true, nil
}

// attr is the perf_event_attr of a counting (not sampling) counter.
func (c Counter) attr() *unix.PerfEventAttr {
	return &unix.PerfEventAttr{Type: c.Type, Config: c.Config, Size: uint32(unix.PERF_ATTR_SIZE_VER5)}
}

// Check opens the counter on the first online CPU and closes it: nil when
// this machine counts it, else an error saying why in words for the user.
func (c Counter) Check() error {
	fd, err := OpenCPU(c, firstCPU())
	if err != nil {
		return err
	}
	return fd.Close()
}

func firstCPU() int {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) == nil {
		for i := 0; i < 1024; i++ {
			if set.IsSet(i) {
				return i
			}
		}
	}
	return 0
}

// FD is one open counter of one CPU.
type FD struct {
	fd  int
	CPU int
}

// OpenCPU opens counter c on cpu, counting every task that runs there.
func OpenCPU(c Counter, cpu int) (*FD, error) {
	// task-clock counts a task's time: per CPU it is cpu-clock.
	if c.Type == unix.PERF_TYPE_SOFTWARE && c.Config == unix.PERF_COUNT_SW_TASK_CLOCK {
		c.Config = unix.PERF_COUNT_SW_CPU_CLOCK
	}
	fd, err := unix.PerfEventOpen(c.attr(), -1, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		switch {
		case c.Hardware() && (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENODEV)):
			return nil, notAvailable("perf counter %s is not available on this machine (no hardware PMU)", c.Name)
		case errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM):
			return nil, notAvailable("perf counter %s on cpu %d: %v: run as root or lower /proc/sys/kernel/perf_event_paranoid", c.Name, cpu, err)
		case errors.Is(err, unix.ENOSYS):
			return nil, notAvailable("perf counter %s: this kernel has no perf events (CONFIG_PERF_EVENTS)", c.Name)
		}
		return nil, notAvailable("perf counter %s on cpu %d: %v", c.Name, cpu, err)
	}
	return &FD{fd: fd, CPU: cpu}, nil
}

// Int returns the file descriptor (for a BPF perf event array).
func (f *FD) Int() int { return f.fd }

// Read returns the counter's value.
func (f *FD) Read() (uint64, error) {
	var b [8]byte
	n, err := unix.Read(f.fd, b[:])
	if err != nil {
		return 0, fmt.Errorf("read perf counter on cpu %d: %w", f.CPU, err)
	}
	if n != 8 {
		return 0, fmt.Errorf("read perf counter on cpu %d: %d bytes", f.CPU, n)
	}
	return binary.NativeEndian.Uint64(b[:]), nil
}

// Close closes the counter.
func (f *FD) Close() error { return unix.Close(f.fd) }

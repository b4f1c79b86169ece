package ftrace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// DefaultRoot is where tracefs is mounted, as trace-cmd mounts it.
const DefaultRoot = "/sys/kernel/tracing"

// ErrNotRoot is returned when tracefs control needs privileges the process
// lacks.
var ErrNotRoot = errors.New("tracing needs root (or CAP_SYS_ADMIN and write access to tracefs): run as root")

// ErrNoTracefs is returned when tracefs is neither mounted nor mountable.
var ErrNoTracefs = errors.New("tracefs not available: the kernel needs CONFIG_TRACING (mount -t tracefs nodev /sys/kernel/tracing)")

// FS is a mounted tracefs.
type FS struct {
	Root string
	page PageLayout
}

// Open finds tracefs at root (DefaultRoot when empty), mounting it there
// when it is not mounted yet, as trace-cmd does, and reads the ring-buffer
// page layout.
func Open(root string) (*FS, error) {
	if root == "" {
		root = DefaultRoot
	}
	if _, err := os.Stat(filepath.Join(root, "events", "header_page")); err != nil {
		if os.Geteuid() != 0 {
			return nil, fmt.Errorf("%w (tracefs at %s: %v)", ErrNotRoot, root, err)
		}
		if err := unix.Mount("nodev", root, "tracefs", 0, ""); err != nil {
			// Old kernels expose tracefs under debugfs only.
			alt := "/sys/kernel/debug/tracing"
			if _, err2 := os.Stat(filepath.Join(alt, "events", "header_page")); root == DefaultRoot && err2 == nil {
				root = alt
			} else {
				return nil, fmt.Errorf("%w: mount at %s: %v", ErrNoTracefs, root, err)
			}
		}
	}
	fs := &FS{Root: root}
	hp, err := os.ReadFile(filepath.Join(root, "events", "header_page"))
	if err != nil {
		return nil, permErr(err)
	}
	if fs.page, err = ParseHeaderPage(hp); err != nil {
		return nil, err
	}
	he, err := os.ReadFile(filepath.Join(root, "events", "header_event"))
	if err != nil {
		return nil, permErr(err)
	}
	if err := CheckHeaderEvent(he); err != nil {
		return nil, err
	}
	return fs, nil
}

// PageLayout returns the ring-buffer page layout of this kernel.
func (fs *FS) PageLayout() PageLayout { return fs.page }

func permErr(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w: %v", ErrNotRoot, err)
	}
	return err
}

// Format reads and parses events/SYSTEM/NAME/format.
func (fs *FS) Format(system, name string) (*Format, error) {
	b, err := os.ReadFile(filepath.Join(fs.Root, "events", system, name, "format"))
	if err != nil {
		return nil, permErr(err)
	}
	f, err := ParseFormat(system, b)
	if err != nil {
		return nil, fmt.Errorf("event %s/%s: %w", system, name, err)
	}
	return f, nil
}

// EventName is one tracefs event, SYSTEM/NAME.
type EventName struct{ System, Name string }

func (e EventName) String() string { return e.System + "/" + e.Name }

// Events lists every event tracefs offers (available_events).
func (fs *FS) Events() ([]EventName, error) {
	b, err := os.ReadFile(filepath.Join(fs.Root, "available_events"))
	if err != nil {
		return nil, permErr(err)
	}
	var out []EventName
	for _, l := range strings.Split(string(b), "\n") {
		if s, n, ok := strings.Cut(strings.TrimSpace(l), ":"); ok {
			out = append(out, EventName{s, n})
		}
	}
	return out, nil
}

// InstancePrefix starts the name of every tracefs instance this package
// creates: PREFIX-PID-NAME. The pid lets a later run remove the instances
// of a process that died without cleaning up.
const InstancePrefix = "tracetop"

// Instance is a tracefs instance (instances/NAME): a ring buffer and event
// switches of its own, leaving the top-level buffer and other tools alone.
type Instance struct {
	fs   *FS
	Name string
	Dir  string
}

// NewInstance creates instances/tracetop-PID-NAME. name may hold letters,
// digits, '-', '_' and '.'.
func (fs *FS) NewInstance(name string) (*Instance, error) {
	for _, c := range name {
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return nil, fmt.Errorf("instance name %q: character %q not allowed", name, c)
		}
	}
	full := fmt.Sprintf("%s-%d-%s", InstancePrefix, os.Getpid(), name)
	dir := filepath.Join(fs.Root, "instances", full)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("tracefs instance %q already exists", full)
		}
		return nil, fmt.Errorf("create tracefs instance %q: %w", full, permErr(err))
	}
	return &Instance{fs: fs, Name: full, Dir: dir}, nil
}

// CleanStale removes the instances left by tracetop processes that no
// longer run. It returns the names removed.
func (fs *FS) CleanStale() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(fs.Root, "instances"))
	if err != nil {
		return nil, permErr(err)
	}
	var removed []string
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), InstancePrefix+"-")
		if !ok {
			continue
		}
		ps, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(ps)
		if err != nil || pid <= 0 {
			continue
		}
		if pid == os.Getpid() || syscall.Kill(pid, 0) == nil || errors.Is(syscall.Kill(pid, 0), syscall.EPERM) {
			continue
		}
		in := &Instance{fs: fs, Name: e.Name(), Dir: filepath.Join(fs.Root, "instances", e.Name())}
		if err := in.Remove(); err != nil {
			return removed, err
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}

func (in *Instance) write(rel, val string) error { return in.writeFlag(rel, val, os.O_TRUNC) }

// writeFlag is write with open flag os.O_TRUNC or os.O_APPEND (a pid list
// file extended, not replaced).
func (in *Instance) writeFlag(rel, val string, flag int) error {
	p := filepath.Join(in.Dir, rel)
	f, err := os.OpenFile(p, os.O_WRONLY|flag, 0)
	if err != nil {
		return fmt.Errorf("tracefs %s: %w", rel, permErr(err))
	}
	_, err = f.WriteString(val)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("tracefs %s = %q: %w", rel, strings.TrimSpace(val), err)
	}
	return nil
}

func (in *Instance) read(rel string) (string, error) {
	b, err := os.ReadFile(filepath.Join(in.Dir, rel))
	if err != nil {
		return "", permErr(err)
	}
	return strings.TrimSpace(string(b)), nil
}

// SetClock selects the trace clock ("mono" for CLOCK_MONOTONIC).
func (in *Instance) SetClock(name string) error { return in.write("trace_clock", name) }

// SetBufferSizeKB sets the per-CPU ring-buffer size in KiB.
func (in *Instance) SetBufferSizeKB(kb int) error {
	return in.write("buffer_size_kb", strconv.Itoa(kb))
}

// SetOverwrite selects overwrite (flight recorder) or discard mode.
func (in *Instance) SetOverwrite(on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	return in.write("options/overwrite", v)
}

// SetBufferPercent sets how full a buffer must be before a blocked reader
// wakes up (0: at every event).
func (in *Instance) SetBufferPercent(p int) error {
	return in.write("buffer_percent", strconv.Itoa(p))
}

// Enable switches one event on or off in this instance.
func (in *Instance) Enable(e EventName, on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	return in.write(filepath.Join("events", e.System, e.Name, "enable"), v)
}

// SetTracing starts or stops recording into the buffer (tracing_on).
func (in *Instance) SetTracing(on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	return in.write("tracing_on", v)
}

// LeaveOut stops recording the events of process pid's threads, and of
// the threads and processes they start from now on (set_event_notrace_pid
// with options/event-fork): a recorder leaves its own system calls out of
// its trace. A thread started between the reading of /proc/PID/task and
// the write is not forked from a listed thread: the threads are read
// again and the new ones appended, until none is new.
func (in *Instance) LeaveOut(pid int) error {
	if err := in.write("options/event-fork", "1"); err != nil {
		return err
	}
	listed := map[string]bool{}
	for round := 0; round < 100; round++ {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			return fmt.Errorf("leave out process %d: %w", pid, err)
		}
		var tids []string
		for _, t := range tasks {
			if !listed[t.Name()] {
				listed[t.Name()] = true
				tids = append(tids, t.Name())
			}
		}
		if len(tids) == 0 {
			return nil
		}
		// The first write replaces the list; later ones append to it
		// (O_APPEND), keeping what event-fork added meanwhile.
		flag := os.O_TRUNC
		if round > 0 {
			flag = os.O_APPEND
		}
		if err := in.writeFlag("set_event_notrace_pid", strings.Join(tids, " "), flag); err != nil {
			return err
		}
	}
	return fmt.Errorf("leave out process %d: it keeps starting threads", pid)
}

// CPUStats is per_cpu/cpuN/stats.
type CPUStats struct {
	Entries, Overrun, CommitOverrun, Bytes, DroppedEvents, ReadEvents uint64
}

// Stats reads per_cpu/cpuN/stats.
func (in *Instance) Stats(cpu int) (CPUStats, error) {
	var st CPUStats
	s, err := in.read(filepath.Join("per_cpu", fmt.Sprintf("cpu%d", cpu), "stats"))
	if err != nil {
		return st, err
	}
	for _, l := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseUint(strings.Fields(v + " 0")[0], 10, 64)
		switch strings.TrimSpace(k) {
		case "entries":
			st.Entries = n
		case "overrun":
			st.Overrun = n
		case "commit overrun":
			st.CommitOverrun = n
		case "bytes":
			st.Bytes = n
		case "dropped events":
			st.DroppedEvents = n
		case "read events":
			st.ReadEvents = n
		}
	}
	return st, nil
}

// Remove stops tracing in the instance and deletes it. The kernel refuses
// while a trace_pipe_raw file is open, so close readers first.
func (in *Instance) Remove() error {
	_ = in.write("tracing_on", "0")
	_ = in.write("events/enable", "0")
	var err error
	for i := 0; i < 50; i++ {
		err = unix.Rmdir(in.Dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		// Readers being torn down in other goroutines; give them a moment.
		unix.Nanosleep(&unix.Timespec{Nsec: 20e6}, nil)
	}
	return fmt.Errorf("remove tracefs instance %q: %w", in.Name, err)
}

// OnlineCPUs returns the CPUs listed in /sys/devices/system/cpu/online.
func OnlineCPUs() ([]int, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil, err
	}
	return ParseCPUList(strings.TrimSpace(string(b)))
}

// PossibleCPUs returns the CPUs listed in /sys/devices/system/cpu/possible.
func PossibleCPUs() ([]int, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/possible")
	if err != nil {
		return nil, err
	}
	return ParseCPUList(strings.TrimSpace(string(b)))
}

// ParseCPUList parses a kernel CPU list such as "0-3,5".
func ParseCPUList(s string) ([]int, error) {
	var out []int
	if s == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("cpu list %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				return nil, fmt.Errorf("cpu list %q: %w", s, err)
			}
		}
		if a < 0 || b < a || b-a > 1<<16 {
			return nil, fmt.Errorf("cpu list %q: bad range %q", s, part)
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out, nil
}

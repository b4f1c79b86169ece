package record

import (
	"errors"
	"fmt"
	"time"

	"github.com/tracetop/tracetop/ctf/writer"
)

// CPU is a processor number.
type CPU uint32

// Timestamp is CLOCK_MONOTONIC time in nanoseconds (tracefs clock "mono",
// bpf_ktime_get_ns), the trace clock.
type Timestamp uint64

// Channel defaults, as lttng enable-channel -k uses them.
const (
	DefaultSubbufSize  = 1 << 20 // bytes
	DefaultSubbufCount = 4
	DefaultReadTimer   = 200 * time.Millisecond
)

// Channel is one LTTng kernel channel: its buffers, its events, its
// contexts. Each channel has its own tracefs instance and one stream per
// CPU named NAME_CPU.
type Channel struct {
	Name        string        // default "channel0"
	SubbufSize  int           // bytes per sub-buffer (= largest CTF packet); default 1 MiB
	SubbufCount int           // sub-buffers per CPU; default 4
	Overwrite   bool          // flight-recorder mode: overwrite the oldest data when full
	SwitchTimer time.Duration // close packets at least this often (0: only when full)
	ReadTimer   time.Duration // poll the ring buffers this often; default 200 ms
	LiveTimer   time.Duration // live sessions: flush and emit beacons this often (0: not live)

	// Events are LTTng names ("sched_switch", "irq_softirq_entry"),
	// tracefs names ("sched:sched_switch" or "sched/sched_switch") or
	// globs over either ("sched_*", "block:*", "*" for every tracepoint).
	Events []string
	// Syscalls are syscall names ("openat", "write") or globs ("*" = all),
	// recorded as syscall_entry_NAME / syscall_exit_NAME. Without an
	// EventSource providing them (eBPF), they come from tracefs syscalls/
	// events, without user-space strings.
	Syscalls []string
	// Contexts are lttng add-context -t names added to every event:
	// pid, tid, vpid, vtid, ppid, vppid, procname, prio, nice, cpu_id.
	Contexts []string
	// Sources produce extra per-CPU events merged into this channel's
	// streams in time order (eBPF syscalls, ...).
	Sources []EventSource
	// NoTracefsSyscalls leaves syscalls to Sources: the tracefs syscall
	// events are not enabled even when Syscalls is not empty.
	NoTracefsSyscalls bool
}

// Config describes one recording session.
type Config struct {
	Session   string // session name (tracefs instance and env trace_name)
	OutputDir string // trace directory: streams go to OutputDir/kernel/ (unused with Sink)
	Channels  []Channel
	// Sink receives metadata and packets instead of a directory (a relay
	// client). When nil, a writer.DirSink on OutputDir/kernel is used.
	Sink writer.Sink
	// Tracefs is the tracefs mount point; default /sys/kernel/tracing.
	Tracefs string
	// NoBPFFork records sched_process_fork from tracefs even when the
	// kernel has BPF (the recorder's own BPF fork program gives the
	// child's ids in nested pid namespaces exactly).
	NoBPFFork bool
	// NoBPFSwitch records sched_switch from tracefs even when the kernel
	// has BPF (the recorder's own BPF switch program sees the switches
	// that tracefs misses on some kernels: see bpfSource).
	NoBPFSwitch bool
	// LeaveOutSelf keeps the recorder's own process out of the tracefs
	// events (its threads, and the threads and processes it starts later):
	// a live top reading its trace would otherwise record its own reads.
	// Its context switches and forks come from BPF and stay.
	LeaveOutSelf bool
	// NoStatedump skips the statedump at start.
	NoStatedump bool
	// Logf receives warnings (lost events, CPU hotplug); nil discards them.
	Logf func(format string, args ...any)
	// Live, when set, is called on every live-timer tick of every stream
	// after it has flushed, so a relay client can send what it has and
	// beacons for idle streams.
	Live LiveHook
}

// LiveHook is told, once per live-timer period and stream, the stream's
// name and the time up to which that stream is complete (its last packet
// end, or the beacon time when it had nothing to say). With a hook, a
// stream idle for a whole period writes no empty packet (except at its
// first tick): the hook sends the beacon, as LTTng's consumer sends an
// index without data. It runs on the stream's goroutine, after the
// stream's packets of the period went to the Sink.
type LiveHook func(stream string, complete Timestamp)

// ErrBufferTooSmall is returned for sub-buffers that cannot hold an event.
var ErrBufferTooSmall = errors.New("sub-buffer too small")

// ErrBufferRefused is returned when the kernel cannot allocate the
// buffers of a channel (more than the machine's free memory).
var ErrBufferRefused = errors.New("the kernel refused the buffer size")

// withDefaults fills zero values and checks limits.
func (c Config) withDefaults() (Config, error) {
	if c.Session == "" {
		return c, fmt.Errorf("record: empty session name")
	}
	if c.Sink == nil && c.OutputDir == "" {
		return c, fmt.Errorf("record: session %q: no output directory", c.Session)
	}
	if len(c.Channels) == 0 {
		c.Channels = []Channel{{}}
	}
	chs := make([]Channel, len(c.Channels))
	seen := map[string]bool{}
	for i, ch := range c.Channels {
		if ch.Name == "" {
			ch.Name = fmt.Sprintf("channel%d", i)
		}
		if seen[ch.Name] {
			return c, fmt.Errorf("record: channel %q declared twice", ch.Name)
		}
		seen[ch.Name] = true
		if ch.SubbufSize == 0 {
			ch.SubbufSize = DefaultSubbufSize
		}
		if ch.SubbufCount == 0 {
			ch.SubbufCount = DefaultSubbufCount
		}
		if ch.ReadTimer == 0 {
			ch.ReadTimer = DefaultReadTimer
		}
		if ch.SubbufSize < 8192 {
			return c, fmt.Errorf("channel %q: %w: %d bytes, at least 8192 needed (lttng enable-channel --subbuf-size)", ch.Name, ErrBufferTooSmall, ch.SubbufSize)
		}
		if ch.SubbufSize&(ch.SubbufSize-1) != 0 {
			return c, fmt.Errorf("channel %q: sub-buffer size %d is not a power of two", ch.Name, ch.SubbufSize)
		}
		if ch.SubbufCount < 2 {
			return c, fmt.Errorf("channel %q: %w: %d sub-buffers, at least 2 needed", ch.Name, ErrBufferTooSmall, ch.SubbufCount)
		}
		chs[i] = ch
	}
	c.Channels = chs
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c, nil
}

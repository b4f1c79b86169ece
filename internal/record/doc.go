// Package record records the running kernel into an LTTng-compatible CTF
// trace, as lttng-modules 2.13 with lttng-consumerd would, but using only
// the kernel's own tracing infrastructure (tracefs) plus optional event
// sources (eBPF).
//
// # Lifecycle
//
// The session daemon (or the in-process top) drives one Recorder per
// session:
//
//	rec, err := record.New(record.Config{
//		Session:   "auto-20250101-120000",
//		OutputDir: "/root/lttng-traces/auto-20250101-120000", // streams go to OutputDir/kernel/
//		Channels: []record.Channel{{
//			Name:     "channel0",                 // streams channel0_0, channel0_1 …
//			Events:   []string{"sched_switch", "sched_process_*", "irq_*"},
//			Syscalls: []string{"*"},              // syscall_entry_*/syscall_exit_*
//			Contexts: []string{"vpid", "procname"},
//			Sources:  []record.EventSource{bpfSource}, // optional
//		}},
//	})
//	if errors.Is(err, record.ErrNotRoot) { … }  // clear message for the user
//	err = rec.Start()   // tracing on, statedump, one reader per CPU
//	…
//	err = rec.Stop()    // buffers drained, packets flushed: trace readable
//	err = rec.Start()   // may start again: streams go on in the same files
//	err = rec.Destroy() // streams closed, tracefs instances removed
//
// New validates everything that can fail early: root, tracefs (mounted at
// /sys/kernel/tracing when missing), event names (LTTng names such as
// sched_switch, tracefs names such as "sched:sched_switch", or globs),
// buffer sizes (ErrBufferTooSmall), contexts. It removes the tracefs
// instances of recorders that died (instances/tracetop-PID-…), then creates
// one instance per channel, never touching the top-level buffer.
//
// # Events
//
// Each tracefs record is converted once per event class by a compiled
// plan: the tracepoints lttng-modules instruments get LTTng's names, field
// names and types (sched_switch prev_tid/next_tid, sched_process_fork with
// parent_pid/child_pid/vtids, irq_softirq_entry, timer_hrtimer_*,
// block_rq_* with the rwbs mask, kvm_x86_* …); other tracepoints keep their
// tracefs names and fields. Syscalls, when no source provides them, come
// from tracefs syscalls/sys_enter_* and sys_exit_* as syscall_entry_NAME
// (arguments typed as the kernel prototype) and syscall_exit_NAME (ret);
// string arguments (paths) are then empty, since tracefs only has their
// user-space address (Recorder.SyscallStrings reports false).
//
// # Extra event sources
//
// An EventSource adds events of its own classes to a channel's per-CPU
// streams, merged in time order with the tracefs records:
//
//	type bpfSource struct{ open, exit *writer.EventClass }
//	func (s *bpfSource) Name() string { return "bpf" }
//	func (s *bpfSource) Classes() []*writer.EventClass {
//		s.open = &writer.EventClass{Name: "syscall_entry_openat", Fields: []writer.Field{
//			writer.I32("dfd"), writer.Str("filename"), writer.I32("flags"), writer.U16("mode")}}
//		return []*writer.EventClass{s.open}
//	}
//	func (s *bpfSource) ProvidesSyscalls() bool { return true } // tracefs syscalls stay off
//	func (s *bpfSource) Run(ctx context.Context, out *record.Emitter) error {
//		var p writer.Payload
//		for ev := range s.ring(ctx) { // CPU, time (CLOCK_MONOTONIC ns), tid, args
//			p.Reset()
//			p.I32(ev.Dfd); p.String(ev.Path); p.I32(ev.Flags); p.U16(ev.Mode)
//			out.Emit(record.CPU(ev.CPU), record.Timestamp(ev.Time), ev.TID, s.open, p.B)
//			if ev.Lost > 0 { out.Lost(record.CPU(ev.CPU), ev.Lost) }
//		}
//		out.Watermark(out.Now()) // after each drained batch: nothing older will follow
//		return nil
//	}
//
// Streams write events only up to the lowest watermark of their sources,
// so a source must call Watermark regularly (each time its buffer is
// drained); at Stop everything queued is written.
//
// # Contexts
//
// Channel.Contexts are lttng add-context -t names: pid, tid, vpid, vtid,
// ppid, vppid, procname, prio, nice, cpu_id, and perf counters
// perf:cpu:NAME and perf:thread:NAME (page-fault, context-switches,
// cpu-migrations, cpu-clock, task-clock, minor-faults, major-faults, and
// cpu-cycles, instructions, cache-misses, branch-misses … on a machine with
// a hardware PMU; CheckContext says what this machine lacks). A perf
// context is a u64 field perf_cpu_NAME / perf_thread_NAME of
// stream.event.context. Its values are read by a PerfProvider source (the
// BPF source, events.Source): exact at the time of the source's events
// (system calls, and sched_switch, which the source then records itself
// with the previous task's value at switch-out); tracefs events get the
// CPU's current thread's value as of the last source event on that CPU
// (at worst the value at its switch-in), so a thread's values never go
// back.
//
// # Namespaces of new tasks
//
// sched_process_fork carries the child's thread ids in every pid
// namespace (vtids) and its namespace inode, read by a BPF program at
// fork time: that of a source implementing TracepointProvider (the BPF
// syscall source), else the recorder's own (a fork-only BPF program).
// Without BPF (or with Config.NoBPFFork) it comes from tracefs: the ids
// from /proc/CHILD while the child lives, the namespace from the parent's
// pid_for_children otherwise.
//
// # Context switches
//
// sched_switch comes from the recorder's own BPF program on the same
// tracepoint when the kernel has BPF (unless a source with perf counter
// contexts records it, or Config.NoBPFSwitch): tracefs misses switches on
// some kernels (on 6.18, a secondary CPU's idle task writes none of its
// process-context events to the tracefs ring buffers, so every switch away
// from idle is lost and CPU figures credit idle time to the task before).
// The fields are the tracefs conversion's, prev_state computed as tracefs
// computes it.
//
// # Output and live
//
// Output goes to Config.Sink (a relay client) or to a writer.DirSink on
// OutputDir/kernel: metadata, channel0_N stream files and
// index/channel0_N.idx, with lttng-modules' layout. Packets close when a
// sub-buffer is full, at each SwitchTimer period, and at Stop. With a
// LiveTimer, every stream flushes at each period, idle streams write an
// empty beacon packet, and Config.Live is told how far each stream is
// complete. With Config.Live set, idle streams write no packet after
// their first: the hook sends an index-only beacon (a relay sink does).
package record

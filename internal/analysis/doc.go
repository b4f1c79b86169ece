// Package analysis computes exact figures over any window [t1, t2[ of a
// kernel trace — CPU time per thread, process, container and CPU, perf
// counter deltas, syscalls (count, errors, latency), I/O bytes per process
// and per file or socket, block-layer bytes, births and deaths, fds opened
// and closed, lost events — and the state of the machine at any time T.
//
// Two ways in:
//
// One pass over a source, for batch output: Intervals calls back with the
// figures of each consecutive interval.
//
//	src, _ := ctf.Open([]string{dir}, ctf.Options{})
//	err := analysis.Intervals(src, analysis.Window{Step: time.Second.Nanoseconds()},
//		func(f *analysis.Figures) error {
//			for _, t := range f.Threads {
//				fmt.Printf("%6.2f%% %d %s\n", f.CoreShare(t.CPUTime), t.TID, t.Comm)
//			}
//			return nil
//		})
//
// History, for the top and time travel: it reads the source forward with
// Advance, keeping checkpoints of the state.Machine every
// Options.CheckpointEvery events (thinned with age so memory stays
// bounded), and answers Figures(t1, t2), StateAt(T) and Details(pid, t1,
// t2) for any window by restoring the nearest checkpoint at or before t1
// and replaying at most one checkpoint interval plus the window (seeking
// the source when it implements Seeker, else reopening it). Windows of the
// configured Options.Interval grid at the live edge are kept from the
// forward pass and answered without any replay.
//
//	h, _ := analysis.NewHistory(func() (ctf.Source, error) {
//		return ctf.Open([]string{dir}, ctf.Options{})
//	}, analysis.Options{Interval: time.Second.Nanoseconds()})
//	defer h.Close()
//	h.Advance(math.MaxInt64)
//	first, last := h.Bounds()
//	f, _ := h.Figures(first, last)
//	d, _ := h.Details(1234, first, last) // open files, threads, children at last
//
// With Options.Slot (a live top), the forward pass accumulates slots
// shorter than the interval (200 ms for a 1 s interval) and Figures
// merges the kept slots (Merge: sums of the additive figures, the state
// at the end from the last slot) into any window made of them, exactly
// as one pass would give it; older slots are merged into intervals.
// CloseBefore closes the slots a live source is complete up to though no
// later event came yet, so the newest interval ends at most a slot after
// its events are complete.
//
//	h := analysis.NewHistorySource(src, nil, analysis.Options{Interval: 1e9, Slot: 2e8})
//	h.Advance(edge)
//	h.CloseBefore(edge)
//	f, _ := h.Figures(h.Closed()-1e9, h.Closed()) // five slots merged
//
// Windows are [t1, t2[ exactly as asked; only a window asked past the
// trace's last event ends there (Figures.Clipped says so). Figures.FDs is
// the number of fds open at End; NumCPU counts the trace's per-CPU streams,
// the statedump's CPU topology and the CPUs seen, OnlineCPUs those online
// during the window (a stream that starts late or ends early: hotplug).
//
// Accounting follows lttng-analyses where both define a figure: a thread
// switched out before any switch-in was seen on that CPU is credited from
// the window start, a running thread until the window end; CPU shares are
// given of one core (CoreShare, lttng-cputop's percentage) and of the
// machine (MachineShare).
//
// Figures.VMs lists the virtual machines of the window from host events
// alone: each process with threads named as QEMU vCPUs ("CPU 0/TCG",
// "CPU 1/KVM"), with the CPU time of all its threads and of its vCPU
// threads, and per vCPU the time on CPU, preempted (runnable, not
// running: the guest's steal) and blocked. The thread states are
// state.Machine's (sched_switch, sched_wakeup, statedump), reported by
// state.Observer.Waited; every thread's runnable and blocked times are in
// ThreadFigures (not in the JSON output). Without kvm_entry/kvm_exit (TCG)
// a vCPU's time on CPU is all guest time.
//
//	for i := range f.VMs {
//		v := &f.VMs[i]
//		fmt.Printf("%s %d: host %.1f%% guest %.1f%% steal %.1f%%\n", v.Comm, v.PID,
//			f.CoreShare(v.CPUTime), f.CoreShare(v.GuestTime), f.Steal(v))
//	}
//
// Figures.WriteJSON writes the figures as encoding/json would marshal
// them (same bytes), without reflection and in 64 KiB pieces: a whole
// trace's figures (thousands of threads and files) are megabytes.
//
//	err := analysis.Intervals(src, analysis.Window{}, func(f *analysis.Figures) error {
//		return f.WriteJSON(os.Stdout) // one line
//	})
package analysis

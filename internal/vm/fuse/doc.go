// Package fuse reads a host trace and the traces of its guests as one
// ctf.Source on the host's time axis.
//
// A host recording with guests (tracetop vm record) is laid out as
//
//	DIR/kernel/                 host trace
//	DIR/guests/NAME/kernel/     guest NAME's trace, in the guest's own clock
//	DIR/guests/NAME/sync.json   its clock-sync stream (package vm)
//
// Guest timestamps are never rewritten on disk: Open refits each guest's
// transform from its sync samples (package clocksync) and maps every guest
// event onto the host clock while merging, so a better fit later gives a
// better view of the same files. Guest events keep their trace, so the
// printer labels them with the guest's hostname. The mapping's error
// bound is exposed per event (LastBound) and per guest (Guests): two events
// of different machines closer than the bound are not really ordered.
//
//	src, err := fuse.Open("trace/", fuse.Options{})
//	if err != nil { ... }
//	defer src.Close()
//	for _, g := range src.Guests() {
//		fmt.Printf("%s: %v ±%v\n", g.Name, g.Quality, g.Bound)
//	}
//	var ev ctf.Event
//	for src.Read(&ev) == nil {
//		fmt.Println(ev.NS, ev.Stream.Trace.Hostname, ev.Class.Name)
//	}
//
// # Per-VM figures
//
// Figures reads a source (host events only are used) and returns, per VM,
// the host CPU time of its threads (vCPU threads plus the VMM's other
// threads, learnt from the statedump) as % of one CPU, and the steal %:
// the vCPU threads' preempted (runnable, not running) time over
// window × vCPUs, as the guest's /proc/stat would count it. The VM's
// threads come from sync.json (SyncFile.QEMUPID and VCPUs):
//
//	vms := []fuse.VMThreads{{Name: g.Name, PID: g.Sync.QEMUPID, VCPUs: tidToIndex(g.Sync.VCPUs)}}
//	figs, err := fuse.Figures(src, vms, from, to)
//	fmt.Printf("%s host CPU %.1f%% steal %.1f%%\n", figs[0].Name, figs[0].HostCPU, figs[0].Steal)
//
// The times are those of package analysis over the window (its VM
// figures, which the top's VM view shows, find the VMs by their vCPU
// thread names instead; here the threads are given), so both agree. A top
// can show them next to the guest's sync tier and bound (Guest.Quality,
// Guest.Bound); under KVM the same state machine gains GUEST/HYP from
// kvm_entry/kvm_exit.
package fuse

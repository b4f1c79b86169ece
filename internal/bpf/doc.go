// Package bpf records system calls with their decoded arguments and
// user-space strings, and the pid-namespace ids of new tasks, with eBPF
// programs attached to the raw tracepoints sys_enter, sys_exit and
// sched_process_fork.
//
// The programs (c/tracetop.bpf.c) are compiled by bpf2go; the object and
// its Go wrapper are committed and `make generate` rebuilds them. Records
// reach user space through one BPF ring buffer per Tracer, each stamped with
// bpf_ktime_get_ns (CLOCK_MONOTONIC, the tracefs "mono" clock) and the CPU
// that produced it; docs/format/bpf-records.md gives their byte layout.
// Every system call is off until SetSyscall turns it on, so a session pays
// only for what it enabled. Package syscalls names the records as LTTng
// does (syscall_entry_openat, ...).
//
// A kernel without BPF, BTF or the ring buffer, or a process without the
// privileges, gets a *FeatureError (errors.Is(err, ErrNotSupported)) from
// Check and Open saying what is missing and what to do.
//
//	tr, err := bpf.Open(bpf.Config{IgnorePID: bpf.PID(os.Getpid()), Fork: true})
//	if errors.Is(err, bpf.ErrNotSupported) {
//		log.Printf("no system call strings: %v", err)
//		return
//	}
//	defer tr.Close()
//	tr.SetSyscall(257, bpf.SyscallConf{Entry: true, Exit: true, Strings: 1 << 1}) // openat: filename
//	tr.Start()
//	var r bpf.Record
//	for tr.ReadInto(&r) == nil {
//		fmt.Println(r.CPU, r.Time, r.Kind, r.Syscall, string(r.Str[0]))
//	}
package bpf

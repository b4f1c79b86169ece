// Package events names BPF records as lttng-modules 2.13 names kernel
// events, so our traces read like LTTng's: a system call's entry becomes
// syscall_entry_<name> with its arguments (openat: dfd, filename as a
// string, flags, mode), its exit syscall_exit_<name> with ret and the
// out-arguments lttng records (read: ret, buf), and numbers lttng has no
// name for become syscall_entry_unknown / syscall_exit_unknown with id and
// args[6]. A fork record becomes sched_process_fork with the child's vtids
// in every pid namespace.
//
// The x86-64 table (x86_64.txt, embedded) gives each system call's number,
// lttng name and field layout; each Class compiles it into a plan of ops so
// that Append only copies integers and strings.
//
//	var p writer.Payload
//	var r bpf.Record // from bpf.Tracer.ReadInto
//	if c := events.ClassOf(&r); c != nil {
//		p.Reset()
//		c.Append(&p, &r)
//		// write p.B as an event of class c.Name, fields c.Fields
//	}
//	conf := bpf.SyscallConf{Entry: true, Exit: true, Strings: events.ByName("openat").Strings}
package events

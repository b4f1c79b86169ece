// Package state rebuilds what a Linux kernel was doing from its trace
// events: threads and processes (ids, names, parents, birth and death,
// state and the reason they wait), pid namespaces (containers, nested),
// CPUs (what runs on each, idle time, online or not) and the open file
// descriptors of every process, with their names and the bytes moved
// through each.
//
// A Machine is fed events in time order with Apply. It understands LTTng
// kernel traces of every version in use (lttng-modules 2.0 to 2.13: old
// sys_*/exit_syscall and new syscall_entry_*/syscall_exit_* names,
// compat_syscall_*, both statedump layouts) and traces written by
// tracetop's recorder, which uses the same names. Field names are matched
// with and without one leading underscore (CTF 1.8 metadata keeps LTTng's
// `_prev_tid`, CTF 2 and babeltrace 2 drop it). Names are resolved to field
// indexes once per event class; applying an event does not allocate except
// when the model grows (a new thread, a new file).
//
// Whoever needs to account for what happens (package analysis) installs an
// Observer: Apply calls it when a thread stops running, a syscall returns,
// bytes are read or written, a file is opened or closed, a thread is born
// or dies, or events are lost.
//
// Clone makes an independent deep copy of the model, which is how
// checkpoints for time travel are taken.
//
//	m := state.New()
//	var ev ctf.Event
//	for src.Read(&ev) == nil {
//		m.Apply(&ev)
//	}
//	for _, p := range m.Processes() {
//		fmt.Println(p.PID, p.Comm, len(p.Files))
//	}
package state

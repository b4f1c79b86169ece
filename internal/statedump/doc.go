// Package statedump describes the running machine as LTTng's statedump
// does at session start: lttng_statedump_start, one
// lttng_statedump_process_state per thread followed by its namespace
// events (lttng-modules 2.13: process_cgroup_ns, _ipc_ns, _mnt_ns,
// _net_ns, _pid_ns with vtid/vpid/vppid per nesting level, _user_ns,
// _uts_ns, _time_ns), lttng_statedump_file_descriptor for each open file,
// lttng_statedump_cpu_topology, _block_device, _interrupt,
// _network_interface, then lttng_statedump_end. Everything comes from
// /proc and /sys.
//
// Sketch:
//
//	d := statedump.New()
//	for _, c := range d.Classes() {
//		md.Add(c) // register with the trace metadata (assigns ids)
//	}
//	d.Run(func(c *writer.EventClass, tid int32, payload []byte) {
//		stream.Append(now(), c.ID, nil, payload)
//	})
package statedump

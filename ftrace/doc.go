// Package ftrace controls tracefs and decodes its raw ring buffers.
//
// It mounts tracefs when needed (as trace-cmd does), creates a tracefs
// instance per recording so the top-level buffer and other tools are never
// disturbed, parses events/*/*/format files into field descriptions, and
// decodes the pages read from per_cpu/cpuN/trace_pipe_raw: the page header
// (timestamp, commit size, missed-event flags and stored count), time
// deltas, time-extend and absolute-timestamp records and padding.
//
// Sketch:
//
//	fs, err := ftrace.Open("") // mounts /sys/kernel/tracing if needed
//	in, err := fs.NewInstance("mysession")
//	defer in.Remove()
//	in.SetClock("mono")
//	in.Enable(ftrace.EventName{System: "sched", Name: "sched_switch"}, true)
//	f, _ := fs.Format("sched", "sched_switch")
//	next := f.Field("next_pid")
//	in.SetTracing(true)
//	r, _ := in.OpenCPU(0)
//	buf := make([]byte, fs.PageLayout().PageSize)
//	n, _ := r.ReadPage(buf) // ftrace.ErrNoData when empty
//	var pg ftrace.Page
//	pg.Reset(buf[:n], fs.PageLayout())
//	var rec ftrace.Record
//	for pg.Next(&rec) {
//		fmt.Println(rec.TS, next.Int(rec.Data))
//	}
//
// The page format is described in docs/format/tracefs-page.md.
package ftrace

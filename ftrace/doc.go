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
//
// # Reading the pages
//
// per_cpu/cpuN/trace_pipe_raw gives pages two ways, with the same header
// (the kernel sets the missed-events flag, and the count when the page has
// room, on the first page after a loss, either way): splice(2) moves whole
// pages only (the kernel swaps its pages out) and answers EAGAIN for the
// page it is still writing to; read(2) copies one page, the page being
// written too (with the events committed so far). CPUReader splices up to
// 64 KiB of whole pages at a time into a pipe of its own, reads them from
// the pipe with one read(2) and hands them out one by one; when no whole
// page is there it reads the page being written, once: asked again within
// 250 µs with still no whole page, it answers ErrNoData. Reading again at
// once would only chase the writer, a few events a call, and when system
// calls are traced each call adds events of its own (a reader doing
// nothing else read 430 k pages/s of 70 bytes that way). Without splice
// it reads every page with read(2).
//
// MonoNow is CLOCK_MONOTONIC, the "mono" trace clock, read through the
// vDSO (golang.org/x/sys's ClockGettime is a system call).
package ftrace

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
package fuse

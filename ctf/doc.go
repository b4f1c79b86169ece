// Package ctf reads Common Trace Format traces (CTF 1.8 and CTF 2) as
// LTTng and other tracers write them: trace folders holding one or more
// traces, their data streams merged in time order, with discarded events
// and lost packets reported as messages, and seeking by time through LTTng
// index files (read when present, built in memory when absent).
//
// The metadata is parsed by ctf/tsdl (CTF 1.8) or ctf/ctf2 (CTF 2) into the
// ctf/meta model, then compiled once into flat decode plans; reading an
// event does not allocate.
//
//	src, err := ctf.Open([]string{"trace/"}, ctf.Options{})
//	if err != nil { ... }
//	defer src.Close()
//	var ev ctf.Event
//	for {
//		if err := src.Read(&ev); err == io.EOF {
//			break
//		} else if err != nil {
//			return err
//		}
//		if ev.Kind == ctf.KindEvent {
//			fmt.Println(ev.NS, ev.Class.Name)
//		}
//	}
package ctf

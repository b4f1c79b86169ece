// Package pretty prints decoded CTF events exactly as babeltrace2 2.0's
// default text sink (`sink.text.pretty`) does, byte for byte:
//
//	[HH:MM:SS.nnnnnnnnn] (+S.nnnnnnnnn) HOSTNAME EVENT: { packet context }, { stream event context }, { event context }, { payload }
//
// with babeltrace2's rules for hidden fields (packet sizes, timestamps,
// discarded-event counters and the other fields the reader consumes),
// leading underscores, integer bases, enumerations, strings with escapes,
// arrays, variants and floats, and its options (--clock-*, --no-delta,
// --names, --fields). Discarded events and lost packets are reported on a
// second writer (stderr) as babeltrace2 reports them. Options.NoBT2Quirks
// prints empty strings as "" where babeltrace2 2.0 prints a recycled
// object's old value.
//
// A Printer formats into one reused buffer and caches, per event class, the
// text that does not change from event to event; printing an event does
// not allocate. Run drives a whole Source (decoding and printing each
// event in turn, while its values are in the cache) with babeltrace2's
// --begin/--end trimming; InputNames gives
// babeltrace2's trace and stream names for the input paths.
//
//	o := pretty.DefaultOptions()
//	o.TraceName, o.StreamName = pretty.InputNames(paths)
//	err := pretty.Run(src, os.Stdout, o, pretty.Range{})
//
// or, event by event:
//
//	src, err := ctf.Open([]string{"trace/"}, ctf.Options{})
//	if err != nil { ... }
//	p := pretty.New(os.Stdout, pretty.DefaultOptions())
//	var ev ctf.Event
//	for {
//		if err := src.Read(&ev); err == io.EOF {
//			break
//		} else if err != nil {
//			p.Flush()
//			return err
//		}
//		if err := p.Print(&ev); err != nil {
//			return err
//		}
//	}
//	return p.Flush()
package pretty

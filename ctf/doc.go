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
//
// # Opening
//
// Open walks every path for folders holding a metadata file; each is a
// trace, and folders with the same trace UUID (session rotation chunks)
// are one trace. The data files of a folder are grouped into streams by
// (stream class, stream_instance_id) — tracefile rotation chunk_0_0,
// chunk_0_1 … are one stream, read in time order — or one stream per file
// without an instance id. Every packet is indexed at Open, from
// index/NAME.idx when it matches the file (Options.NoIndex ignores it),
// else from the packet headers; the index must agree with the packets as
// they are read.
//
// # Decoding
//
// CTF 1.8 roles come from the well-known names (packet header magic,
// uuid, stream_id, stream_instance_id; packet context timestamp_begin/end,
// content_size, packet_size, events_discarded, packet_seq_num; event header
// id and timestamp, through LTTng's compact and large variants), set on
// cloned classes so meta.Class.Role tells the printer which packet context
// fields are the reader's. The event id is the last id decoded in the
// event header and its time the last timestamp, whose N low bits extend
// the stream's last full clock value (27/32-bit wrap). Relative field
// references are resolved from the current struct outwards, then through
// the earlier scopes; sequence lengths must be unsigned integers and CTF
// 1.8 variant selectors enumerations, whose labels pick the option of the
// same name (one leading underscore may differ).
//
// Times are nanoseconds from the clock's origin computed as babeltrace2
// does; a time past int64 (tracecompass/funky-trace) is reported with
// Event.TimeOverflow and wrapped as babeltrace 1 does, and reading goes on.
// Packets overlapping in time, events outside their packet's bounds and
// never-closed packets are read as they are.
//
// # Errors
//
// Bad metadata gives a *MetadataError at Open. Damaged data gives a
// *FormatError (errors.Is(err, ErrFormat)) naming the file, the byte
// offset and what was expected, after every message before the damage.
// A stream file that ends inside a packet (a copy cut short) delivers
// that packet's events up to the end of the file, then the error ("file
// ends inside the event at byte ..."), where babeltrace2 refuses the
// whole file.
//
// # Seeking and packets
//
// Reader.SeekTime(ns) puts every stream at its first message at or after
// ns, decoding only the packet that holds ns (found in the packet index).
// Stream.Packets returns the packet index of a stream and
// Stream.ReadPacket the raw bytes of one packet, for tools that copy
// packets as they are.
package ctf

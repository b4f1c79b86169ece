// Package writer writes CTF 1.8 traces laid out as lttng-modules 2.13
// writes kernel traces: packetized TSDL metadata with the LTTng kernel
// packet header and context (magic, uuid, stream_id, stream_instance_id;
// timestamp_begin/end, content_size, packet_size, packet_seq_num,
// events_discarded, cpu_id), the compact event header (5-bit id, 27-bit
// timestamp, extended when needed), byte-aligned payloads, one stream per
// CPU and channel, and LTTng index files.
//
// The clock is "monotonic": CLOCK_MONOTONIC nanoseconds, with the offset
// from the realtime clock taken at session start.
//
// Sketch:
//
//	md := &writer.Metadata{UUID: uuid, ClockUUID: cuuid, ClockOffsetNS: off,
//		Env: []writer.EnvValue{{Key: "domain", Str: "kernel"}}}
//	md.AddStream(writer.StreamClass{ID: 0})
//	sw, _ := md.Add(&writer.EventClass{Stream: 0, Name: "sched_switch", Fields: []writer.Field{
//		writer.Comm("prev_comm"), writer.I32("prev_tid"), /* ... */ }})
//	sink, _ := writer.NewDirSink("out/kernel")
//	sink.WriteMetadata(writer.AppendMetadataPackets(nil, uuid, md.Pending()))
//	st, _ := writer.NewStream(writer.StreamConfig{Name: "channel0_0", CPU: 0,
//		PacketSize: 1 << 20, UUID: uuid}, sink)
//	var p writer.Payload
//	p.TextString("bash", 16)
//	p.I32(42)
//	st.Append(ts, sw.ID, nil, p.B)
//	st.Close(ts)
//	sink.Close()
//
// Packet and index layouts are described in docs/format/ctf-kernel-trace.md.
package writer

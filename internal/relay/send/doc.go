// Package send streams a recorded LTTng/CTF trace folder to a relay as if
// it were being recorded: it creates a relay session, announces one stream
// per data file and per metadata file, and sends every packet with its
// index, in time order, as fast as possible or at the trace's own pace,
// with live beacons when the session is live.
//
// Packet boundaries come from package ctf's packet index: the trace's index
// files (index/*.idx) when there are some, else the packet headers, so any
// CTF 1.8 trace folder can be sent. The relay writes index files either way.
//
// The session ends as lttng stop and destroy end one: data-pending rounds,
// a rotation of every stream to "no chunk" at the position after its last
// packet (in packet_seq_num), the chunk's close, then CLOSE_STREAM with
// the last net_seq_num. Indexes always carry a packet_seq_num, the
// packet's rank in its stream when the trace has none (LTTng before 2.8),
// so that lttng-relayd can complete that rotation and serve the streams'
// last packets to live viewers. A live beacon never claims a time past the
// beginning of the stream's next packet.
//
//	ctl, data, err := send.ParseURL("net://127.0.0.1")
//	st, err := send.Trace(ctx, "trace/", send.Options{Control: ctl, Data: data, LiveTimer: time.Second})
//	fmt.Println(st.Packets, st.Bytes, st.SessionDir)
package send

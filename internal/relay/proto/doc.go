// Package proto holds the wire structures of the three LTTng 2.13 relay
// protocols: control (port 5342) and data (port 5343), spoken by tracers to a
// relay, and the live viewer protocol (port 5344), spoken by viewers.
//
// Every message is a plain struct with Decode (from a payload, never
// panicking, errors with byte offsets) and Append (to a caller-owned slice).
// Layouts that changed across protocol versions take the negotiated minor
// version. The byte layouts are documented in docs/format/relayd-*.md.
//
//	var h proto.Header
//	if err := h.Decode(buf[:proto.HeaderSize]); err != nil { ... }
//	payload := make([]byte, h.DataSize) // after checking h.DataSize <= proto.MaxControlPayload
//	switch h.Cmd {
//	case proto.CmdAddStream:
//		var m proto.AddStream
//		if err := m.Decode(payload, minor); err != nil { ... }
//		reply := proto.AddStreamReply{Handle: 1, Ret: proto.OK}
//		conn.Write(reply.Append(nil))
//	}
package proto

// Package client is the tracer side of the LTTng 2.13 relay protocol: it
// streams a trace to any compatible relay (tracetop relayd or
// lttng-relayd) over a control and a data connection, as lttng-sessiond and
// lttng-consumerd do.
//
// A Client is used by one goroutine for control commands; SendPacket uses
// only the data connection and may be called from a second goroutine.
//
//	c, err := client.Dial(ctx, "127.0.0.1:5342", "127.0.0.1:5343")
//	sid, dir, err := c.CreateSession(proto.CreateSession{SessionName: "s", Hostname: "h", SessiondUUID: uuid, CreationTime: now})
//	err = c.CreateTraceChunk(0, now, "")
//	meta, err := c.AddStream("metadata", "kernel", 0)
//	cpu0, err := c.AddStream("channel0_0", "kernel", 0)
//	err = c.StreamsSent()
//	err = c.SendMetadata(meta, tsdlPackets, 0)
//	err = c.SendPacket(cpu0, 0, packet[:contentBytes], uint32(len(packet)-contentBytes))
//	err = c.SendIndex(proto.SendIndex{RelayStreamID: cpu0, NetSeqNum: 0, PacketSize: ..., ...})
//	// at the end:
//	pending, err := c.DataPending(sid, []client.Pending{{Stream: cpu0, LastSeq: 0}}, []proto.StreamID{meta})
//	err = c.RotateStreams(proto.RotateStreams{Positions: ...}) // to no chunk
//	path, err := c.CloseTraceChunk(0, now, nil)
//	err = c.CloseStream(cpu0, 0)
//	c.Close()
package client

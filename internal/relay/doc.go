// Package relay is a relay daemon wire-compatible with lttng-relayd 2.13:
// tracers (lttng-sessiond/consumerd, tracetop's recorder) stream traces to
// its control and data ports, it writes them in lttng-relayd's on-disk
// layout with their packet indexes, and serves them live to any number of
// viewers (babeltrace2, tracetop) on its live port.
//
// Unlike lttng-relayd, several viewers may attach to one session, each at
// its own pace, and a viewer receives every packet of a stream that closed
// before it read them.
//
//	srv, err := relay.New(relay.Config{OutputDir: "/srv/traces"})
//	if err != nil { ... }
//	ctl, _ := net.Listen("tcp", ":5342")
//	data, _ := net.Listen("tcp", ":5343")
//	live, _ := net.Listen("tcp", ":5344")
//	go srv.Serve(ctl, data, live) // returns when Close is called
//	...
//	srv.Close()
//
// Packets of live sessions go from the socket to the file through the page
// cache by splice(2), where viewers find them; aligned packets of other
// sessions are written with O_DIRECT, which costs less CPU time.
//
// A peer that stops in the middle of a message (or stops reading a reply)
// for Config.MessageTimeout, or a viewer silent between commands for
// Config.ViewerIdleTimeout, is disconnected with a logged reason; tracers
// may stay silent between messages, as LTTng's do. At most
// Config.MaxConnections connections are open at once, and a connection
// holds a read buffer only while it reads a message, so memory stays
// bounded whatever peers do.
//
// The protocols are described in docs/format/relayd-*.md; their messages
// are in package proto.
package relay

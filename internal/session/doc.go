// Package session is tracetop's session daemon (`tracetop sessiond`) and
// its client: the daemon owns the tracing sessions — their channels,
// events, contexts, output folder — and starts and stops their
// recordings (package record, with package bpf/events for system calls);
// the session commands (create, enable-event, start, ...) send it one
// request each over a unix socket, spawning it first when it is not
// running, as lttng does with lttng-sessiond. Several sessions record at
// once, each with its own tracefs instance and BPF programs.
//
// A session created with a relay URL (CreateArgs.URL, `create -U
// net://HOST[:C[:D]]`) or live (`create --live[=USEC]`, to net://127.0.0.1
// by default) streams its kernel trace through package record/relaysink
// to any LTTng 2.13 relay, as lttng-sessiond and lttng-consumerd do: the
// relay session is created at the first start, stop waits until the
// relay holds every packet, a stopped live session goes on sending
// beacons, and destroy closes the relay session.
//
// The socket (DefaultSocket, or $TRACETOP_SESSIOND_SOCKET) is
// read-write for root and, when that group exists, for the "tracing"
// group. Frames are described in docs/format/sessiond-protocol.md.
//
//	srv, err := session.Listen("/run/tracetop/sessiond.sock")
//	if err != nil { ... }            // not root, or a daemon already runs
//	go srv.Serve()
//	defer srv.Close()                // stops and destroys every session
//
//	resp, err := session.Do(&session.Request{Cmd: session.CmdCreate, Session: "demo",
//		Create: &session.CreateArgs{OutputDir: "/tmp/demo"}}, os.Stdout)
//	fmt.Print(resp.Text)             // "Session demo created.\n..."
//
// A Server is also usable in process: Server.Handle runs a Request
// without the socket.
package session

// Package live reads LTTng live sessions from a relay's live port
// (lttng-relayd 2.4 and later, or tracetop's relay) with the viewer
// protocol: it lists sessions, attaches (from the last packet, as
// babeltrace2 does, or from the beginning), follows new streams and
// growing metadata, fetches packets and beacons, and reconnects after a
// dropped connection without losing or repeating events.
//
// A Session is a ctf.Source: the events of every stream of the session in
// time order, as a trace folder read with ctf.Open, so that every analysis
// and the top take either. Its Read blocks until the next event is known
// to be the oldest: every stream either holds a decoded event or has said
// (through a beacon, LTTng's INACTIVE index, or the end of its last
// packet) that it has nothing older. Delivery lags the tracer by about
// one live timer period.
//
//	s, err := live.Open(ctx, "net://localhost/host/myhost/mysession", live.Options{})
//	if err != nil { ... }
//	defer s.Close() // detaches
//	var ev ctf.Event
//	for {
//		if err := s.Read(&ev); err == io.EOF {
//			break // the session ended, or ctx was cancelled
//		} else if err != nil {
//			return err
//		}
//		fmt.Println(ev.NS, ev.Class.Name)
//	}
//
// Listing: live.List(ctx, "net://localhost", 0) returns the sessions, one
// per tracing session (the relay's records of one hostname and name are
// merged, as babeltrace2 prints them; URL.Line formats one).
//
// Printing: Print writes a session in babeltrace2's text format until it
// ends or its context is cancelled (Ctrl-C: detach), and PrintList writes
// the listing, as `tracetop view net://...` does. A cancelled context
// gives the reply in progress half a second to arrive.
//
// End of a session: Read returns io.EOF once GET_NEW_STREAMS said HUP
// for every relay session and every stream answered HUP to
// GET_NEXT_INDEX. lttng-relayd says the former as soon as the tracer
// closed every stream with all its data in, whatever this viewer read, so
// a stream is read to its own HUP (as babeltrace2 does); one that answers
// RETRY or INACTIVE 250 times in a row after its session's HUP is ended
// with a note (a relay stuck in a rotation it cannot complete).
//
// Reconnection: the relay forgets a viewer's position when its connection
// closes, so after a drop the session attaches again from the beginning
// and every stream skips the packets it already received (by the packet's
// end time, begin time and offset, and its bound); the metadata already
// received is skipped byte for byte. Packets already received are kept in
// memory across the drop. Neither relay lets a viewer attach again to a
// session whose tracer ended it while the connection was down: what the
// viewer had not received of it is lost, with a note to Options.Logf.
//
// The wire format is described in docs/format/relayd-live.md and its
// messages are in package internal/relay/proto.
package live

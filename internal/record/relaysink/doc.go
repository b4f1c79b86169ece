// Package relaysink streams the recorder's trace to a relay (tracetop
// relayd or lttng-relayd 2.13) as lttng-sessiond and lttng-consumerd
// stream a kernel session: a relay session with the host's name, trace
// chunk 0, one relay stream per CPU stream (path "kernel/", names
// channel0_N) and one for the metadata; each packet on the data
// connection followed by its index on the control connection; live
// beacons (an index with packet size 0 and the stream's end time) for
// streams idle during a live-timer period; data-pending rounds at stop;
// and at destroy the streams rotated to no chunk, the chunk closed and
// the streams closed.
//
// A Sink is a writer.Sink for record.Config.Sink, and its Live method is
// the record.LiveHook of a live session:
//
//	sk, err := relaysink.Dial(ctx, relaysink.Options{
//		Control: "127.0.0.1:5342", Data: "127.0.0.1:5343",
//		Session: "demo", LiveTimer: time.Second,
//	}) // the relay session exists: live viewers may attach
//	fmt.Println(sk.SessionDir()) // "HOST/demo-20250101-120000"
//	err = sk.Open([]string{"channel0_0", "channel0_1"}) // at the first start
//	rec, err := record.New(record.Config{Session: "demo", Sink: sk, Live: sk.Live,
//		Channels: []record.Channel{{Events: []string{"sched_switch"}, LiveTimer: time.Second}}})
//	rec.Start()
//	…
//	rec.Stop()
//	sk.Wait(ctx)            // data pending: the relay holds every packet
//	sk.Beacons(uint64(record.Now())) // while stopped, at each live period
//	rec.Destroy()           // closes the streams, then the Sink ends the session
package relaysink

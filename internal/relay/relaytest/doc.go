// Package relaytest runs our relay in process for other packages' tests
// and streams a recorded trace into it as a live session.
//
//	r := relaytest.Start(t)
//	sent := r.StreamLive(ctx, t, "trace/", "wget", "h")
//	src := openSomething(r.LiveURL() + "/host/h/wget")
//	...
//	if err := <-sent; err != nil { t.Fatal(err) }
package relaytest

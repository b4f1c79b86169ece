// Package pcapreplay splits a classic libpcap capture of LTTng relay
// traffic into TCP connections and their two reassembled byte streams, for
// replaying captured conversations against a relay in tests.
//
// It reads link types Ethernet (1), Linux cooked (113) and BSD loopback (0),
// IPv4 and IPv6, and reassembles each direction by TCP sequence number.
//
//	conns, err := pcapreplay.ReadFile("live-ust-uid.pcap")
//	for _, c := range conns {
//		if c.ServerPort == 5342 {
//			fmt.Println(len(c.Client.Bytes()), "bytes from the tracer")
//		}
//	}
package pcapreplay

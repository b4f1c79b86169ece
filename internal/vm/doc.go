// Package vm traces virtual machines together with their host: the guest
// agent (`tracetop guest`), the channel between guest and host, the host's
// guest bridge, and VM discovery.
//
// The channel is one byte stream per VM (a virtio-serial port, no IP
// network) carrying small typed frames, kind u8 | stream u8 | flags u16 |
// length u32 | payload (docs/format/vm-channel.md). The guest sends a
// hello, then its CTF metadata and packets as its recorder (package
// record) produces them, and answers the host's clock-sync pings; the
// host configures, starts and stops it. A bounded queue between the
// guest's recorder and the channel drops whole packets, counted, rather
// than stalling the ring-buffer readers.
//
// The bridge identifies the VM by SO_PEERCRED on the unix socket (the peer
// is QEMU) and its vCPU threads by name ("CPU n/TCG", "CPU n/KVM"), stores
// the guest's trace beside the host's, unchanged and in the guest's clock,
// and the sync samples in sync.json; package vm/fuse maps guest times onto
// the host's axis when reading.
//
//	// in the guest (busybox init or a service):
//	stats, err := vm.RunGuest(ctx, vm.GuestOptions{Hostname: "web1", Wait: 10 * time.Second})
//
//	// on the host: record the host and the guests until ctx is done
//	err := vm.Record(ctx, vm.RecordOptions{Dir: "trace", Sockets: []string{"/run/vm/web1.sock"}})
//	// trace/kernel, trace/guests/web1/kernel, trace/guests/web1/sync.json
//
//	// or one channel by hand
//	b := vm.NewBridge(conn, vm.BridgeOptions{Dir: "trace"})
//	go b.Run(ctx)
//	<-b.BurstDone()
//	_, fit := b.Status() // fit.Quality, fit.Bound()
package vm

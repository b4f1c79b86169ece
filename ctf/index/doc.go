// Package index reads and writes LTTng packet index files (index/*.idx),
// versions 1.0 (56-byte entries) and 1.1 (72-byte entries).
//
// An index file has one entry per packet of its data file: where the packet
// starts, its sizes, its time range and counters, so a reader can find and
// skip packets without decoding them. The format is described in
// docs/format/lttng-index.md.
//
//	h, entries, err := index.ReadFile("trace/ust/uid/0/64-bit/index/channel0_0.idx")
//	if err != nil { ... } // "index: bad magic 0x0 (want 0xc1f1dcc1) at byte 0x0"
//	for _, e := range entries {
//		fmt.Println(e.Offset, e.PacketSize/8, e.TimestampBegin, e.TimestampEnd)
//	}
//
//	w, err := index.NewWriter(f, index.Version11) // writes the header
//	err = w.Write(index.Entry{Offset: 0, PacketSize: 4096 * 8, ...})
package index

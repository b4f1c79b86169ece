package ctf

import (
	"fmt"
	"hash/fnv"
	"io"
	"path/filepath"
	"testing"
)

// digest reads a whole trace and hashes every message: kinds, times,
// classes, every value and every text byte; it also returns the error.
func digest(paths []string) (uint64, int, string) {
	h := fnv.New64a()
	r, err := Open(paths, Options{})
	if err != nil {
		return 0, 0, err.Error()
	}
	defer r.Close()
	var ev Event
	n := 0
	for {
		err := r.Read(&ev)
		if err == io.EOF {
			return h.Sum64(), n, ""
		}
		if err != nil {
			return h.Sum64(), n, err.Error()
		}
		n++
		fmt.Fprint(h, ev.Kind, ev.NS, ev.Cycles, ev.Count, ev.BeginNS, ev.EndNS)
		if ev.Kind == KindEvent {
			fmt.Fprint(h, ev.Class.Name, len(ev.Values))
		}
		for _, v := range ev.Values {
			fmt.Fprint(h, v.Bits, v.N, v.Opt)
		}
		h.Write(ev.Text)
	}
}

// TestWindowedPacketsReadTheSame reads every shared trace again with a
// 4 KiB packet window (packets larger than that are read through a
// sliding window) and checks every message and error is the same.
func TestWindowedPacketsReadTheSame(t *testing.T) {
	root, entries := loadIndex(t)
	defer func(m int) { maxPacketBuf = m }(maxPacketBuf)
	for _, e := range entries {
		t.Run(e.Group+"/"+e.Name, func(t *testing.T) {
			paths := []string{filepath.Join(root, e.Path)}
			maxPacketBuf = 4 << 20
			h1, n1, err1 := digest(paths)
			maxPacketBuf = 4096
			h2, n2, err2 := digest(paths)
			if h1 != h2 || n1 != n2 || err1 != err2 {
				t.Errorf("whole packets: %d messages, %q; windowed: %d messages, %q (digests %x %x)", n1, err1, n2, err2, h1, h2)
			}
		})
	}
}

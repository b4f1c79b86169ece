package ctf

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"testing"

	"github.com/tracetop/tracetop/ctf/meta"
)

// readLockstep reads a and b one message each in turn (at most max), a
// with the fast paths and b without, and reports the first difference.
func readLockstep(a, b *Reader, max int) (int, error) {
	var ea, eb Event
	for n := 0; n < max; n++ {
		noFastPaths = false
		erra := a.Read(&ea)
		noFastPaths = true
		errb := b.Read(&eb)
		noFastPaths = false
		if (erra == nil) != (errb == nil) || (erra != nil && erra.Error() != errb.Error()) {
			return n, fmt.Errorf("message %d: error %v with the fast paths, %v without", n, erra, errb)
		}
		if erra != nil {
			if errors.Is(erra, io.EOF) {
				return n, nil
			}
			return n, nil
		}
		if ea.Kind != eb.Kind || (ea.Class == nil) != (eb.Class == nil) || ea.Class != nil && ea.Class.Name != eb.Class.Name || ea.Cycles != eb.Cycles || ea.NS != eb.NS ||
			ea.Root != eb.Root || string(ea.Text) != string(eb.Text) {
			return n, fmt.Errorf("message %d differs: %+v\n%+v", n, ea, eb)
		}
		if len(ea.Values) != len(eb.Values) {
			return n, fmt.Errorf("message %d: %d values with the fast paths, %d without", n, len(ea.Values), len(eb.Values))
		}
		for i := range ea.Values {
			x, y := ea.Values[i], eb.Values[i]
			if !sameClass(x.Class, y.Class) || x.Bits != y.Bits || x.Start != y.Start || x.N != y.N || x.Opt != y.Opt {
				return n, fmt.Errorf("message %d: value %d is %+v with the fast paths, %+v without", n, i, x, y)
			}
		}
	}
	return max, nil
}

// sameClass compares the classes of two readers of one trace.
func sameClass(x, y *meta.Class) bool {
	if x == nil || y == nil {
		return x == y
	}
	return x.Kind == y.Kind && x.Size == y.Size && x.Role == y.Role && len(x.Fields) == len(y.Fields)
}

// TestFastPathsDecodeAsThePlan checks that the compiled fast paths (LTTng
// event headers, fused runs of fixed members) give exactly what the
// generic plan gives, on every shared trace and on generated packets in
// both byte orders (escapes, wraps, truncation).
func TestFastPathsDecodeAsThePlan(t *testing.T) {
	root, entries := loadIndex(t)
	hits := 0
	for _, e := range entries {
		p := filepath.Join(root, e.Path)
		a, err := Open([]string{p}, Options{})
		if err != nil {
			continue
		}
		b, err := Open([]string{p}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range a.streams {
			if s.sp.header != nil {
				hits++
				break
			}
		}
		n, err := readLockstep(a, b, math.MaxInt)
		a.Close()
		b.Close()
		if err != nil {
			t.Errorf("%s: %v", e.Path, err)
		} else if n == 0 {
			t.Logf("%s: no message", e.Path)
		}
	}
	if hits < 10 {
		t.Errorf("the header fast path served only %d shared traces", hits)
	}
	for _, order := range []meta.ByteOrder{meta.LittleEndian, meta.BigEndian} {
		tp, err := compileTrace(genTrace(order))
		if err != nil {
			t.Fatal(err)
		}
		if tp.streams[0].header == nil {
			t.Fatalf("%s: compact header not recognised", order)
		}
		p1 := genPacket(order, 1<<27-10, 1<<27+100, 0, []genEvent{
			{id: 40, ts: 1<<27 - 5}, {id: 0, ts: 1<<27 + 3}, {id: 40, ts: 1<<27 + 50, ext: true}, {id: 3, ts: 1<<27 + 60}})
		p2 := genPacket(order, 1<<27+200, 1<<28, 7, []genEvent{{id: 0, ts: 1<<27 + 300}, {id: 0, ts: 1<<27 + 301}})
		data := append(p1, p2...)
		for cut := len(p1); cut <= len(data); cut += 3 {
			d := append([]byte(nil), data[:cut]...)
			if cut < len(data) {
				// A truncated second packet: damage to report the same way.
				d = append(d, make([]byte, len(data)-cut)...)
			}
			a, err1 := memReader(tp, d)
			b, err2 := memReader(tp, d)
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("open: %v / %v", err1, err2)
			}
			if err1 != nil {
				continue
			}
			if _, err := readLockstep(a, b, math.MaxInt); err != nil {
				t.Errorf("%s, cut at %d: %v", order, cut, err)
			}
		}
	}
}

// TestHeaderShapes checks which headers the fast path takes.
func TestHeaderShapes(t *testing.T) {
	for _, order := range []meta.ByteOrder{meta.LittleEndian, meta.BigEndian} {
		tr := genTrace(order)
		h := tr.Streams[0].EventHeader
		// The same shape with other names is recognised (roles come from
		// names in CTF 1.8, so rename the variant, its options and the
		// labels that select them).
		h.Fields[1].Name = "x"
		h.Fields[1].Class.Fields[0].Name = "c"
		h.Fields[1].Class.Fields[1].Name = "e"
		h.Fields[0].Class.Mappings[0].Label = "c"
		h.Fields[0].Class.Mappings[1].Label = "e"
		tp, err := compileTrace(tr)
		if err != nil {
			t.Fatal(err)
		}
		if tp.streams[0].header == nil {
			t.Errorf("%s: renamed compact header not recognised", order)
		}
		// A 6-bit id is another shape.
		tr = genTrace(order)
		tr.Streams[0].EventHeader.Fields[0].Class.Size = 6
		if tp, err = compileTrace(tr); err == nil && tp.streams[0].header != nil {
			t.Errorf("%s: 6-bit id taken for the compact header", order)
		}
	}
}

// TestLargeHeaderBothOrders decodes LTTng large event headers (16-bit
// id, 32-bit timestamp, escape 65535) of random bytes with the fast path
// and with the generic plan, in both byte orders.
func TestLargeHeaderBothOrders(t *testing.T) {
	for _, order := range []meta.ByteOrder{meta.LittleEndian, meta.BigEndian} {
		tr := genTrace(order)
		h := tr.Streams[0].EventHeader
		id := h.Fields[0].Class
		id.Size, id.Align = 16, 8
		id.Mappings[0].Ranges[0].Hi = 65534
		id.Mappings[1].Ranges[0].Lo, id.Mappings[1].Ranges[0].Hi = 65535, 65535
		ts := h.Fields[1].Class.Fields[0].Class.Fields[0].Class
		ts.Size, ts.Align = 32, 8
		tp, err := compileTrace(tr)
		if err != nil {
			t.Fatal(err)
		}
		sp := tp.streams[0]
		if sp.header == nil || !sp.header.large {
			t.Fatalf("%s: large header not recognised", order)
		}
		r := uint64(1)
		for n := 0; n < 2000; n++ {
			buf := make([]byte, 32+bufPad)
			for i := range 14 {
				r = r*6364136223846793005 + 1442695040888963407
				buf[i] = byte(r >> 56)
			}
			if n%7 == 0 {
				buf[0], buf[1] = 0xff, 0xff // the escape
			}
			var fast, slow decoder
			var rf, rs [7]int32
			for _, d := range []*decoder{&fast, &slow} {
				d.buf, d.end, d.last = buf, uint64(n%20)*8, 1<<40
				d.vals = make([]Value, 0, 16)
				d.stack = nil
			}
			fast.root, slow.root = &rf, &rs
			if !fast.header(sp.header) {
				fast.scope(meta.ScopeEventHeader, sp.eventHeader)
			}
			slow.scope(meta.ScopeEventHeader, sp.eventHeader)
			if (fast.err == nil) != (slow.err == nil) || fast.off != slow.off || fast.id != slow.id ||
				fast.ts != slow.ts || fast.got != slow.got || rf != rs || len(fast.vals) != len(slow.vals) {
				t.Fatalf("%s, % x, end %d: fast %+v / generic %+v", order, buf[:14], fast.end, fast, slow)
			}
			for i := range fast.vals {
				if fast.vals[i] != slow.vals[i] {
					t.Fatalf("%s, % x: value %d: %+v / %+v", order, buf[:14], i, fast.vals[i], slow.vals[i])
				}
			}
		}
	}
}

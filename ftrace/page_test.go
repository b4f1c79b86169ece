package ftrace

import (
	"encoding/binary"
	"os"
	"testing"
)

// pageGen builds a ring-buffer page the way the kernel lays one out.
type pageGen struct {
	b    []byte
	base uint64
}

func newPage(base uint64) *pageGen {
	g := &pageGen{b: make([]byte, 16, 4096), base: base}
	binary.LittleEndian.PutUint64(g.b, base)
	return g
}

func (g *pageGen) hdr(typeLen uint32, delta uint32) {
	g.b = binary.LittleEndian.AppendUint32(g.b, typeLen|delta<<5)
}

// event appends a data record (small or large form).
func (g *pageGen) event(delta uint32, data []byte, large bool) {
	n := (len(data) + 3) &^ 3
	if large || n > 28*4 {
		g.hdr(0, delta)
		g.b = binary.LittleEndian.AppendUint32(g.b, uint32(n+4))
	} else {
		g.hdr(uint32(n/4), delta)
	}
	g.b = append(g.b, data...)
	g.b = append(g.b, make([]byte, n-len(data))...)
}

func (g *pageGen) extend(delta uint64) {
	g.hdr(typeTimeExtend, uint32(delta&(1<<27-1)))
	g.b = binary.LittleEndian.AppendUint32(g.b, uint32(delta>>27))
}

func (g *pageGen) absolute(ts uint64) {
	g.hdr(typeTimeStamp, uint32(ts&(1<<27-1)))
	g.b = binary.LittleEndian.AppendUint32(g.b, uint32(ts>>27))
}

func (g *pageGen) padding(delta uint32, n int) {
	g.hdr(typePadding, delta)
	g.b = binary.LittleEndian.AppendUint32(g.b, uint32(n))
	g.b = append(g.b, make([]byte, n-4)...)
}

func (g *pageGen) finish(flags uint64, missed uint64) []byte {
	size := uint64(len(g.b) - 16)
	binary.LittleEndian.PutUint64(g.b[8:], size|flags)
	if flags&commitStored != 0 {
		g.b = binary.LittleEndian.AppendUint64(g.b, missed)
	}
	out := make([]byte, 4096)
	copy(out, g.b)
	return out
}

func TestPage(t *testing.T) {
	rec := func(id byte, n int) []byte {
		b := make([]byte, n)
		b[0] = id
		return b
	}
	tests := []struct {
		name   string
		gen    func(g *pageGen)
		flags  uint64
		missed uint64
		want   []uint64 // timestamps of the data records
		ids    []byte
		lost   uint64
	}{
		{"small records with deltas", func(g *pageGen) {
			g.event(5, rec(1, 12), false)
			g.event(7, rec(2, 28), false)
		}, 0, 0, []uint64{1005, 1012}, []byte{1, 2}, 0},
		{"large record form", func(g *pageGen) {
			g.event(3, rec(3, 200), true)
		}, 0, 0, []uint64{1003}, []byte{3}, 0},
		{"time extend adds to the running time", func(g *pageGen) {
			g.extend(1 << 30)
			g.event(0, rec(4, 8), false)
			g.event(1, rec(5, 8), false)
		}, 0, 0, []uint64{1000 + 1<<30, 1001 + 1<<30}, []byte{4, 5}, 0},
		{"absolute timestamp replaces it", func(g *pageGen) {
			g.event(1, rec(6, 8), false)
			g.absolute(5_000_000_000)
			g.event(2, rec(7, 8), false)
		}, 0, 0, []uint64{1001, 5_000_000_002}, []byte{6, 7}, 0},
		{"discarded record padding is skipped", func(g *pageGen) {
			g.event(1, rec(8, 8), false)
			g.padding(4, 16)
			g.event(1, rec(9, 8), false)
		}, 0, 0, []uint64{1001, 1006}, []byte{8, 9}, 0},
		{"end-of-page padding ends the page", func(g *pageGen) {
			g.event(1, rec(10, 8), false)
			g.hdr(typePadding, 0)
			g.event(1, rec(11, 8), false)
		}, 0, 0, []uint64{1001}, []byte{10}, 0},
		{"missed events with a stored count", func(g *pageGen) {
			g.event(1, rec(12, 8), false)
		}, commitMissed | commitStored, 42, []uint64{1001}, []byte{12}, 42},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newPage(1000)
			tc.gen(g)
			b := g.finish(tc.flags, tc.missed)
			var p Page
			if err := p.Reset(b, DefaultPageLayout); err != nil {
				t.Fatal(err)
			}
			var r Record
			var got []uint64
			var ids []byte
			for p.Next(&r) {
				got = append(got, r.TS)
				ids = append(ids, r.Data[0])
			}
			if err := p.Err(); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d records %v, want %v", len(got), got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] || ids[i] != tc.ids[i] {
					t.Errorf("record %d: ts %d id %d, want ts %d id %d", i, got[i], ids[i], tc.want[i], tc.ids[i])
				}
			}
			if m, n := p.Missed(); m != (tc.flags&commitMissed != 0) || n != tc.lost {
				t.Errorf("missed %v %d, want %d", m, n, tc.lost)
			}
		})
	}
}

func TestPageErrors(t *testing.T) {
	g := newPage(0)
	g.event(0, make([]byte, 8), false)
	b := g.finish(0, 0)
	binary.LittleEndian.PutUint64(b[8:], 5000) // commit past the page
	var p Page
	if err := p.Reset(b, DefaultPageLayout); err == nil {
		t.Error("commit beyond the page accepted")
	}
	g = newPage(0)
	g.hdr(0, 0)
	g.b = binary.LittleEndian.AppendUint32(g.b, 4000) // length past the data
	b = g.finish(0, 0)
	p.Reset(b, DefaultPageLayout)
	var r Record
	for p.Next(&r) {
	}
	if p.Err() == nil {
		t.Error("record beyond the data accepted")
	}
	t.Log(p.Err())
}

func TestPageNoAllocs(t *testing.T) {
	g := newPage(0)
	for i := 0; i < 50; i++ {
		g.event(3, make([]byte, 24), false)
	}
	b := g.finish(0, 0)
	var p Page
	var r Record
	n := testing.AllocsPerRun(100, func() {
		p.Reset(b, DefaultPageLayout)
		for p.Next(&r) {
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per page", n)
	}
}

func TestHeaderFiles(t *testing.T) {
	hp, err := os.ReadFile("testdata/header_page")
	if err != nil {
		t.Fatal(err)
	}
	l, err := ParseHeaderPage(hp)
	if err != nil {
		t.Fatal(err)
	}
	if l != DefaultPageLayout {
		t.Errorf("layout %+v, want %+v", l, DefaultPageLayout)
	}
	he, err := os.ReadFile("testdata/header_event")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckHeaderEvent(he); err != nil {
		t.Error(err)
	}
}

func TestFormatFile(t *testing.T) {
	b, err := os.ReadFile("testdata/sched_process_fork.format")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFormat("sched", b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "sched_process_fork" || f.ID == 0 {
		t.Errorf("name %q id %d", f.Name, f.ID)
	}
	pc := f.Field("parent_comm")
	if pc == nil || pc.Kind != FieldDataLoc || !pc.Chars || pc.Offset != 8 {
		t.Errorf("parent_comm: %+v", pc)
	}
	cp := f.Field("child_pid")
	if cp == nil || cp.Kind != FieldInt || cp.Size != 4 || !cp.Signed {
		t.Errorf("child_pid: %+v", cp)
	}
	b, _ = os.ReadFile("testdata/sched_switch.format")
	f, err = ParseFormat("sched", b)
	if err != nil {
		t.Fatal(err)
	}
	if c := f.Field("prev_comm"); c == nil || c.Kind != FieldChars || c.Size != 16 {
		t.Errorf("prev_comm: %+v", c)
	}
	if len(f.Payload()) != 7 {
		t.Errorf("%d payload fields, want 7", len(f.Payload()))
	}
	if _, err := ParseFormat("x", []byte("name: x\nformat:\n\tfield:int a;\toffset:zz;\tsize:4;\tsigned:1;\n")); err == nil {
		t.Error("bad offset accepted")
	}
}

func FuzzPage(f *testing.F) {
	g := newPage(100)
	g.event(1, make([]byte, 12), false)
	g.extend(1 << 28)
	g.event(1, make([]byte, 200), true)
	g.padding(2, 8)
	g.absolute(1 << 40)
	f.Add(g.finish(commitMissed|commitStored, 3))
	f.Add(make([]byte, 16))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Page
		if p.Reset(b, DefaultPageLayout) != nil {
			return
		}
		var r Record
		n := 0
		for p.Next(&r) {
			if len(r.Data) > len(b) {
				t.Fatal("record longer than the page")
			}
			n++
			if n > len(b) {
				t.Fatal("more records than bytes")
			}
		}
	})
}

func FuzzFormat(f *testing.F) {
	for _, name := range []string{"testdata/sched_switch.format", "testdata/sched_process_fork.format"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fm, err := ParseFormat("fuzz", b)
		if err != nil {
			return
		}
		rec := make([]byte, 64)
		for i := range fm.Fields {
			fd := &fm.Fields[i]
			_ = fd.Int(rec)
			_ = fd.Bytes(rec)
		}
		_, _ = ParseHeaderPage(b)
		_ = CheckHeaderEvent(b)
	})
}

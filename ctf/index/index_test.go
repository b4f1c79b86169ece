package index

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tracetop/tracetop/internal/testenv"
)

func gen(n int) []Entry {
	var es []Entry
	for i := range n {
		es = append(es, Entry{Offset: uint64(i) * 4096, PacketSize: 4096 * 8, ContentSize: 672, TimestampBegin: uint64(1000 * i),
			TimestampEnd: uint64(1000*i + 999), EventsDiscarded: uint64(i / 2), StreamID: 0, StreamInstanceID: 1, PacketSeqNum: uint64(i)})
	}
	return es
}

func TestWriteReadRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    Version
	}{{"version 1.1 keeps instance and sequence", Version11}, {"version 1.0 drops them", Version10}} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, tc.v)
			if err != nil {
				t.Fatal(err)
			}
			want := gen(5)
			for _, e := range want {
				if err := w.Write(e); err != nil {
					t.Fatal(err)
				}
			}
			if buf.Len() != HeaderSize+5*tc.v.EntrySize() {
				t.Fatalf("size %d", buf.Len())
			}
			// a partial entry at the end is ignored
			raw := append(buf.Bytes(), 1, 2, 3)
			h, got, err := Decode(raw, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.v == Version10 {
				for i := range want {
					want[i].StreamInstanceID, want[i].PacketSeqNum = Unknown, Unknown
				}
			}
			if h.Version != tc.v || int(h.EntrySize) != tc.v.EntrySize() {
				t.Fatalf("header %+v", h)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatal(d)
			}
			// write -> read -> write gives the same bytes
			var again bytes.Buffer
			w2, _ := NewWriter(&again, h.Version)
			for _, e := range got {
				w2.Write(e)
			}
			if !bytes.Equal(again.Bytes(), buf.Bytes()) {
				t.Fatal("rewrite differs")
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	good := AppendHeader(nil, Version11)
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty file", nil, "index: file of 0 bytes is shorter than the 16-byte header at byte 0x0"},
		{"bad magic", make([]byte, 16), "index: bad magic 0x0 (want 0xc1f1dcc1) at byte 0x0"},
		{"major 2", append(append([]byte{}, good[:4]...), 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 72), "index: unsupported index major version 2 at byte 0x4"},
		{"entry too small", append(append([]byte{}, good[:12]...), 0, 0, 0, 8), "index: entry size 8 out of 56..65536 at byte 0xc"},
		{"1.1 with 56-byte entries", append(append([]byte{}, good[:12]...), 0, 0, 0, 56), "index: entry size 56 too small for version 1.1 at byte 0xc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Decode(tc.b, nil)
			if err == nil || err.Error() != tc.want || !errors.Is(err, ErrFormat) {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}
}

// A larger stride than known (a future version) is read with the known fields.
func TestLargerStride(t *testing.T) {
	b := AppendHeader(nil, Version11)
	b[15] = 80
	e := gen(1)[0]
	b = AppendEntry(b, Version11, &e)
	b = append(b, make([]byte, 8)...)
	_, got, err := Decode(b, nil)
	if err != nil || len(got) != 1 || got[0] != e {
		t.Fatalf("%v %+v", err, got)
	}
}

// The shared LTTng trace's index files match their data files.
func TestSharedTraceIndexes(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t, "traces/generated/ust-libc-small"), "trace/ust/uid/0/64-bit")
	for _, name := range []string{"channel0_0", "channel0_1"} {
		h, es, err := ReadFile(filepath.Join(dir, "index", name+".idx"))
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if h.Version != Version11 || len(es) == 0 {
			t.Fatalf("%s: %+v, %d entries", name, h, len(es))
		}
		var off uint64
		for i, e := range es {
			if e.Offset != off || e.ContentSize > e.PacketSize || e.TimestampEnd < e.TimestampBegin || e.PacketSeqNum != uint64(i) {
				t.Fatalf("%s entry %d: %+v", name, i, e)
			}
			off += e.PacketSize / 8
		}
		if off != uint64(fi.Size()) {
			t.Fatalf("%s: packets cover %d bytes, file has %d", name, off, fi.Size())
		}
	}
}

func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Version11)
	w.Write(gen(1)[0])
	f.Add(buf.Bytes())
	f.Add(AppendHeader(nil, Version10))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, es, err := Decode(b, nil)
		if err != nil {
			return
		}
		if len(es) != (len(b)-HeaderSize)/int(h.EntrySize) {
			t.Fatalf("%d entries from %d bytes", len(es), len(b))
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Version11)
	for _, e := range gen(1000) {
		w.Write(e)
	}
	dst := make([]Entry, 0, 1000)
	b.ReportAllocs()
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		_, dst, _ = Decode(buf.Bytes(), dst[:0])
	}
}

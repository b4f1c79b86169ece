package ctf

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTrace copies a trace folder (metadata and stream files, no index).
func copyTrace(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// eventEnds returns the byte offset in its file where each event of the
// stream ends, in order (the stream is read alone, without the merge).
func eventEnds(t *testing.T, dir, file string) []int64 {
	t.Helper()
	r, err := Open([]string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var ends []int64
	for _, s := range r.streams {
		if filepath.Base(s.files[0].path) != file {
			continue
		}
		for s.advance(); s.valid; s.advance() {
			if s.head.Kind == KindEvent {
				p := s.packets[s.pi]
				ends = append(ends, p.Offset+int64(s.base)+int64((s.dec.off+7)/8))
			}
		}
		if s.err != nil {
			t.Fatal(s.err)
		}
		return ends
	}
	t.Fatalf("no stream file %s", file)
	return nil
}

type damageKey struct {
	ns     int64
	name   string
	stream string
}

// readDamaged reads a whole trace, returning its events and the error
// that ended the read (nil at io.EOF).
func readDamaged(dir string) ([]damageKey, error) {
	r, err := Open([]string{dir}, Options{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []damageKey
	var ev Event
	for {
		err := r.Read(&ev)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if ev.Kind == KindEvent {
			out = append(out, damageKey{ev.NS, ev.Class.Name, ev.Stream.Name})
		}
	}
}

// TestDamagedStream cuts or corrupts a real stream file (of a trace with
// four streams, with and without its index files): the events delivered
// are those of a whole read, in the same order, up to the damage; every
// event of the damaged stream that lies before the damage is among them
// (when the file ends inside a packet, its events up to the end of the
// file too); then an error names the file, the byte offset and what was
// expected.
func TestDamagedStream(t *testing.T) {
	root, _ := loadIndex(t)
	src := filepath.Join(root, "traces/babeltrace/succeed-trace-with-index/trace")
	full, err := readDamaged(src)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open([]string{src}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Streams()[0]
	pk := s.Packets()
	name := filepath.Base(s.Files[0])
	r.Close()
	if len(pk) < 3 {
		t.Fatalf("%d packets", len(pk))
	}
	ends := eventEnds(t, src, name)
	// before counts the stream's events that end at or before byte off.
	before := func(off int64) int {
		n := 0
		for _, e := range ends {
			if e <= off {
				n++
			}
		}
		return n
	}
	mid := pk[2].Offset + pk[2].Size/2
	content := pk[2].Offset + int64(pk[2].Content/8)
	cases := []struct {
		name   string
		damage func(b []byte) []byte
		off    int64 // where the error says the damage is
		events int   // events of the damaged stream delivered
		want   string
	}{
		{"file cut in the middle of the third packet", func(b []byte) []byte { return b[:mid] }, mid, before(mid),
			"file ends inside the event"},
		{"file cut in the middle of the first packet", func(b []byte) []byte { return b[:pk[0].Size/2] }, pk[0].Size / 2, before(pk[0].Size / 2),
			"file ends inside the event"},
		{"file cut in the padding of the third packet", func(b []byte) []byte { return b[:content] }, pk[2].Offset, before(content),
			"goes past the end of the file"},
		{"third packet magic overwritten", func(b []byte) []byte { copy(b[pk[2].Offset:], []byte{0, 0, 0, 0}); return b }, pk[2].Offset, before(pk[2].Offset),
			"bad packet magic"},
	}
	for _, c := range cases {
		for _, withIndex := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/index=%v", c.name, withIndex), func(t *testing.T) {
				dir := copyTrace(t, src)
				if withIndex {
					copyDir(t, filepath.Join(src, "index"), filepath.Join(dir, "index"))
				}
				p := filepath.Join(dir, name)
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, c.damage(b), 0o644); err != nil {
					t.Fatal(err)
				}
				got, err := readDamaged(dir)
				if err == nil {
					t.Fatalf("no error after %d events", len(got))
				}
				var fe *FormatError
				if !errors.As(err, &fe) || fe.File != p || fe.Off != c.off || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %v (want a FormatError for %s at byte %#x saying %q)", err, p, c.off, c.want)
				}
				n := 0
				for i, k := range got {
					if k != full[i] {
						t.Fatalf("event %d: %+v, a whole read gives %+v", i, k, full[i])
					}
					if k.stream == name {
						n++
					}
				}
				if n != c.events || n == 0 {
					t.Fatalf("%d events of %s before the error, want %d", n, name, c.events)
				}
				t.Logf("%d of %d events (%d of %d of the damaged stream), then %v", len(got), len(full), n, len(ends), err)
			})
		}
	}
}

// copyDir copies the regular files of a folder.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

package ctf

import (
	"errors"
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

// TestDamagedStream cuts or corrupts a real stream file: every event
// before the damage is delivered, then an error names the file, the byte
// offset and what was expected.
func TestDamagedStream(t *testing.T) {
	root, _ := loadIndex(t)
	src := filepath.Join(root, "traces/babeltrace/succeed-trace-with-index/trace")
	full := readAll([]string{src}, Options{NoIndex: true})
	if full.err != nil {
		t.Fatal(full.err)
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
	cases := []struct {
		name   string
		damage func(b []byte) []byte
		want   string
	}{
		{"file cut in the middle of the third packet", func(b []byte) []byte { return b[:pk[2].Offset+pk[2].Size/2] }, "past the end of the file"},
		{"third packet magic overwritten", func(b []byte) []byte { copy(b[pk[2].Offset:], []byte{0, 0, 0, 0}); return b }, "bad packet magic"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyTrace(t, src)
			p := filepath.Join(dir, name)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, c.damage(b), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := Open([]string{dir}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var ev Event
			n := 0
			for {
				err = r.Read(&ev)
				if err != nil {
					break
				}
				if ev.Kind == KindEvent {
					n++
				}
			}
			if err == io.EOF {
				t.Fatalf("no error after %d events", n)
			}
			var fe *FormatError
			if !errors.As(err, &fe) || fe.File != p || fe.Off != pk[2].Offset || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v (want a FormatError for %s at byte %#x saying %q)", err, p, pk[2].Offset, c.want)
			}
			// Every event of the first two packets came before the error.
			if n < 2 {
				t.Fatalf("%d events before the error", n)
			}
			t.Logf("%d of %d events, then %v", n, full.events, err)
		})
	}
}

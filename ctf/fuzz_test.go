package ctf

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tracetop/tracetop/ctf/tsdl"
)

// fuzzTraces are the real traces whose metadata the packet fuzzer
// decodes mutated stream bytes with, relative to the repository's sibling
// shared folder or to testdata/fuzzmeta (committed copies).
var fuzzTraces = []string{
	"ust-libc-small",      // large header, contexts, strings, sequences
	"simple-kernel",       // compact header, bitfields, variants, big metadata
	"flipping-endianness", // big-endian, natural alignment
	"funky-trace",         // odd sizes, floats, nested variants
}

var (
	fuzzOnce  sync.Once
	fuzzPlans []*tracePlan
)

func fuzzPlan(t testing.TB, i int) *tracePlan {
	fuzzOnce.Do(func() {
		for _, n := range fuzzTraces {
			b, err := os.ReadFile(filepath.Join("testdata", "fuzzmeta", n+".metadata"))
			if err != nil {
				t.Fatal(err)
			}
			mt, err := tsdl.ParseMetadata(b)
			if err != nil {
				t.Fatal(err)
			}
			tp, err := compileTrace(mt)
			if err != nil {
				t.Fatal(err)
			}
			fuzzPlans = append(fuzzPlans, tp)
		}
	})
	return fuzzPlans[i%len(fuzzPlans)]
}

// FuzzPacket decodes mutated stream bytes with the metadata of real
// traces: any input must end in io.EOF or an error, never a panic or a
// hang, and the compiled fast paths must decode exactly what the generic
// plans decode (same values, same errors).
func FuzzPacket(f *testing.F) {
	for i, n := range fuzzTraces {
		b, err := os.ReadFile(filepath.Join("testdata", "fuzzmeta", n+".stream"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		tp := fuzzPlan(t, int(which))
		a, err := memReader(tp, data)
		if err != nil {
			return
		}
		b, err := memReader(tp, data)
		if err != nil {
			t.Fatalf("second reader: %v", err)
		}
		if _, err := readLockstep(a, b, 1<<20); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzMetadata parses, compiles and reads with mutated metadata text over
// a real stream: a bad metadata must give an error, never a panic.
func FuzzMetadata(f *testing.F) {
	for _, n := range []string{"ust-libc-small", "funky-trace"} {
		mb, err := os.ReadFile(filepath.Join("testdata", "fuzzmeta", n+".metadata"))
		if err != nil {
			f.Fatal(err)
		}
		if tsdl.IsPacketized(mb) {
			if mb, err = tsdl.Unpacketize(mb); err != nil {
				f.Fatal(err)
			}
		}
		f.Add(mb)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "fuzzmeta", "ust-libc-small.stream"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		mt, err := tsdl.ParseMetadata(text)
		if err != nil {
			return
		}
		tp, err := compileTrace(mt)
		if err != nil {
			return
		}
		r, err := memReader(tp, data)
		if err != nil {
			return
		}
		var ev Event
		for n := 0; n < 1<<16; n++ {
			if err := r.Read(&ev); err != nil {
				return
			}
		}
	})
}

// TestWriteFuzzSeeds rewrites testdata/fuzzmeta from the shared traces
// (run with TRACETOP_WRITE_FUZZ_SEEDS=1): each trace's metadata and the
// first packets (at most 16 KiB) of its first stream.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("TRACETOP_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set TRACETOP_WRITE_FUZZ_SEEDS=1 to rewrite the fuzz seeds")
	}
	root, _ := loadIndex(t)
	paths := map[string]string{
		"ust-libc-small":      "traces/generated/ust-libc-small/trace",
		"simple-kernel":       "traces/tracevizlab/simple-kernel/trace",
		"flipping-endianness": "traces/tracecompass/flipping-endianness/trace",
		"funky-trace":         "traces/tracecompass/funky-trace/trace",
	}
	os.MkdirAll(filepath.Join("testdata", "fuzzmeta"), 0o755)
	for _, n := range fuzzTraces {
		r, err := Open([]string{filepath.Join(root, paths[n])}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		s := r.streams[0]
		for _, x := range r.streams {
			if len(x.packets) > 0 && x.packets[0].Size < s.packets[0].Size {
				s = x
			}
		}
		mb, err := os.ReadFile(filepath.Join(r.traces[0].Path, "metadata"))
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(s.files[0].path)
		if err != nil {
			t.Fatal(err)
		}
		end := int64(0)
		for _, p := range s.packets {
			if p.File != 0 || (end > 0 && p.Offset+p.Size > 16<<10) {
				break
			}
			end = p.Offset + p.Size
		}
		if end > 16<<10 {
			end = 16 << 10
		}
		os.WriteFile(filepath.Join("testdata", "fuzzmeta", n+".metadata"), mb, 0o644)
		os.WriteFile(filepath.Join("testdata", "fuzzmeta", n+".stream"), data[:end], 0o644)
		r.Close()
	}
}

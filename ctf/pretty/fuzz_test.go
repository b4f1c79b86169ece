package pretty_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/pretty"
)

// FuzzPrint decodes and prints a fuzzed stream file under a real LTTng-UST
// metadata (testdata/ust, from a recording of this project) with every
// name and field shown: any error is fine, a panic is not.
func FuzzPrint(f *testing.F) {
	meta, err := os.ReadFile("testdata/ust/metadata")
	if err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile("testdata/ust/channel0_1")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:4096])
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "metadata"), meta, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "channel0_0"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := ctf.Open([]string{dir}, ctf.Options{})
		if err != nil {
			return
		}
		defer src.Close()
		o := pretty.DefaultOptions()
		o.SetNames("all")
		o.SetFields("all")
		o.Err = io.Discard
		_ = pretty.Run(src, io.Discard, o, pretty.Range{})
	})
}

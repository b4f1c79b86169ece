package tsdl

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracetop/tracetop/internal/testenv"
)

// TestIntegerMemoParsesAsThePlainParser: every shared metadata gives the
// same trace, the same warnings and the same error (with its line) with
// the memo of integer classes as without it.
func TestIntegerMemoParsesAsThePlainParser(t *testing.T) {
	files := metadataFiles(t, testenv.SharedDir(t, "traces"))
	memoHits := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		noIntMemo = true
		want, werr := ParseMetadata(raw)
		noIntMemo = false
		got, gerr := ParseMetadata(raw)
		if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
			t.Errorf("%s: error %v with the memo, %v without", f, gerr, werr)
			continue
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: the memo changes the trace (-without +with):\n%s", f, d)
		}
		if got != nil {
			n := 0
			for _, s := range got.Streams {
				n += len(s.Events)
			}
			if n > 100 {
				memoHits++
			}
		}
	}
	if memoHits == 0 {
		t.Error("no shared metadata with many events")
	}
	t.Logf("%d metadata files compared", len(files))
}

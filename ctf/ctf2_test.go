package ctf

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/tracetop/tracetop/ctf/meta"
	"github.com/tracetop/tracetop/internal/testenv"
)

// TestCTF2VarInts decodes the LEB128 integers of CTF2-vl-ints (values
// checked by hand against the stream bytes).
func TestCTF2VarInts(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t, "traces"), "tracecompass-ctf2", "CTF2-vl-ints", "trace")
	r, err := Open([]string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var ev Event
	if err := r.Read(&ev); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{
		"vu1a": 0, "vu1b": 77, "vu2": 177, "vu3": 43123, "vu9": 333333333333333333,
		"vu10": -1, // 2^64-1
		"vi1b": -1, "vi2": -156, "vi4": -100101001, "vi8": -1121231234123450,
		"vi10b": math.MaxInt64, "vi10c": math.MinInt64,
	}
	pc := ev.Class.Payload
	for name, w := range want {
		i := pc.FieldIndex(name)
		if i < 0 {
			t.Fatalf("no field %q", name)
		}
		if got := ev.Field(meta.ScopeEventPayload, i).Int(); got != w {
			t.Errorf("%s = %d, want %d", name, got, w)
		}
	}
}

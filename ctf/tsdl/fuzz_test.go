package tsdl

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse feeds metadata bytes (plain or packetized) to ParseMetadata:
// any input must give a trace or an error, never a panic or a hang, and
// the same with the memo of integer classes as without it. Seeds
// are small real metadata files (testdata/seed, from babeltrace's MIT test
// traces) and the LTTng-shaped text of the unit tests; crashers found are
// kept in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/seed/*")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(lttngHeader))
	f.Add(packetize([]byte(lttngHeader), binary.BigEndian, 512, 1, 8))
	f.Add([]byte("/* CTF 1.8 */ trace { major = 1; minor = 8; byte_order = le; }; " +
		"typealias integer { size = 8; } := u8; event { name = \"a\\x41\\0b\"; fields := struct { u8 n; u8 s[n][2]; " +
		"enum : u8 { A = 1 ... 3, B } e; variant <e> { u8 A; string B; } v; }; };"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ParseMetadata(b)
		if err == nil && tr == nil {
			t.Fatal("nil trace without an error")
		}
		// The memo of integer classes changes nothing.
		noIntMemo = true
		plain, perr := ParseMetadata(b)
		noIntMemo = false
		if (err == nil) != (perr == nil) || err != nil && err.Error() != perr.Error() {
			t.Fatalf("error %v with the memo, %v without", err, perr)
		}
		if d := cmp.Diff(plain, tr); d != "" {
			t.Fatalf("the memo changes the trace (-without +with):\n%s", d)
		}
	})
}

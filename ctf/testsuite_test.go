package ctf

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tracetop/tracetop/internal/testenv"
)

// TestTestsuiteStreams runs the ctf-testsuite stream cases: every pass
// case reads to the end, every fail case ends with an error.
func TestTestsuiteStreams(t *testing.T) {
	base := filepath.Join(testenv.SharedDir(t, "traces"), "ctf-testsuite", "1.8", "regression", "stream")
	for _, verdict := range []string{"pass", "fail"} {
		cases, err := os.ReadDir(filepath.Join(base, verdict))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			t.Run(verdict+"/"+c.Name(), func(t *testing.T) {
				got := readAll([]string{filepath.Join(base, verdict, c.Name())}, Options{})
				switch {
				case verdict == "pass" && got.err != nil:
					t.Errorf("after %d events: %v", got.events, got.err)
				case verdict == "fail" && got.err == nil:
					t.Errorf("read %d events without error", got.events)
				default:
					t.Logf("%d events, err %v", got.events, got.err)
				}
			})
		}
	}
}

// TestTestsuiteMetadata runs the ctf-testsuite metadata cases through
// Open (parse and compile).
func TestTestsuiteMetadata(t *testing.T) {
	base := filepath.Join(testenv.SharedDir(t, "traces"), "ctf-testsuite", "1.8", "regression", "metadata")
	for _, verdict := range []string{"pass", "fail"} {
		cases, err := os.ReadDir(filepath.Join(base, verdict))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			t.Run(verdict+"/"+c.Name(), func(t *testing.T) {
				got := readAll([]string{filepath.Join(base, verdict, c.Name())}, Options{})
				if verdict == "pass" && got.err != nil {
					t.Errorf("%v", got.err)
				}
				if verdict == "fail" && got.err == nil {
					t.Logf("accepted (the metadata parser decides)")
				}
			})
		}
	}
}

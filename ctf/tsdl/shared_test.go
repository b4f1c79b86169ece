package tsdl

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tracetop/tracetop/internal/testenv"
)

// metadataFiles returns every file called metadata under dir.
func metadataFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "metadata" {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// failingTraces are the shared traces whose metadata must be refused, with
// the reason.
var failingTraces = map[string]string{
	"babeltrace/fail-fail1":                                "trace major = 0",
	"babeltrace/fail-smalltrace":                           "trace major = 0",
	"babeltrace/fail-fail2":                                "",
	"babeltrace/fail-integer-range":                        "",
	"babeltrace/fail-lttng-modules-2.0-pre1":               "",
	"babeltrace/fail-metadata-syntax-error":                "",
	"babeltrace/fail-packet-based-metadata":                "",
	"babeltrace/fail-invalid-sequence-length-field-class":  "",
	"babeltrace/fail-invalid-variant-selector-field-class": "",
}

// TestSharedTraces parses the metadata of every shared trace: all parse,
// except the babeltrace fail-* cases about metadata.
func TestSharedTraces(t *testing.T) {
	root := testenv.SharedDir(t, "traces")
	for _, group := range []string{"babeltrace", "tracecompass", "tracevizlab", "generated", "ctf-testsuite/1.8/regression/stream"} {
		for _, f := range metadataFiles(t, filepath.Join(root, group)) {
			rel, _ := filepath.Rel(root, f)
			entry := strings.Join(strings.Split(rel, string(filepath.Separator))[:2], "/")
			t.Run(rel, func(t *testing.T) {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				tr, err := ParseMetadata(b)
				_, mustFail := failingTraces[entry]
				if strings.Contains(rel, "/stream/fail/") || strings.Contains(rel, "/stream/pass/") {
					mustFail = false
				}
				switch {
				case mustFail && err == nil:
					t.Errorf("accepted, want an error")
				case mustFail:
					t.Logf("refused as expected: %v", err)
				case err != nil:
					t.Errorf("%v", err)
				default:
					n := 0
					for _, s := range tr.Streams {
						n += len(s.Events)
					}
					t.Logf("%d streams, %d event classes, %d clocks, %d warnings", len(tr.Streams), n, len(tr.Clocks), len(tr.Warnings))
				}
			})
		}
	}
}

// TestConformance runs ctf-testsuite's metadata cases: every pass case
// parses, every fail case is refused (the cases only the compiler can
// judge are listed in compilerCases).
func TestConformance(t *testing.T) {
	root := filepath.Join(testenv.SharedDir(t, "traces"), "ctf-testsuite", "1.8", "regression", "metadata")
	var passOK, passN, failOK, failN int
	for _, verdict := range []string{"pass", "fail"} {
		dirs, err := os.ReadDir(filepath.Join(root, verdict))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dirs {
			name := d.Name()
			b, err := os.ReadFile(filepath.Join(root, verdict, name, "metadata"))
			if err != nil {
				t.Fatal(err)
			}
			_, perr := ParseMetadata(b)
			if verdict == "pass" {
				passN++
				if perr != nil {
					t.Errorf("pass/%s: %v", name, perr)
				} else {
					passOK++
				}
				continue
			}
			failN++
			if perr != nil {
				failOK++
				t.Logf("fail/%s: %v", name, perr)
			} else if _, ok := compilerCases[name]; !ok {
				t.Errorf("fail/%s: accepted", name)
			}
		}
	}
	t.Logf("metadata/pass: %d of %d parse; metadata/fail: %d of %d refused by the parser", passOK, passN, failOK, failN)
}

// compilerCases are ctf-testsuite metadata/fail cases that the parser
// accepts because only resolving fields across scopes can refuse them.
var compilerCases = map[string]string{}

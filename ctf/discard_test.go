package ctf

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var warnRE = regexp.MustCompile(`^WARNING: Tracer discarded (\d+) (event|packet)s? (between \[([0-9:.]+)\] and \[([0-9:.]+)\]|\(unknown time range\)) in trace .* within stream "([^"]*)"`)

// TestDiscardedMatchBabeltrace2 compares the discarded-event and
// lost-packet messages with babeltrace2's warnings: count, time range and
// order.
func TestDiscardedMatchBabeltrace2(t *testing.T) {
	root, entries := loadIndex(t)
	for _, e := range entries {
		dir := filepath.Dir(filepath.Join(root, e.Path))
		b, err := os.ReadFile(filepath.Join(dir, "EXPECTED.babeltrace2.err"))
		if err != nil || !strings.Contains(string(b), "WARNING: Tracer discarded") {
			continue
		}
		t.Run(e.Group+"/"+e.Name, func(t *testing.T) {
			var want []string
			for _, l := range strings.Split(string(b), "\n") {
				if m := warnRE.FindStringSubmatch(l); m != nil {
					want = append(want, fmt.Sprintf("%s %s %s %s", m[1], m[2], m[4], m[5]))
				}
			}
			r, err := Open([]string{filepath.Join(root, e.Path)}, Options{})
			if err != nil {
				if strings.Contains(err.Error(), "CTF 2") {
					t.Skip(err)
				}
				t.Fatal(err)
			}
			defer r.Close()
			var got []string
			var ev Event
			for {
				err := r.Read(&ev)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if ev.Kind == KindEvent {
					continue
				}
				what := "event"
				if ev.Kind == KindLostPackets {
					what = "packet"
				}
				b, en := "", ""
				if ev.HasBounds {
					f := func(ns int64) string { return time.Unix(0, ns).UTC().Format("15:04:05.000000000") }
					b, en = f(ev.BeginNS), f(ev.EndNS)
				}
				got = append(got, fmt.Sprintf("%d %s %s %s", ev.Count, what, b, en))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

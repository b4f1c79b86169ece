package ctf

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracetop/tracetop/internal/testenv"
)

// traceFacts is what INDEX.json says about one shared trace.
type traceFacts struct {
	Group      string         `json:"group"`
	Name       string         `json:"name"`
	Path       string         `json:"path"`
	RC         *int           `json:"babeltrace2_rc"`
	Events     *int           `json:"events"`
	EventNames map[string]int `json:"event_names"`
	Streams    *int           `json:"streams"`
	FirstNS    *int64         `json:"first_ns"`
	LastNS     *int64         `json:"last_ns"`
	Discarded  *uint64        `json:"discarded_events"`
	DiscPkts   *uint64        `json:"discarded_packets"`
}

func loadIndex(t *testing.T) (string, []traceFacts) {
	t.Helper()
	dir := testenv.SharedDir(t, "traces")
	b, err := os.ReadFile(filepath.Join(dir, "INDEX.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Entries []traceFacts `json:"entries"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(dir), idx.Entries
}

// readSummary is what reading a whole trace gave.
type readSummary struct {
	events     int
	names      map[string]int
	first      int64
	last       int64
	haveTime   bool
	discarded  uint64
	lostPkts   uint64
	err        error
	streams    int
	streamsHit map[*Stream]bool
}

func readAll(paths []string, opt Options) readSummary {
	s := readSummary{names: map[string]int{}, streamsHit: map[*Stream]bool{}}
	r, err := Open(paths, opt)
	if err != nil {
		s.err = err
		return s
	}
	defer r.Close()
	s.streams = len(r.Streams())
	var ev Event
	for {
		err := r.Read(&ev)
		if err == io.EOF {
			break
		}
		if err != nil {
			s.err = err
			break
		}
		switch ev.Kind {
		case KindEvent:
			s.events++
			s.names[ev.Class.Name]++
			s.streamsHit[ev.Stream] = true
			if ev.HasTime {
				if !s.haveTime {
					s.first = ev.NS
				}
				s.haveTime = true
				s.last = ev.NS
			}
		case KindDiscarded:
			s.discarded += ev.Count
		case KindLostPackets:
			s.lostPkts += ev.Count
		}
	}
	return s
}

// Traces babeltrace2 stops on (or crashes on) that we read further, with
// the number of events babeltrace 1 reads.
var readFurther = map[string]int{
	"tracecompass/synctraces":              196500,
	"tracecompass/hello-lost":              32300,
	"tracecompass/funky-trace":             100002,
	"babeltrace/succeed-meta-ctx-sequence": -1,
}

func TestSharedTracesMatchIndex(t *testing.T) {
	root, entries := loadIndex(t)
	for _, e := range entries {
		id := e.Group + "/" + e.Name
		t.Run(id, func(t *testing.T) {
			got := readAll([]string{filepath.Join(root, e.Path)}, Options{})
			want, further := readFurther[id]
			if e.RC != nil && *e.RC != 0 && !further {
				if got.err == nil {
					t.Fatalf("read %d events without error; babeltrace2 fails (exit %d)", got.events, *e.RC)
				}
				t.Logf("error as expected: %v", got.err)
				if e.Events != nil && got.events < *e.Events {
					t.Errorf("%d events before the error, babeltrace2 printed %d", got.events, *e.Events)
				}
				return
			}
			if got.err != nil {
				t.Fatalf("after %d events: %v", got.events, got.err)
			}
			if further {
				if want >= 0 && got.events != want {
					t.Errorf("events: got %d, babeltrace 1 reads %d", got.events, want)
				}
				return
			}
			if e.Events != nil && got.events != *e.Events {
				t.Errorf("events: got %d want %d", got.events, *e.Events)
			}
			for n, c := range e.EventNames {
				if got.names[n] != c {
					t.Errorf("event %q: got %d want %d", n, got.names[n], c)
				}
			}
			if e.FirstNS != nil && (got.first != *e.FirstNS || got.last != *e.LastNS) {
				t.Errorf("time range: got %d..%d want %d..%d", got.first, got.last, *e.FirstNS, *e.LastNS)
			}
			if e.Discarded != nil && got.discarded != *e.Discarded {
				t.Errorf("discarded events: got %d want %d", got.discarded, *e.Discarded)
			}
			if e.DiscPkts != nil && got.lostPkts != *e.DiscPkts {
				t.Errorf("lost packets: got %d want %d", got.lostPkts, *e.DiscPkts)
			}
		})
	}
}

func TestReadErrorsAreFormatErrors(t *testing.T) {
	var fe *FormatError
	err := error(&FormatError{File: "x", Off: 3, Msg: "m"})
	if !errors.As(err, &fe) || !errors.Is(err, ErrFormat) {
		t.Fatal("FormatError does not match ErrFormat")
	}
}

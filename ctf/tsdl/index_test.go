package tsdl

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tracetop/tracetop/ctf/meta"
	"github.com/tracetop/tracetop/internal/testenv"
)

// indexEntry is the part of traces/INDEX.json this test compares with.
type indexEntry struct {
	Entry  string `json:"entry"`
	Path   string `json:"path"`
	Traces map[string]struct {
		Env map[string]any `json:"env"`
	} `json:"traces"`
	TSDL map[string]struct {
		Packetized    bool     `json:"metadata_packetized"`
		CTFVersion    int      `json:"ctf_version"`
		ByteOrder     string   `json:"trace_byte_order"`
		EventClasses  int      `json:"event_classes"`
		StreamClasses int      `json:"stream_classes"`
		PacketHeader  []string `json:"packet_header_fields"`
		PacketContext []string `json:"packet_context_fields"`
		EventContext  []string `json:"stream_event_context_fields"`
		MetadataError any      `json:"metadata_error"`
		Clocks        []struct {
			Name      string `json:"name"`
			Freq      string `json:"freq"`
			Offset    string `json:"offset"`
			OffsetS   string `json:"offset_s"`
			Precision string `json:"precision"`
		} `json:"clocks"`
	} `json:"tsdl"`
}

func fieldNames(c *meta.Class) []string {
	if c == nil {
		return []string{}
	}
	out := []string{}
	for _, f := range c.Fields {
		out = append(out, f.Name)
	}
	return out
}

// TestIndexSummary compares a summary of each parsed metadata (stream and
// event class counts, scope field names, clocks, environment) with
// traces/INDEX.json.
func TestIndexSummary(t *testing.T) {
	shared := testenv.SharedDir(t, "traces")
	b, err := os.ReadFile(filepath.Join(shared, "INDEX.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Entries []indexEntry `json:"entries"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range idx.Entries {
		if strings.HasPrefix(e.Entry, "tracecompass-ctf2/") {
			continue // the summary describes the CTF 1.8 twin
		}
		for dir, want := range e.TSDL {
			if want.CTFVersion != 1 || want.MetadataError != nil && want.MetadataError != false {
				continue
			}
			p := filepath.Join(filepath.Dir(shared), e.Path, dir, "metadata")
			t.Run(e.Entry+"/"+dir, func(t *testing.T) {
				mb, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				tr, err := ParseMetadata(mb)
				if _, bad := failingTraces[e.Entry]; bad {
					if err == nil {
						t.Fatal("accepted")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				checked++
				if got := IsPacketized(mb); got != want.Packetized {
					t.Errorf("packetized %v, want %v", got, want.Packetized)
				}
				if got := tr.ByteOrder.String(); got != want.ByteOrder {
					t.Errorf("byte order %s, want %s", got, want.ByteOrder)
				}
				n := 0
				var pc, ec []string
				for _, s := range tr.Streams {
					n += len(s.Events)
					if pc == nil && s.PacketContext != nil {
						pc = fieldNames(s.PacketContext)
					}
					if ec == nil && s.EventContext != nil {
						ec = fieldNames(s.EventContext)
					}
				}
				// The index counts stream blocks; a metadata without one has
				// an implicit stream class.
				if want.StreamClasses == 0 && len(tr.Streams) == 1 && !strings.Contains(string(mb), "stream {") {
					want.StreamClasses = 1
				}
				if n != want.EventClasses || len(tr.Streams) != want.StreamClasses {
					t.Errorf("%d stream classes, %d event classes; want %d, %d", len(tr.Streams), n, want.StreamClasses, want.EventClasses)
				}
				cmpNames(t, "packet header", fieldNames(tr.PacketHeader), want.PacketHeader)
				if pc == nil {
					pc = []string{}
				}
				cmpNames(t, "packet context", pc, want.PacketContext)
				if ec == nil {
					ec = []string{}
				}
				cmpNames(t, "stream event context", ec, want.EventContext)
				if len(tr.Clocks) != len(want.Clocks) {
					t.Errorf("%d clocks, want %d", len(tr.Clocks), len(want.Clocks))
				}
				for i, wc := range want.Clocks {
					if i >= len(tr.Clocks) {
						break
					}
					c := tr.Clocks[i]
					got := map[string]string{"name": c.Name, "freq": fmt.Sprint(c.Freq)}
					exp := map[string]string{"name": wc.Name, "freq": wc.Freq}
					if wc.Offset != "" {
						got["offset"], exp["offset"] = fmt.Sprint(c.Offset), wc.Offset
					}
					if wc.OffsetS != "" {
						got["offset_s"], exp["offset_s"] = fmt.Sprint(c.OffsetS), wc.OffsetS
					}
					if wc.Precision != "" {
						got["precision"], exp["precision"] = fmt.Sprint(c.Precision), wc.Precision
					}
					if fmt.Sprint(got) != fmt.Sprint(exp) {
						t.Errorf("clock %d: %v, want %v", i, got, exp)
					}
				}
				if tr.HasUUID {
					u := tr.UUID
					key := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
					if te, ok := e.Traces[key]; ok {
						for k, v := range te.Env {
							got, ok := tr.EnvString(k)
							var ws string
							switch v := v.(type) {
							case float64:
								ws = strconv.FormatInt(int64(v), 10)
							default:
								ws = fmt.Sprint(v)
							}
							if !ok || got != ws {
								t.Errorf("env %s = %q, want %q", k, got, ws)
							}
						}
					}
				}
			})
		}
	}
	t.Logf("%d metadata summaries checked against INDEX.json", checked)
}

// cmpNames compares field names. The index was made with regular
// expressions ("indicative only"): it misses sequences and may run into
// the next struct, so one list must contain the other.
func cmpNames(t *testing.T, what string, got, want []string) {
	t.Helper()
	subset := func(a, b []string) bool {
		m := map[string]bool{}
		for _, x := range b {
			m[strings.TrimPrefix(x, "_")] = true
		}
		for _, x := range a {
			if !m[strings.TrimPrefix(x, "_")] {
				return false
			}
		}
		return true
	}
	if len(got) > 0 && len(want) > 0 && (subset(got, want) || subset(want, got)) {
		return
	}
	g := append([]string(nil), got...)
	w := append([]string(nil), want...)
	for i := range g {
		g[i] = strings.TrimPrefix(g[i], "_")
	}
	for i := range w {
		w[i] = strings.TrimPrefix(w[i], "_")
	}
	sort.Strings(g)
	sort.Strings(w)
	if strings.Join(g, ",") != strings.Join(w, ",") {
		t.Errorf("%s fields %v, want %v", what, got, want)
	}
}

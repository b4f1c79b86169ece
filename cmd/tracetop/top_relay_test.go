package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracetop/tracetop/internal/relay/relaytest"
	"github.com/tracetop/tracetop/internal/testenv"
)

// TestTopRelaySource streams tracevizlab/wget-k to our relay as a live
// session and opens it as the top does (net://HOST:PORT/host/H/S through
// relaySource, the top's one path for relays): the interval of the whole session shows code (pid 3876)
// busiest, as on the folder; net://HOST:PORT alone lists the session.
func TestTopRelaySource(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t, "traces"), "tracevizlab/wget-k/trace")
	r := relaytest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sent := r.StreamLive(ctx, t, dir, "wget", "h")
	relayURL := r.LiveURL()
	// Not a terminal: the listing comes back as the error.
	_, err := pickSession(ctx, relayURL, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "1) "+relayURL+"/host/h/wget") {
		t.Errorf("listing: %v", err)
	}
	o := &topOptions{interval: time.Second}
	// One path for relays: the top opens net:// with relaySource (whose
	// picker lists the sessions), whatever else topSources holds.
	if _, err := openTopSource(ctx, relayURL, o); err == nil || !strings.Contains(err.Error(), "pick a session") {
		t.Errorf("top on %s: %v, want the session list of relaySource", relayURL, err)
	}
	src, err := openTopSource(ctx, relayURL+"/host/h/wget", o)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := src.WaitDone(); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	st := src.Status()
	if !st.Live || !st.Done {
		t.Errorf("status %+v, want a live session that ended", st)
	}
	first, last, _ := src.Span()
	f, err := src.Frame(first, last)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tasks) == 0 || f.CPUs != 4 {
		t.Fatalf("%d tasks, %d CPUs", len(f.Tasks), f.CPUs)
	}
	busiest := f.Tasks[0]
	for _, tk := range f.Tasks {
		if tk.CPU > busiest.CPU {
			busiest = tk
		}
	}
	if busiest.PID != 3876 || busiest.Name != "code" {
		t.Errorf("busiest %d %s, want code 3876", busiest.PID, busiest.Name)
	}
}

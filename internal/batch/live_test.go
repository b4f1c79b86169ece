package batch_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracetop/tracetop/internal/batch"
	"github.com/tracetop/tracetop/internal/live"
	"github.com/tracetop/tracetop/internal/relay"
	"github.com/tracetop/tracetop/internal/relay/send"
	"github.com/tracetop/tracetop/internal/testenv"
)

// TestBatchLiveSession streams tracevizlab/wget-k to our relay as a live
// session, at the pace it was recorded, and reads it with the batch mode
// from net://HOST:PORT/host/H/S: the figures of the whole session equal
// those of the trace folder.
func TestBatchLiveSession(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t, "traces"), "tracevizlab/wget-k/trace")
	srv, err := relay.New(relay.Config{OutputDir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	var ls [3]net.Listener
	for i := range ls {
		if ls[i], err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	go srv.Serve(ls[0], ls[1], ls[2])
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sent := make(chan error, 1)
	go func() {
		_, err := send.Trace(ctx, dir, send.Options{Control: ls[0].Addr().String(), Data: ls[1].Addr().String(),
			SessionName: "wget", Hostname: "h", LiveTimer: 20 * time.Millisecond, Pace: send.PaceReal})
		sent <- err
	}()
	relayURL := "net://" + ls[2].Addr().String()
	for {
		_, l, err := live.List(ctx, relayURL, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(l) > 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if _, err := batch.Opener(ctx, []string{relayURL}); err == nil {
		t.Error("a relay URL without a session opened")
	}
	fromRelay := runJSON(t, batch.Options{Sources: []string{relayURL + "/host/h/wget"}, Context: ctx})
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	fromDir := runJSON(t, batch.Options{Sources: []string{dir}})
	if len(fromRelay) != 1 || len(fromDir) != 1 {
		t.Fatalf("%d and %d windows", len(fromRelay), len(fromDir))
	}
	// The live reader has no per-CPU stream list: CPUs come from events.
	fromRelay[0].OnlineCPUs = fromDir[0].OnlineCPUs
	if diff := cmp.Diff(fromDir[0], fromRelay[0]); diff != "" {
		t.Errorf("live session figures differ from the folder's (-folder +live):\n%s", diff)
	}
}

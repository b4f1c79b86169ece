package batch_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracetop/tracetop/internal/batch"
	"github.com/tracetop/tracetop/internal/relay/relaytest"
	"github.com/tracetop/tracetop/internal/testenv"
)

// TestBatchLiveSession streams tracevizlab/wget-k to our relay as a live
// session, at the pace it was recorded, and reads it with the batch mode
// from net://HOST:PORT/host/H/S: the figures of the whole session equal
// those of the trace folder.
func TestBatchLiveSession(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t, "traces"), "tracevizlab/wget-k/trace")
	r := relaytest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sent := r.StreamLive(ctx, t, dir, "wget", "h")
	relayURL := r.LiveURL()
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

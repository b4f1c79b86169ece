package relaytest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/tracetop/tracetop/internal/live"
	"github.com/tracetop/tracetop/internal/relay"
	"github.com/tracetop/tracetop/internal/relay/send"
)

// Relay is our relay serving control, data and live ports on loopback.
type Relay struct {
	Control, Data, Live string // host:port of each port
}

// Start runs a relay writing under a temporary folder; it stops with the
// test.
func Start(t testing.TB) *Relay {
	t.Helper()
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
	t.Cleanup(func() { srv.Close() })
	return &Relay{Control: ls[0].Addr().String(), Data: ls[1].Addr().String(), Live: ls[2].Addr().String()}
}

// LiveURL is the viewers' URL of the relay, net://HOST:PORT.
func (r *Relay) LiveURL() string { return "net://" + r.Live }

// StreamLive sends the trace folder dir to the relay at the pace it was
// recorded, as the live session host/session (live timer 20 ms), and
// returns once the relay lists a session. The channel gets send's result.
func (r *Relay) StreamLive(ctx context.Context, t testing.TB, dir, session, host string) <-chan error {
	t.Helper()
	sent := make(chan error, 1)
	go func() {
		_, err := send.Trace(ctx, dir, send.Options{Control: r.Control, Data: r.Data,
			SessionName: session, Hostname: host, LiveTimer: 20 * time.Millisecond, Pace: send.PaceReal})
		sent <- err
	}()
	for {
		_, l, err := live.List(ctx, r.LiveURL(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(l) > 0 {
			return sent
		}
		time.Sleep(2 * time.Millisecond)
	}
}

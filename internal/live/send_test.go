package live_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/live"
	"github.com/tracetop/tracetop/internal/relay/relaytest"
	"github.com/tracetop/tracetop/internal/relay/send"
	"github.com/tracetop/tracetop/internal/testenv"
)

// TestSendLive streams a trace of 8 streams whose packets have no
// packet_seq_num (tracecompass/many-threads: 40 packets over 1 s) live,
// at its own pace, to our relay and to lttng-relayd, and reads it with
// the live client from the beginning: every event of the folder arrives,
// none dropped as late (the sender's beacons never claim a time past the
// beginning of a stream's next packet), and the session ends after the
// streams' last packets.
func TestSendLive(t *testing.T) {
	testenv.Short(t)
	src := filepath.Join(testenv.SharedDir(t, "traces"), "tracecompass/many-threads/trace")
	want := countEvents(t, src)
	for _, relay := range []string{"our relay", "lttng-relayd"} {
		t.Run(relay, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var ctl, data, liveURL string
			if relay == "our relay" {
				r := relaytest.Start(t)
				ctl, data, liveURL = r.Control, r.Data, r.LiveURL()
			} else {
				var l string
				ctl, data, l = testenv.LttngRelayd(t, t.TempDir())
				liveURL = "net://" + l
			}
			sent := make(chan error, 1)
			go func() {
				_, err := send.Trace(ctx, src, send.Options{Control: ctl, Data: data, SessionName: "mt", Hostname: "h",
					LiveTimer: 20 * time.Millisecond, Pace: send.PaceReal})
				sent <- err
			}()
			s, err := live.Open(ctx, liveURL+"/host/h/mt", live.Options{Beginning: true, WaitSession: true, Logf: t.Logf})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			n := 0
			err = live.ReadAll(s, func(ev *ctf.Event) error {
				if ev.Kind == ctf.KindEvent {
					n++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := <-sent; err != nil {
				t.Fatalf("send: %v", err)
			}
			st := s.Stats()
			if n != want || s.Late() != 0 {
				t.Errorf("%d events (%d dropped as late), the folder has %d; stats %+v", n, s.Late(), want, st)
			}
			if st.Packets != 40 {
				t.Errorf("%d packets, the folder has 40", st.Packets)
			}
		})
	}
}

func countEvents(t *testing.T, dir string) int {
	r, err := ctf.Open([]string{dir}, ctf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	var ev ctf.Event
	for {
		if err := r.Read(&ev); err == io.EOF {
			return n
		} else if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == ctf.KindEvent {
			n++
		}
	}
}

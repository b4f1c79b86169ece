package live

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/pretty"
	"github.com/tracetop/tracetop/internal/relay"
)

// TestMain doubles as helper processes for the tests that run real LTTng
// daemons in a private network namespace: TRACETOP_TEST_RELAY=DIR serves
// our relay on the default ports until SIGTERM; TRACETOP_TEST_VIEW=URL
// prints a live session as `tracetop view URL` does; TRACETOP_TEST_LIST=URL
// lists a relay's sessions as `tracetop view URL` does.
func TestMain(m *testing.M) {
	if dir := os.Getenv("TRACETOP_TEST_RELAY"); dir != "" {
		os.Exit(helperRelay(dir))
	}
	if url := os.Getenv("TRACETOP_TEST_VIEW"); url != "" {
		os.Exit(helperView(url))
	}
	if url := os.Getenv("TRACETOP_TEST_LIST"); url != "" {
		os.Exit(helperList(url))
	}
	os.Exit(m.Run())
}

func helperRelay(dir string) int {
	srv, err := relay.New(relay.Config{OutputDir: dir, Location: time.UTC})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var ls []net.Listener
	for _, port := range []string{"5342", "5343", "5344"} {
		l, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ls = append(ls, l)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		srv.Close()
	}()
	fmt.Println("relay ready")
	if err := srv.Serve(ls[0], ls[1], ls[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// helperView prints a live session as `tracetop view URL` does (Print),
// then its figures and the delay from each event's time to its delivery
// on standard error; SIGINT detaches.
func helperView(url string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var delays []time.Duration
	st, err := Print(ctx, url, os.Stdout, PrintOptions{Pretty: pretty.DefaultOptions(),
		Live: Options{WaitSession: true, Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }},
		Event: func(ev *ctf.Event) {
			if ev.Kind == ctf.KindEvent {
				delays = append(delays, time.Since(time.Unix(0, ev.NS)))
			}
		}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "packets %d beacons %d requests %d late %d; delay from event to delivery: median %v, worst %v\n",
		st.Packets, st.Beacons, st.Requests, st.Late, percentile(delays, 0.5), percentile(delays, 1))
	return 0
}

// helperList lists a relay's sessions as `tracetop view net://HOST` does.
func helperList(url string) int {
	if err := PrintList(context.Background(), url, os.Stdout, 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

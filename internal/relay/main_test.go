package relay

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain doubles as a relay process for the tests that run real LTTng
// daemons in a private network namespace: with TRACETOP_TEST_RELAY=DIR the
// test binary serves a relay on the default ports writing to DIR until
// SIGTERM.
func TestMain(m *testing.M) {
	if dir := os.Getenv("TRACETOP_TEST_RELAY"); dir != "" {
		os.Exit(runHelperRelay(dir))
	}
	if os.Getenv("TRACETOP_TEST_DAEMON") != "" {
		os.Exit(runHelperDaemon(os.Args[1:]))
	}
	// The network poller keeps two descriptors once started: start it first.
	if l, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		l.Close()
	}
	fds, gs := openFDs(), runtime.NumGoroutine()
	code := m.Run()
	if fuzzSrv != nil {
		fuzzSrv.Close()
		os.RemoveAll(fuzzSrv.cfg.OutputDir)
	}
	fuzzing := flag.Lookup("test.fuzz") != nil && flag.Lookup("test.fuzz").Value.String() != ""
	if code == 0 && !testing.Short() && !fuzzing { // the fuzzing engine keeps goroutines
		// Every server, connection and file of the tests is closed. The
		// pipes that os.File.ReadFrom keeps for splice(2) in a sync.Pool
		// are closed by a finalizer once two collections emptied the pool.
		for i := 0; ; i++ {
			runtime.GC()
			f, g := openFDs(), runtime.NumGoroutine()
			if f <= fds && g <= gs {
				break
			}
			if i == 200 {
				fmt.Fprintf(os.Stderr, "leak: %d open files (were %d), %d goroutines (were %d)\n", f, fds, g, gs)
				code = 1
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	os.Exit(code)
}

func openFDs() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	return len(ents)
}

func runHelperRelay(dir string) int {
	if _, err := Recover(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv, err := New(Config{OutputDir: dir, Location: time.UTC})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var ls []net.Listener
	ports := []string{"5342", "5343", "5344"}
	if p := os.Getenv("TRACETOP_TEST_RELAY_PORTS"); p != "" {
		ports = strings.Split(p, ",")
	}
	// TRACETOP_TEST_RELAY_URL: tcp://127.0.0.1 (default) or tcp6://[::1].
	base := "tcp://127.0.0.1"
	if u := os.Getenv("TRACETOP_TEST_RELAY_URL"); u != "" {
		base = u
	}
	for _, port := range ports {
		l, err := ListenURL(base + ":" + port)
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

// runHelperDaemon is the relay started by StartDaemon in TestStartDaemon:
// args are -o DIR -C URL -D URL -L URL, as for tracetop relayd.
func runHelperDaemon(args []string) int {
	var o RunOptions
	for i := 0; i+1 < len(args); i += 2 {
		p := map[string]*string{"-o": &o.OutputDir, "-C": &o.ControlURL, "-D": &o.DataURL, "-L": &o.LiveURL}[args[i]]
		if p == nil {
			fmt.Fprintln(os.Stderr, "bad argument", args[i])
			return 2
		}
		*p = args[i+1]
	}
	notify := DaemonNotify()
	o.Ready = notify.Ready
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	err := Run(ctx, o)
	notify.Fail(err)
	if err != nil {
		return 1
	}
	return 0
}

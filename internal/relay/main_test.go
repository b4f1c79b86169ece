package relay

import (
	"fmt"
	"net"
	"os"
	"os/signal"
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
	os.Exit(m.Run())
}

func runHelperRelay(dir string) int {
	srv, err := New(Config{OutputDir: dir, Location: time.UTC})
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

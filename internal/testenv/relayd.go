package testenv

import (
	"bytes"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// LttngRelayd runs the real lttng-relayd writing under out, on free
// loopback ports, with a home of its own; it stops with the test (and
// prints its log when the test failed). It returns the host:port of its
// control, data and live ports once all three listen.
func LttngRelayd(t testing.TB, out string) (ctl, data, live string) {
	t.Helper()
	bin := Program(t, "lttng-relayd")
	home := t.TempDir()
	var addr [3]string
	for i := range addr {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr[i] = l.Addr().String()
		l.Close()
	}
	cmd := exec.Command(bin, "-o", out, "-C", "tcp://"+addr[0], "-D", "tcp://"+addr[1], "-L", "tcp://"+addr[2])
	cmd.Env = append(Env(), "HOME="+home, "LTTNG_HOME="+home)
	var log lockedBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("lttng-relayd output:\n%s", log.String())
		}
	})
	// Each port is opened by its own thread: wait for the three.
	for _, a := range addr {
		for i := 0; ; i++ {
			c, err := net.Dial("tcp", a)
			if err == nil {
				c.Close()
				break
			}
			if i == 1000 {
				t.Fatalf("lttng-relayd does not listen on %s: %v", a, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return addr[0], addr[1], addr[2]
}

// lockedBuffer is a bytes.Buffer written by a child's stdout and stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

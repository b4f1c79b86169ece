package session

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the package when a test leaves goroutines or file
// descriptors behind: the daemon runs for weeks.
func TestMain(m *testing.M) {
	g0, fd0 := runtime.NumGoroutine(), openFDs()
	code := m.Run()
	if code == 0 {
		// Closed connections' goroutines need a moment to return.
		var g, fd int
		for i := 0; i < 100; i++ {
			if g, fd = runtime.NumGoroutine(), openFDs(); g <= g0 && fd <= fd0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if g > g0 || fd > fd0 {
			fmt.Fprintf(os.Stderr, "leak: goroutines %d -> %d, open fds %d -> %d\n", g0, g, fd0, fd)
			if g > g0 {
				buf := make([]byte, 1<<20)
				fmt.Fprintf(os.Stderr, "%s\n", buf[:runtime.Stack(buf, true)])
			}
			code = 1
		}
	}
	os.Exit(code)
}

func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		// The fuzzing engine and the race detector hold a few of their own;
		// only sockets and regular files matter here.
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && !strings.HasPrefix(l, "anon_inode:") && !strings.HasPrefix(l, "pipe:") {
			n++
		}
	}
	return n
}

package session

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the package when a test leaves goroutines or file
// descriptors behind: the daemon runs for weeks.
func TestMain(m *testing.M) {
	g0, fd0 := goroutines(), openFDs()
	code := m.Run()
	if buildExe != "" {
		os.RemoveAll(filepath.Dir(buildExe))
	}
	if code == 0 {
		// Closed connections' goroutines need a moment to return.
		var g, fd int
		for i := 0; i < 100; i++ {
			if g, fd = goroutines(), openFDs(); g <= g0 && fd <= fd0 {
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

// goroutines counts the goroutines, less the signal loop that the fuzzing
// engine starts once for good.
func goroutines() int {
	buf := make([]byte, 1<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if !strings.Contains(g, "os/signal.loop") {
			n++
		}
	}
	return n
}

func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		// The runtime's poller (opened on first use) stays; BPF maps and
		// programs, perf events, sockets and files must not.
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && l != "anon_inode:[eventpoll]" && l != "anon_inode:[eventfd]" && !strings.HasPrefix(l, "pipe:") {
			n++
		}
	}
	return n
}

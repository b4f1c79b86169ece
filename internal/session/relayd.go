package session

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/tracetop/tracetop/internal/relay"
)

// Local relay ports, lttng-relayd's defaults.
const (
	localControl = "127.0.0.1:5342"
	localLive    = "127.0.0.1:5344"
)

// EnsureLocalRelay starts `tracetop relayd` in the background when no
// relay listens on 127.0.0.1:5344, as `lttng create --live` spawns
// lttng-relayd, and waits until it listens on its ports; when the relay
// fails to start, its own reason is returned. It tells notice when it
// spawns one.
func EnsureLocalRelay(notice io.Writer) error {
	if listening(localLive) {
		return nil
	}
	fmt.Fprintln(notice, "Spawning a relayd daemon")
	if _, err := relay.StartDaemon("", []string{"relayd"}, 30*time.Second); err != nil {
		return fmt.Errorf("spawn a relay daemon: %w", err)
	}
	if !listening(localControl) || !listening(localLive) {
		return fmt.Errorf("the relay daemon spawned does not listen on %s and %s: run tracetop relayd to see why", localControl, localLive)
	}
	return nil
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

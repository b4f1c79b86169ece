package relay

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Default ports of the three services.
const (
	DefaultControlURL = "tcp://0.0.0.0:5342"
	DefaultDataURL    = "tcp://0.0.0.0:5343"
	DefaultLiveURL    = "tcp://0.0.0.0:5344"
)

// ListenURL listens on tcp://ADDR:PORT (IPv4) or tcp6://[ADDR]:PORT.
func ListenURL(u string) (net.Listener, error) {
	scheme, addr, ok := strings.Cut(u, "://")
	if !ok || addr == "" {
		return nil, fmt.Errorf("relay URL %q: want tcp://ADDR:PORT or tcp6://[ADDR]:PORT", u)
	}
	var network string
	switch scheme {
	case "tcp", "tcp4", "net", "net4":
		network = "tcp4"
	case "tcp6", "net6":
		network = "tcp6"
	default:
		return nil, fmt.Errorf("relay URL %q: scheme %q, want tcp or tcp6", u, scheme)
	}
	addr = strings.TrimSuffix(addr, "/")
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("relay URL %q: %w", u, err)
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	return l, nil
}

// DefaultOutputDir is $LTTNG_HOME/lttng-traces, else $HOME/lttng-traces.
func DefaultOutputDir() string {
	if h := os.Getenv("LTTNG_HOME"); h != "" {
		return filepath.Join(h, "lttng-traces")
	}
	h, _ := os.UserHomeDir()
	return filepath.Join(h, "lttng-traces")
}

// RunOptions are the settings of the relay daemon command.
type RunOptions struct {
	OutputDir                    string
	ControlURL, DataURL, LiveURL string
	Logf                         func(format string, args ...any)
	// Limits, as in Config (0 = default).
	MessageTimeout, ViewerIdleTimeout time.Duration
	MaxConnections                    int
}

// Run serves a relay until ctx is done.
func Run(ctx context.Context, o RunOptions) error {
	if o.OutputDir == "" {
		o.OutputDir = DefaultOutputDir()
	}
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for _, u := range []string{o.ControlURL, o.DataURL, o.LiveURL} {
		l, err := ListenURL(u)
		if err != nil {
			return err
		}
		ls = append(ls, l)
	}
	if n, err := Recover(o.OutputDir); err != nil {
		return fmt.Errorf("relay: recover %s: %w", o.OutputDir, err)
	} else if n > 0 && o.Logf != nil {
		o.Logf("relayd: recovered %d files cut by a previous crash", n)
	}
	srv, err := New(Config{OutputDir: o.OutputDir, Logf: o.Logf, MessageTimeout: o.MessageTimeout,
		ViewerIdleTimeout: o.ViewerIdleTimeout, MaxConnections: o.MaxConnections})
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	return srv.Serve(ls[0], ls[1], ls[2])
}

// StartDetached starts the program again with args in a new session,
// detached from the terminal (the -d flag), and returns its pid.
func StartDetached(args []string) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	cmd := exec.Command(exe, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	return pid, cmd.Process.Release()
}

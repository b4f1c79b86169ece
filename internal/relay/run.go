package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	// Ready, when set, is called once the ports listen and the output
	// folder is recovered, before the first connection is served.
	Ready func()
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
	if o.Ready != nil {
		o.Ready()
	}
	return srv.Serve(ls[0], ls[1], ls[2])
}

// daemonEnv names, in a relay started by StartDaemon, the descriptor on
// which it tells its parent that it listens, or why it failed.
const daemonEnv = "TRACETOP_RELAYD_NOTIFY_FD"

// StartDaemon starts the relay command again (exe, "" for this program,
// with args) in a new session detached from the terminal, and returns
// once it listens on its ports, as lttng-relayd -d does; when the relay
// fails to start (a port in use, an output folder it cannot recover), it
// returns the relay's error. The started program calls DaemonNotify.
func StartDaemon(exe string, args []string, timeout time.Duration) (int, error) {
	cmd, err := detachedCommand(exe, args)
	if err != nil {
		return 0, err
	}
	defer closeStdio(cmd)
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	cmd.ExtraFiles = []*os.File{w}
	cmd.Env = append(os.Environ(), daemonEnv+"=3")
	err = cmd.Start()
	w.Close()
	if err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	done := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(r, 4096))
		done <- b
	}()
	var msg []byte
	select {
	case msg = <-done:
	case <-time.After(timeout):
		cmd.Process.Release()
		return pid, fmt.Errorf("relay daemon (pid %d) not listening after %v", pid, timeout)
	}
	if string(msg) == "ready\n" {
		return pid, cmd.Process.Release()
	}
	cmd.Wait()
	if len(msg) == 0 {
		return pid, fmt.Errorf("relay daemon (pid %d) exited before listening: %v", pid, cmd.ProcessState)
	}
	return pid, errors.New(strings.TrimSpace(string(msg)))
}

// DaemonNotifier is what a relay started by StartDaemon tells its
// parent.
type DaemonNotifier struct{ f *os.File }

// DaemonNotify returns the notifier of a relay started by StartDaemon, or
// nil in any other process.
func DaemonNotify() *DaemonNotifier {
	v := os.Getenv(daemonEnv)
	if v == "" {
		return nil
	}
	os.Unsetenv(daemonEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	return &DaemonNotifier{os.NewFile(uintptr(fd), "relay daemon notification")}
}

// Ready tells the parent the relay listens.
func (n *DaemonNotifier) Ready() { n.send("ready\n") }

// Fail tells the parent why the relay stopped (nothing once it was ready).
func (n *DaemonNotifier) Fail(err error) {
	if err != nil {
		n.send(err.Error() + "\n")
	}
}

func (n *DaemonNotifier) send(s string) {
	if n == nil || n.f == nil {
		return
	}
	n.f.WriteString(s)
	n.f.Close()
	n.f = nil
}

func detachedCommand(exe string, args []string) (*exec.Cmd, error) {
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd, nil
}

func closeStdio(cmd *exec.Cmd) {
	if f, ok := cmd.Stdin.(*os.File); ok {
		f.Close()
	}
}

package session

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Client is a connection to the session daemon.
type Client struct {
	c net.Conn
}

// Dial connects to the daemon listening on path.
func Dial(path string) (*Client, error) {
	c, err := net.Dial("unix", path)
	if err != nil {
		return nil, err
	}
	return &Client{c: c}, nil
}

// Call sends req and waits for the answer. A daemon-side failure comes
// back as Response.Err, not as an error.
func (cl *Client) Call(req *Request) (*Response, error) {
	b, err := EncodeRequest(req)
	if err != nil {
		return nil, err
	}
	if _, err := cl.c.Write(b); err != nil {
		return nil, fmt.Errorf("send to the session daemon: %w", err)
	}
	body, err := readFrame(cl.c, kindResponse)
	if err != nil {
		return nil, fmt.Errorf("answer of the session daemon: %w", err)
	}
	return decodeResponseBody(body)
}

// Close closes the connection.
func (cl *Client) Close() error { return cl.c.Close() }

// Connect connects to the daemon at path, spawning `tracetop sessiond`
// (this executable) first when none is running, as lttng spawns
// lttng-sessiond. spawned tells whether it did. The errors say what to do:
// not root, no permission on the socket.
func Connect(path string) (cl *Client, spawned bool, err error) {
	cl, err = Dial(path)
	if err == nil {
		return cl, false, nil
	}
	if errors.Is(err, fs.ErrPermission) {
		return nil, false, fmt.Errorf("no permission on the session daemon's socket %s: tracing the kernel needs root: run this command with sudo, or join the \"tracing\" group", path)
	}
	if os.Geteuid() != 0 {
		return nil, false, errors.New("no session daemon is running and tracing the kernel needs root: run this command with sudo")
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, false, fmt.Errorf("spawn the session daemon: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, false, fmt.Errorf("spawn the session daemon: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(filepath.Dir(path), "sessiond.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("spawn the session daemon: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(exe, "sessiond", "--socket", path)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("spawn the session daemon: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// The daemon creates its socket within milliseconds; give it 5 s.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if cl, err = Dial(path); err == nil {
			return cl, true, nil
		}
		select {
		case werr := <-exited:
			return nil, false, fmt.Errorf("the session daemon exited at start (%v); see %s", werr, logf.Name())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil, false, fmt.Errorf("the session daemon did not answer on %s within 5 s; see %s", path, logf.Name())
}

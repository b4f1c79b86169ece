package relay

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracetop/tracetop/internal/relay/proto"
	"github.com/tracetop/tracetop/internal/relay/send"
	"github.com/tracetop/tracetop/internal/testenv"
)

// TestListenURL: tcp:// listens on IPv4 only, tcp6:// on IPv6 only;
// malformed URLs are refused with the URL in the error.
func TestListenURL(t *testing.T) {
	for _, tc := range []struct {
		url, network string
	}{
		{"tcp://127.0.0.1:0", "tcp4"},
		{"tcp://0.0.0.0:0", "tcp4"},
		{"tcp6://[::1]:0", "tcp6"},
		{"tcp6://[::]:0", "tcp6"},
	} {
		l, err := ListenURL(tc.url)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		a := l.Addr().(*net.TCPAddr)
		if is4 := a.IP.To4() != nil; is4 != (tc.network == "tcp4") {
			t.Errorf("%s listens on %v", tc.url, a)
		}
		l.Close()
	}
	for _, u := range []string{"127.0.0.1:5342", "udp://127.0.0.1:5342", "tcp://127.0.0.1", "tcp6://::1:5342",
		"tcp://[::1]:0", "tcp6://127.0.0.1:0", "tcp://"} {
		if l, err := ListenURL(u); err == nil {
			l.Close()
			t.Errorf("%s: accepted (%v)", u, l.Addr())
		} else if !strings.Contains(err.Error(), u) && !strings.Contains(err.Error(), "relay:") {
			t.Errorf("%s: error %q does not name the URL", u, err)
		}
	}
	if DefaultControlURL != "tcp://0.0.0.0:5342" || DefaultDataURL != "tcp://0.0.0.0:5343" || DefaultLiveURL != "tcp://0.0.0.0:5344" {
		t.Errorf("defaults %s %s %s, lttng-relayd's are tcp://0.0.0.0:5342, 5343, 5344", DefaultControlURL, DefaultDataURL, DefaultLiveURL)
	}
}

// freePort returns a port free on loopback for network ("tcp4", "tcp6").
func freePort(t *testing.T, network, host string) string {
	l, err := net.Listen(network, net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

// TestRunIPv4AndIPv6 runs the relay daemon (Run, as `tracetop relayd`)
// on tcp:// and on tcp6:// URLs: a trace sent over that family lands in
// the output folder, and a viewer on the live port of that family lists
// the session.
func TestRunIPv4AndIPv6(t *testing.T) {
	src := filepath.Join(testenv.SharedDir(t, "traces/generated/ust-libc-small"), "trace")
	for _, fam := range []struct{ scheme, network, host string }{
		{"tcp", "tcp4", "127.0.0.1"},
		{"tcp6", "tcp6", "::1"},
	} {
		t.Run(fam.scheme, func(t *testing.T) {
			out := t.TempDir()
			url := func(p string) string { return fam.scheme + "://" + net.JoinHostPort(fam.host, p) }
			var ports [3]string
			for i := range ports {
				ports[i] = freePort(t, fam.network, fam.host)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, RunOptions{OutputDir: out, ControlURL: url(ports[0]), DataURL: url(ports[1]),
					LiveURL: url(ports[2]), Logf: t.Logf})
			}()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Error(err)
				}
			}()
			addr := func(p string) string { return net.JoinHostPort(fam.host, p) }
			// The listeners are up once the control port answers.
			for i := 0; ; i++ {
				c, err := net.Dial(fam.network, addr(ports[0]))
				if err == nil {
					c.Close()
					break
				}
				if i == 500 {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
			defer scancel()
			st, err := send.Trace(sctx, src, send.Options{Control: addr(ports[0]), Data: addr(ports[1]),
				SessionName: "s", Hostname: "h", LiveTimer: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			m, _ := filepath.Glob(filepath.Join(out, st.SessionDir, "ust/uid/0/64-bit/channel0_*"))
			if len(m) != 2 || st.Packets == 0 {
				t.Errorf("%d packets sent, data files %v", st.Packets, m)
			}
			// A viewer over the same family: CONNECT and LIST_SESSIONS.
			v, err := net.Dial(fam.network, addr(ports[2]))
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			req := proto.AppendViewerCommand(nil, proto.ViewerConnect)
			req = (&proto.Connect{Major: 2, Minor: 4, Type: proto.ConnCommand}).Append(req)
			req = proto.AppendViewerCommand(req, proto.ViewerListSessions)
			v.Write(req)
			v.SetReadDeadline(time.Now().Add(10 * time.Second))
			rep := make([]byte, 20+4)
			if _, err := io.ReadFull(v, rep); err != nil {
				t.Fatal(err)
			}
			if major := binary.BigEndian.Uint32(rep[8:]); major != 2 {
				t.Errorf("CONNECT reply major %d", major)
			}
			// The session may already be gone (its tracer left and no
			// viewer holds it): a count of 0 or 1 is a well-formed reply.
			if n := binary.BigEndian.Uint32(rep[20:]); n > 1 {
				t.Errorf("%d sessions listed", n)
			}
		})
	}
}

// TestStartDaemon: the relay started in the background (tracetop relayd
// -d) listens when StartDaemon returns; one that cannot listen makes
// StartDaemon fail with its reason.
func TestStartDaemon(t *testing.T) {
	t.Setenv("TRACETOP_TEST_DAEMON", "1")
	var args []string
	addrs := map[string]string{}
	for _, f := range []string{"-C", "-D", "-L"} {
		addrs[f] = net.JoinHostPort("127.0.0.1", freePort(t, "tcp4", "127.0.0.1"))
		args = append(args, f, "tcp://"+addrs[f])
	}
	args = append(args, "-o", t.TempDir())
	pid, err := StartDaemon(os.Args[0], args, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 1000; i++ { // until it stops listening
			c, err := net.Dial("tcp", addrs["-L"])
			if err != nil {
				return
			}
			c.Close()
			time.Sleep(5 * time.Millisecond)
		}
		t.Errorf("relay daemon %d still listens after SIGTERM", pid)
	}()
	// Listening already: no retry.
	for f, a := range addrs {
		c, err := net.Dial("tcp", a)
		if err != nil {
			t.Fatalf("%s %s: %v", f, a, err)
		}
		c.Close()
	}
	// The same ports again: the second relay fails, and says why.
	_, err = StartDaemon(os.Args[0], args, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("second relay on the same ports: %v", err)
	}
}

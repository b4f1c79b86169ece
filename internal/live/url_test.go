package live

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tracetop/tracetop/internal/relay"
	"github.com/tracetop/tracetop/internal/relay/proto"
)

// TestParseURL: the URLs babeltrace2 takes (net, net4, net6; a host name,
// an IPv4 or a bracketed IPv6 address; a port or not) and the errors of
// the others.
func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in, addr, canon, host, session string
	}{
		{"net://localhost", "localhost:5344", "net://localhost", "", ""},
		{"net://localhost/", "localhost:5344", "net://localhost", "", ""},
		{"net://10.0.0.2:6000", "10.0.0.2:6000", "net://10.0.0.2:6000", "", ""},
		{"net4://relay.example/host/h-1/my_sess", "relay.example:5344", "net://relay.example/host/h-1/my_sess", "h-1", "my_sess"},
		{"net6://[::1]:5345/host/h/s", "[::1]:5345", "net://[::1]:5345/host/h/s", "h", "s"},
		{"net://[fe80::1]/host/h/s/", "[fe80::1]:5344", "net://[fe80::1]/host/h/s", "h", "s"},
	} {
		u, err := ParseURL(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if u.Addr() != tc.addr || u.String() != tc.canon || u.Hostname != tc.host || u.Session != tc.session {
			t.Errorf("%s: addr %s, %s, host %q, session %q; want %s, %s, %q, %q", tc.in, u.Addr(), u, u.Hostname, u.Session,
				tc.addr, tc.canon, tc.host, tc.session)
		}
		if !IsURL(tc.in) {
			t.Errorf("%s: not a live URL", tc.in)
		}
	}
	for _, tc := range []struct{ in, msg string }{
		{"tcp://localhost", "want net://"},
		{"net://", "no host"},
		{"net://:5344", "no host"},
		{"net://h:0", "bad port"},
		{"net://h:65536", "bad port"},
		{"net://h:x", "bad port"},
		{"net://[::1", "bad IPv6"},
		{"net://[::1]x", "bad port"},
		{"net://h/host/x", "/host/HOSTNAME/SESSION"},
		{"net://h/host//s", "/host/HOSTNAME/SESSION"},
		{"net://h/hosts/x/s", "/host/HOSTNAME/SESSION"},
		{"net://h/host/x/s/t", "/host/HOSTNAME/SESSION"},
	} {
		if _, err := ParseURL(tc.in); err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), tc.in) {
			t.Errorf("%s: %v, want an error naming the URL and %q", tc.in, err, tc.msg)
		}
	}
	if IsURL("/var/traces/net://x") {
		t.Error("a path is a live URL")
	}
}

// TestGroup: the relay's records of one tracing session (one per
// consumer) are listed once, streams summed, as babeltrace2 lists them.
func TestGroup(t *testing.T) {
	got := Group([]proto.SessionInfo{
		{ID: 1, LiveTimer: 100000, Clients: 1, Streams: 4, Hostname: "h", SessionName: "a"},
		{ID: 2, LiveTimer: 200000, Clients: 0, Streams: 2, Hostname: "h", SessionName: "b"},
		{ID: 3, LiveTimer: 100000, Clients: 0, Streams: 3, Hostname: "h", SessionName: "a"},
		{ID: 4, LiveTimer: 100000, Clients: 0, Streams: 1, Hostname: "g", SessionName: "a"},
	})
	u, _ := ParseURL("net://relay:6000")
	var lines []string
	for _, l := range got {
		lines = append(lines, u.Line(l))
	}
	want := []string{
		"net://relay:6000/host/h/a (timer = 100000, 7 stream(s), 1 client(s) connected)",
		"net://relay:6000/host/h/b (timer = 200000, 2 stream(s), 0 client(s) connected)",
		"net://relay:6000/host/g/a (timer = 100000, 1 stream(s), 0 client(s) connected)",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("listing:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if len(got[0].IDs) != 2 || got[0].IDs[0] != 1 || got[0].IDs[1] != 3 {
		t.Errorf("relay sessions of h/a: %v", got[0].IDs)
	}
}

// TestListIPv6: a relay listening on the IPv6 loopback is listed through
// net6://[::1]:PORT: nothing when empty, then the session of a tracer;
// a URL naming a session is refused by PrintList.
func TestListIPv6(t *testing.T) {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	srv, err := relay.New(relay.Config{OutputDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var ls [2]net.Listener
	for i := range ls {
		if ls[i], err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ls[0], ls[1], l) }()
	defer func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	url := "net6://" + l.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b bytes.Buffer
	if err := PrintList(ctx, url, &b, 0); err != nil || b.Len() != 0 {
		t.Errorf("listing an empty relay at %s: %q, %v", url, b.String(), err)
	}
	newProducer(t, relayAddrs{ctl: ls[0].Addr().String(), data: ls[1].Addr().String()}, "v6", 100*time.Millisecond, "busy_0")
	want := "net://" + l.Addr().String() + "/host/" + testHost + "/v6 (timer = 100000, 2 stream(s), 0 client(s) connected)\n"
	if err := PrintList(ctx, url, &b, 0); err != nil || b.String() != want {
		t.Errorf("listing %s: %q, %v; want %q", url, b.String(), err, want)
	}
	if err := PrintList(ctx, url+"/host/h/s", &b, 0); err == nil || !strings.Contains(err.Error(), "names a session") {
		t.Errorf("listing a session URL: %v", err)
	}
}

package send

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracetop/tracetop/internal/relay"
	"github.com/tracetop/tracetop/internal/testenv"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct{ in, ctl, data, err string }{
		{"net://localhost", "localhost:5342", "localhost:5343", ""},
		// As lttng create -U prints them (lttng 2.13.9).
		{"net://127.0.0.1:6000", "127.0.0.1:6000", "127.0.0.1:5343", ""},
		{"net://127.0.0.1:6000:6010", "127.0.0.1:6000", "127.0.0.1:6010", ""},
		{"net://127.0.0.1::6010", "127.0.0.1:5342", "127.0.0.1:6010", ""},
		{"net://h:1:9", "h:1", "h:9", ""},
		{"net6://[::1]:7:8", "[::1]:7", "[::1]:8", ""},
		{"file:///x", "", "", `relay URL "file:///x": scheme "file", want net://`},
		{"net://h:0", "", "", `relay URL "net://h:0": bad port "0"`},
	} {
		ctl, data, err := ParseURL(tc.in)
		if fmt.Sprint(err) != tc.err && !(err == nil && tc.err == "") || ctl != tc.ctl || data != tc.data {
			t.Errorf("%s: %q %q %v", tc.in, ctl, data, err)
		}
	}
}

func sharedTrace(t *testing.T) string {
	return filepath.Join(testenv.SharedDir(t, "traces/generated/ust-libc-small"), "trace")
}

func ourRelay(t *testing.T, out string) (ctl, data string) {
	srv, err := relay.New(relay.Config{OutputDir: out, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	var ls [3]net.Listener
	for i := range ls {
		if ls[i], err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ls[0], ls[1], ls[2]) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return ls[0].Addr().String(), ls[1].Addr().String()
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lttngRelayd starts the real relay on free loopback ports.
func lttngRelayd(t *testing.T, out string) (ctl, data string) {
	ctl, data, _ = lttngRelaydLive(t, out)
	return ctl, data
}

// lttngRelaydLive is lttngRelayd that also returns the live port's address.
func lttngRelaydLive(t *testing.T, out string) (ctl, data, live string) {
	return testenv.LttngRelayd(t, out)
}

// TestSendToRelays streams the shared trace to our relay and to
// lttng-relayd: both write the trace's files byte for byte, and babeltrace2
// prints the same events as for the original.
func TestSendToRelays(t *testing.T) {
	src := sharedTrace(t)
	bt := testenv.Program(t, "babeltrace2")
	want, err := exec.Command(bt, src).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		start func(*testing.T, string) (string, string)
		live  time.Duration
	}{
		{"our relay", ourRelay, 0},
		{"our relay, live session", ourRelay, time.Second},
		{"lttng-relayd", lttngRelayd, 0},
		{"lttng-relayd, live session", lttngRelayd, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			ctl, data := tc.start(t, out)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			st, err := Trace(ctx, src, Options{Control: ctl, Data: data, SessionName: "small", Hostname: "h", LiveTimer: tc.live})
			if err != nil {
				t.Fatal(err)
			}
			if st.Packets == 0 || st.Streams != 2 || !strings.HasPrefix(st.SessionDir, "h/small-") {
				t.Fatalf("stats %+v", st)
			}
			dir := filepath.Join(out, st.SessionDir)
			// The relay may still be closing files after the connection ends.
			waitFile(t, filepath.Join(dir, "ust/uid/0/64-bit/index/channel0_1.idx"))
			sameFiles(t, src, dir)
			got, err := exec.Command(bt, dir).Output()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("babeltrace2 prints %d lines, %d for the original", bytes.Count(got, []byte("\n")), bytes.Count(want, []byte("\n")))
			}
		})
	}
}

func waitFile(t *testing.T, p string) {
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(p); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sameFiles compares every file of the original trace with the relay's.
func sameFiles(t *testing.T, src, dst string) {
	t.Helper()
	n := 0
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		a, _ := os.ReadFile(p)
		var b []byte
		for i := 0; i < 200; i++ { // index entries land when both halves are in
			b, _ = os.ReadFile(filepath.Join(dst, rel))
			if len(b) >= len(a) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: %d bytes, original %d bytes, contents differ", rel, len(b), len(a))
		}
		n++
		return nil
	})
	if n == 0 {
		t.Fatal("no file compared")
	}
}

// copyWithoutIndex copies the files of a trace folder, without its index
// folders.
func copyWithoutIndex(t *testing.T, src string) string {
	dst := filepath.Join(t.TempDir(), "trace")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == "index" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestSendWithoutIndex streams traces that have no index files (packet
// boundaries from the packet headers) to our relay and to lttng-relayd:
// babeltrace2 prints the same events for the relay's folder as for the
// original, and the index files the relays write from what was sent equal
// the original's, when it had some.
func TestSendWithoutIndex(t *testing.T) {
	bt := testenv.Program(t, "babeltrace2")
	for _, name := range []string{"tracevizlab/simple-kernel/trace", "babeltrace/packet-seq-num-2-streams-lost-in-1/trace"} {
		orig := filepath.Join(testenv.SharedDir(t, "traces"), name)
		src := copyWithoutIndex(t, orig)
		want, err := exec.Command(bt, orig).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, relay := range []struct {
			name  string
			start func(*testing.T, string) (string, string)
		}{{"our relay", ourRelay}, {"lttng-relayd", lttngRelayd}} {
			t.Run(name+" to "+relay.name, func(t *testing.T) {
				out := t.TempDir()
				ctl, data := relay.start(t, out)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				st, err := Trace(ctx, src, Options{Control: ctl, Data: data, SessionName: "noidx", Hostname: "h"})
				if err != nil {
					t.Fatal(err)
				}
				dir := filepath.Join(out, st.SessionDir, "trace")
				idx, _ := filepath.Glob(filepath.Join(orig, "index", "*.idx"))
				for _, p := range idx {
					waitFile(t, filepath.Join(dir, "index", filepath.Base(p)))
				}
				if len(idx) > 0 {
					sameFiles(t, orig, dir)
				}
				cmd := exec.Command(bt, dir)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				got, err := cmd.Output()
				if err != nil {
					t.Fatalf("babeltrace2 %s: %v\n%s", dir, err, stderr.Bytes())
				}
				if !bytes.Equal(got, want) || len(want) == 0 {
					t.Errorf("babeltrace2 prints %d lines, %d for the original", bytes.Count(got, []byte("\n")), bytes.Count(want, []byte("\n")))
				}
			})
		}
	}
}

// TestSendLiveNoSeqToLttngRelayd streams, live and at its own pace, a
// trace whose packets have no packet_seq_num (LTTng before 2.8: 8 streams,
// 40 packets, 1 s) to lttng-relayd, with babeltrace2 as the live viewer:
// babeltrace2 prints every event of the trace and exits. (With -1 as the
// indexes' packet_seq_num, lttng-relayd never completed the rotation that
// ends the session, and served RETRY for ever in place of the streams'
// last packets: babeltrace2 hung, 16 events short.)
func TestSendLiveNoSeqToLttngRelayd(t *testing.T) {
	testenv.Short(t)
	bt := testenv.Program(t, "babeltrace2")
	src := filepath.Join(testenv.SharedDir(t, "traces"), "tracecompass/many-threads/trace")
	want, err := exec.Command(bt, src).Output()
	if err != nil {
		t.Fatal(err)
	}
	ctl, data, live := lttngRelaydLive(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sent := make(chan error, 1)
	go func() {
		_, err := Trace(ctx, src, Options{Control: ctl, Data: data, SessionName: "noseq", Hostname: "h",
			LiveTimer: 100 * time.Millisecond, Pace: PaceReal})
		sent <- err
	}()
	// Attach once the session is listed, before its first packet is due.
	for {
		out, _ := exec.CommandContext(ctx, bt, "-i", "lttng-live", "net://"+live).Output()
		if bytes.Contains(out, []byte("/host/h/noseq")) {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("lttng-relayd never listed the session")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd := exec.CommandContext(ctx, bt, "-i", "lttng-live", "net://"+live+"/host/h/noseq")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if e := <-sent; e != nil {
		t.Fatalf("send: %v", e)
	}
	if err != nil {
		t.Fatalf("babeltrace2 live: %v (%d lines read)\n%s", err, bytes.Count(got, []byte("\n")), stderr.Bytes())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("babeltrace2 live prints %d lines, %d for the folder", bytes.Count(got, []byte("\n")), bytes.Count(want, []byte("\n")))
	}
}

package relay

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tracetop/tracetop/internal/testenv"
)

// lttngScenario records one set of events with real lttng-sessiond into six
// sessions at once: local, streamed to our relay, and streamed live to our
// relay (read by babeltrace2 viewers), each with per-UID and per-PID
// buffers. It runs in a private mount and network namespace.
const lttngScenario = `
set -eu
ip link set lo up
mount -t tmpfs none /var/run/lttng 2>/dev/null || { mkdir -p /var/run/lttng; mount -t tmpfs none /var/run/lttng; }
mount -t tmpfs none /dev/shm
export HOME=$W/home LTTNG_HOME=$W/home
mkdir -p $HOME
TRACETOP_TEST_RELAY=$W/relay $TESTBIN > $W/relay.log 2>&1 &
RPID=$!
for i in $(seq 600); do grep -q ready $W/relay.log && break; sleep 0.05; done
grep -q ready $W/relay.log || { echo "relay not ready"; exit 1; }
lttng-sessiond -d --no-kernel > $W/sessiond.log 2>&1
SPID=$(cat $HOME/.lttng/lttng-sessiond.pid 2>/dev/null || cat /var/run/lttng/lttng-sessiond.pid)
cleanup() { kill -TERM $SPID 2>/dev/null || true; kill -TERM $RPID 2>/dev/null || true; }
trap cleanup EXIT
mk() { # name buffers create-args...
    local name=$1 buf=$2; shift 2
    lttng create $name "$@" > /dev/null
    lttng enable-channel -u -s $name $buf --subbuf-size 1M --num-subbuf 4 chan > /dev/null
    lttng enable-event -u -s $name -c chan 'lttng_ust_libc:*' > /dev/null
    lttng add-context -u -s $name -c chan -t vpid -t vtid -t procname > /dev/null
    lttng start $name > /dev/null
}
for b in uid pid; do
    mk loc$b --buffers-$b -o $W/local-$b
    mk net$b --buffers-$b -U net://127.0.0.1
    mk live$b --buffers-$b --live=200000
done
H=$(hostname)
# Each viewer writes its own file (named before it starts: a name counted
# from the files present would race with the redirections of the viewers
# started just before).
v=0
for b in uid uid pid; do
    v=$((v + 1))
    timeout 60 babeltrace2 --input-format=lttng-live net://localhost/host/$H/live$b > $W/live-$b.$v.txt 2> $W/live-$b.$v.err &
    VIEWERS="${VIEWERS:-} $!"
done
# Readiness: the three viewers are attached.
clients() { babeltrace2 --input-format=lttng-live net://localhost 2>/dev/null | grep -o '[0-9]* client' | awk '{s+=$1} END {print s+0}'; }
for i in $(seq 600); do [ "$(clients)" -ge 3 ] && break; sleep 0.05; done
[ "$(clients)" -ge 3 ] || { echo "viewers not attached: $(clients) clients"; exit 1; }
echo "viewers attached"
# The application: bash allocates 12346 bytes, works, then allocates 23457
# bytes; the events between these markers are recorded by every session.
# LTTNG_UST_REGISTER_TIMEOUT=-1: the application's constructor returns once
# the session daemon has set up its buffers in every session, however
# loaded the machine is (the default gives up after 3 s and lets the
# application run untraced by the sessions not yet set up).
# The application opens no file: a descriptor it would dup2 over one
# liblttng-ust opened in its constructor is later closed by liblttng-ust
# (no liblttng-ust-fd.so here), which breaks both.
# Per-PID streams close some time after their application exits; a viewer
# must not see a new stream with data older than a beacon it already got
# (babeltrace2 2.0.4 stops on it), so the second application starts once
# every stream of the first one is closed in the relay: the live per-PID
# session lists no stream.
streams() { babeltrace2 --input-format=lttng-live net://localhost 2>/dev/null | grep "/livepid " | grep -o '[0-9]* stream' | awk '{print $1}'; }
for i in 1 2; do
    LTTNG_UST_REGISTER_TIMEOUT=-1 LD_PRELOAD=liblttng-ust-libc-wrapper.so bash -c 'printf -v a "%*s" 12345 ""; for ((i=0;i<30;i++)); do b="$b$i"; done; printf -v c "%*s" 23456 ""'
    for j in $(seq 600); do [ "$(streams)" = 0 ] && break; sleep 0.05; done
    [ "$(streams)" = 0 ] || { echo "per-PID streams of application $i still open: $(streams)"; exit 1; }
done
for s in locuid netuid liveuid locpid netpid livepid; do lttng stop $s > /dev/null; lttng destroy $s > /dev/null; done
for p in $VIEWERS; do wait $p || echo "viewer $p failed: $?"; done
for f in $W/live-*.err; do if [ -s $f ]; then echo "== $f"; head -50 $f; fi; done
cleanup
trap - EXIT
wait $RPID
`

// TestRealSessiond: babeltrace2 prints the same events for our relay's
// output (live and not live) and for its live port as for the same
// session recorded locally.
func TestRealSessiond(t *testing.T) {
	w := runLttngScenario(t, lttngScenario)
	bt := func(dir string) string { return btText(t, dir) }
	relayDir := func(prefix string) string {
		m, _ := filepath.Glob(filepath.Join(w, "relay", "*", prefix+"-*"))
		if len(m) != 1 {
			t.Fatalf("relay output for %s: %v", prefix, m)
		}
		return m[0]
	}
	for _, b := range []string{"uid", "pid"} {
		local := bt(filepath.Join(w, "local-"+b))
		liveOut := bt(relayDir("live" + b))
		outs := map[string]string{
			"relay output (not live)": bt(relayDir("net" + b)),
			"relay output (live)":     liveOut,
		}
		views, _ := filepath.Glob(filepath.Join(w, "live-"+b+".*.txt"))
		if len(views) != map[string]int{"uid": 2, "pid": 1}[b] {
			t.Errorf("per-%s: %d live viewer outputs", b, len(views))
		}
		for _, v := range views {
			got, _ := os.ReadFile(v)
			// The viewer reads the same session: exactly the same text.
			if string(got) != liveOut {
				t.Errorf("per-%s: live viewer %s printed %d lines, babeltrace2 prints %d for the relay's output folder",
					b, filepath.Base(v), strings.Count(string(got), "\n"), strings.Count(liveOut, "\n"))
			}
		}
		// Each session stamps its own copy of an event: compare without
		// time stamps, per process, between the application's markers.
		want := marked(t, local)
		t.Logf("per-%s: %d events recorded locally, %d in the live session, %d compared per session",
			b, strings.Count(local, "\n"), strings.Count(liveOut, "\n"), len(want))
		for what, o := range outs {
			if got := marked(t, o); !slices.Equal(got, want) {
				t.Errorf("per-%s %s: %d marked events differ from the %d recorded locally; first difference:\n%s",
					b, what, len(got), len(want), firstDiff(got, want))
			}
		}
	}
	if logs, _ := os.ReadFile(filepath.Join(w, "relay.log")); len(logs) > 0 {
		t.Logf("relay log:\n%s", logs)
	}
}

// runLttngScenario runs script (real lttng-sessiond, our relay as
// $TESTBIN, babeltrace2) with bash in a private mount and network
// namespace, in a folder $W it returns.
func runLttngScenario(t *testing.T, script string) string {
	t.Helper()
	testenv.Root(t)
	testenv.Short(t)
	for _, p := range []string{"lttng", "lttng-sessiond", "babeltrace2", "unshare", "ip"} {
		testenv.Program(t, p)
	}
	w := t.TempDir()
	os.Chmod(w, 0o755)
	cmd := exec.Command("unshare", "-m", "-n", "--propagation", "private", "bash", "-c", script)
	cmd.Env = append(testenv.Env(), "W="+w, "TESTBIN="+os.Args[0])
	out, err := cmd.CombinedOutput()
	t.Logf("scenario:\n%s", out)
	if err != nil {
		logs, _ := os.ReadFile(filepath.Join(w, "relay.log"))
		t.Fatalf("scenario: %v\nrelay log:\n%s", err, logs)
	}
	return w
}

// btText is what babeltrace2 prints for the trace folder dir.
func btText(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("babeltrace2", dir).Output()
	if err != nil {
		t.Fatalf("babeltrace2 %s: %v", dir, err)
	}
	return string(out)
}

// cpuIDRE matches the cpu_id of a line printed by babeltrace2.
var cpuIDRE = regexp.MustCompile(`\{ cpu_id = [0-9]+ \}, `)

// marked returns, per process in vpid order, the events between the
// application's markers, without time stamps, deltas and CPU numbers:
// liblttng-ust records an event in each session in turn without pinning
// the thread, so on a loaded machine the thread may move to another CPU
// between two sessions, and one event lands in different per-CPU
// streams of different sessions.
func marked(t *testing.T, s string) []string {
	byPID := map[string][]string{}
	in := map[string]bool{}
	for _, l := range strings.Split(s, "\n") {
		j := strings.Index(l, "vpid = ")
		i := strings.Index(l, "] ")
		if i < 0 || j < 0 {
			continue
		}
		pid := l[j+7 : j+7+strings.IndexByte(l[j+7:], ',')]
		rest := l[i+2:]
		if rest != "" && rest[0] == '(' {
			rest = rest[strings.Index(rest, ") ")+2:]
		}
		if strings.Contains(rest, "size = 12346,") {
			in[pid] = true
		}
		if in[pid] {
			byPID[pid] = append(byPID[pid], cpuIDRE.ReplaceAllLiteralString(rest, ""))
		}
		if strings.Contains(rest, "size = 23457,") {
			in[pid] = false
		}
	}
	pids := slices.Sorted(maps.Keys(byPID))
	if len(pids) != 2 {
		t.Errorf("%d marked processes, want 2", len(pids))
	}
	var out []string
	for _, p := range pids {
		out = append(out, byPID[p]...)
	}
	return out
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("line %d\n got: %s\nwant: %s", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(got), len(want))
}

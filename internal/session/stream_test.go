package session

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tracetop/tracetop/internal/testenv"
)

// streamScenario records one workload with three sessions of our own
// daemon at once: to a folder, streamed to a relay (-U) and streamed live
// (--live, to the default local relay) while babeltrace2 reads it live. It
// runs in private mount and network namespaces, so the relay's default
// ports are free. RELAY is "lttng" (lttng-relayd started first) or
// "tracetop" (the relay spawned by `tracetop create --live`, as lttng
// spawns lttng-relayd).
const streamScenario = `
set -eu
ip link set lo up
export HOME=$W/home LTTNG_HOME=$W/home TRACETOP_SESSIOND_SOCKET=$W/sessiond.sock
mkdir -p $HOME
T=$TRACETOP
if [ "$RELAY" = lttng ]; then
    lttng-relayd -o $W/relay > $W/relayd.log 2>&1 &
    for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/5344) 2>/dev/null && break; sleep 0.05; done
fi
$T sessiond --socket $W/sessiond.sock > $W/sessiond.log 2>&1 &
SD=$!
cleanup() {
    kill -TERM $SD 2>/dev/null || true
    for p in $(ss -Hltnp 'sport = :5342' | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do kill -TERM $p 2>/dev/null || true; done
}
trap cleanup EXIT
for i in $(seq 100); do [ -S $W/sessiond.sock ] && break; sleep 0.05; done
$T create live --live > $W/create-live.txt
$T create net -U net://127.0.0.1 > $W/create-net.txt
$T create loc -o $W/local > /dev/null
for s in live net loc; do
    # large buffers: the machine may be busy with other tests
    $T enable-channel -k -s $s --subbuf-size 1M --num-subbuf 16 channel0 > /dev/null
    $T enable-event -k -s $s sched_switch,sched_process_fork,sched_process_exec,sched_process_exit > /dev/null
    $T enable-event -k -s $s --syscall openat,close,write > /dev/null
    $T add-context -k -s $s -t pid -t tid > /dev/null
done
# As with lttng, the relay session exists once the session has a channel:
# the viewer attaches before the start and gets everything.
H=$(hostname)
timeout 60 babeltrace2 --input-format=lttng-live net://localhost/host/$H/live > $W/viewer.txt 2> $W/viewer.err &
V=$!
for i in $(seq 200); do
    babeltrace2 --input-format=lttng-live net://localhost > $W/listing.txt 2>/dev/null || true
    grep -q '1 client(s) connected' $W/listing.txt && break
    sleep 0.05
done
for s in live net loc; do $T start $s > /dev/null; done
babeltrace2 --input-format=lttng-live net://localhost > $W/listing-started.txt 2>/dev/null || true
dd if=/dev/zero of=$W/named-output-file bs=64k count=16 status=none &
echo $! > $W/child.pid
wait $!
sleep 0.3
for s in loc net live; do $T stop $s > /dev/null; done
$T list > $W/list.txt
$T list live > $W/list-live.txt
sleep 2.5 # the live timer goes on while stopped: the viewer reaches the end
for s in loc net live; do $T destroy $s > /dev/null; done
wait $V || echo "viewer exited with $?"
cleanup
trap - EXIT
wait $SD || true
sleep 0.5
`

// TestStreamToRelays: our recorder streams to lttng-relayd and to our
// relay, live and not; babeltrace2 reads the relay's folders and the
// live session to the end, and finds the child's events of the trace
// recorded to a folder at the same time.
func TestStreamToRelays(t *testing.T) {
	testenv.Root(t)
	for _, p := range []string{"lttng-relayd", "babeltrace2", "unshare", "ip", "ss", "dd"} {
		testenv.Program(t, p)
	}
	exe := tracetopBinary(t)
	for _, relay := range []string{"lttng", "tracetop"} {
		t.Run(relay+"-relayd", func(t *testing.T) {
			w := t.TempDir()
			os.Chmod(w, 0o755)
			cmd := exec.Command("unshare", "-m", "-n", "--propagation", "private", "bash", "-c", streamScenario)
			cmd.Env = append(testenv.Env(), "W="+w, "TRACETOP="+exe, "RELAY="+relay)
			out, err := cmd.CombinedOutput()
			logs := func() string {
				var b strings.Builder
				for _, f := range []string{"sessiond.log", "relayd.log", "viewer.err"} {
					l, _ := os.ReadFile(filepath.Join(w, f))
					b.WriteString(f + ":\n" + string(l))
				}
				return b.String()
			}
			if err != nil || len(out) > 0 {
				t.Fatalf("scenario: %v\n%s\n%s", err, out, logs())
			}
			relayOut := filepath.Join(w, "relay")
			if relay == "tracetop" {
				relayOut = filepath.Join(w, "home", "lttng-traces") // the spawned relay's default
			}
			checkStreamed(t, w, relayOut, relay == "tracetop")
		})
	}
}

func checkStreamed(t *testing.T, w, relayOut string, spawned bool) {
	host, _ := os.Hostname()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(w, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	wantLive := "Live session live created.\nTraces will be output to tcp4://127.0.0.1:5342/ [data: 5343]\nLive timer interval set to 1000000 us\n"
	if spawned {
		wantLive = "Spawning a relayd daemon\n" + wantLive
	}
	if got := read("create-live.txt"); got != wantLive {
		t.Errorf("create --live printed:\n%s\nwant:\n%s", got, wantLive)
	}
	if got := read("create-net.txt"); got != "Session net created.\nTraces will be output to tcp4://127.0.0.1:5342/ [data: 5343]\n" {
		t.Errorf("create -U printed:\n%s", got)
	}
	// babeltrace2's listing of the relay's live sessions, as lttng list.
	for _, f := range []string{"listing.txt", "listing-started.txt"} {
		listing := read(f)
		if !regexp.MustCompile(`(?m)^net://localhost/host/` + regexp.QuoteMeta(host) + `/live \(timer = 1000000, \d+ stream\(s\), 1 client\(s\) connected\)$`).MatchString(listing) {
			t.Errorf("babeltrace2 net://localhost listed:\n%s", listing)
		}
		t.Logf("%s: %s", f, strings.TrimSpace(listing))
	}
	if l := read("list-live.txt"); !strings.Contains(l, "Trace output: tcp4://127.0.0.1:5342/ [data: 5343]") ||
		!strings.Contains(l, "Relay session folder: "+host+"/live-") {
		t.Errorf("tracetop list live:\n%s", l)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(read("child.pid")))
	path := filepath.Join(w, "named-output-file")

	local := babeltrace(t, filepath.Join(w, "local", "kernel"))
	want := childEvents(local, pid)
	checkChild(t, "local", want, pid, path)
	dirs := map[string]string{}
	for _, s := range []string{"net", "live"} {
		m, _ := filepath.Glob(filepath.Join(relayOut, host, s+"-*", "kernel"))
		if len(m) != 1 {
			t.Fatalf("relay folder of session %s: %v", s, m)
		}
		dirs[s] = m[0]
		if ents, _ := filepath.Glob(filepath.Join(m[0], "channel0_*")); len(ents) == 0 {
			t.Errorf("%s: no channel0_N stream", m[0])
		}
	}
	// Every sched_switch of the time all three sessions recorded (the
	// folder session's, 10 ms in from each end) is in each trace.
	lo, hi := commonSpan(local)
	wantSwitches := switchesIn(local, lo, hi)
	for _, s := range []string{"net", "live"} {
		got := babeltrace(t, dirs[s])
		if n := switchesIn(got, lo, hi); n != wantSwitches || n == 0 {
			t.Errorf("session %s: %d sched_switch in the common %.3f s, the folder trace has %d", s, n, float64(hi-lo)/1e9, wantSwitches)
		} else {
			t.Logf("session %s: %d sched_switch in the common %.3f s, as the folder trace", s, n, float64(hi-lo)/1e9)
		}
		ev := childEvents(got, pid)
		if !slices.Equal(ev, want) {
			t.Errorf("session %s streamed: %d events of the child, %d recorded to a folder\n%s", s, len(ev), len(want), firstDiff(ev, want))
		}
		t.Logf("session %s: %d events, %d sched_switch (folder: %d, %d)", s, strings.Count(got, "\n"),
			strings.Count(got, " sched_switch: "), strings.Count(local, "\n"), strings.Count(local, " sched_switch: "))
		if s != "live" {
			continue
		}
		viewer := read("viewer.txt")
		if e := read("viewer.err"); e != "" {
			t.Errorf("live viewer warned:\n%s", e)
		}
		if viewer != got {
			t.Errorf("live viewer printed %d lines, babeltrace2 prints %d for the relay's folder\n%s",
				strings.Count(viewer, "\n"), strings.Count(got, "\n"),
				firstDiff(strings.Split(viewer, "\n"), strings.Split(got, "\n")))
		}
	}
}

// stamp returns the time of day of a babeltrace2 line ("[HH:MM:SS.nnnnnnnnn] ...") in ns.
func stamp(l string) (int64, bool) {
	if len(l) < 20 || l[0] != '[' || l[19] != ']' {
		return 0, false
	}
	h, e1 := strconv.Atoi(l[1:3])
	m, e2 := strconv.Atoi(l[4:6])
	sec, e3 := strconv.Atoi(l[7:9])
	ns, e4 := strconv.Atoi(l[10:19])
	if e1 != nil || e2 != nil || e3 != nil || e4 != nil {
		return 0, false
	}
	return ((int64(h)*60+int64(m))*60+int64(sec))*1e9 + int64(ns), true
}

// commonSpan returns the bounds of the time all sessions recorded: the
// folder session's switches (it starts last and stops first), 10 ms in
// from each end. Each session stamps its own copy of a switch (its own
// BPF program reads the clock), the copies a little apart: each bound is put
// in the middle of the widest gap between the folder session's switches
// near it, never next to a switch that one session could stamp on the
// other side.
func commonSpan(out string) (lo, hi int64) {
	var ts []int64
	for _, l := range strings.Split(out, "\n") {
		if t, ok := stamp(l); ok && strings.Contains(l, " sched_switch: ") {
			ts = append(ts, t)
		}
	}
	if len(ts) < 2 {
		return 0, 0
	}
	// mid returns the middle of the widest gap among the 8 that follow
	// switch i.
	mid := func(i int) int64 {
		best := i
		for j := i; j < min(i+8, len(ts)-1); j++ {
			if ts[j+1]-ts[j] > ts[best+1]-ts[best] {
				best = j
			}
		}
		return (ts[best] + ts[best+1]) / 2
	}
	i, _ := slices.BinarySearch(ts, ts[0]+10e6)
	j, _ := slices.BinarySearch(ts, ts[len(ts)-1]-10e6)
	return mid(max(i-1, 0)), mid(max(j-8, 0))
}

func switchesIn(out string, lo, hi int64) int {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if ts, ok := stamp(l); ok && ts > lo && ts < hi && strings.Contains(l, " sched_switch: ") {
			n++
		}
	}
	return n
}

// childEvents returns the events of the child (context tid), without
// time stamps, in trace order.
func childEvents(out string, pid int) []string {
	var ev []string
	tag := "tid = " + strconv.Itoa(pid) + " }"
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, ") "); i > 0 && strings.Contains(l, tag) {
			ev = append(ev, l[i+2:])
		}
	}
	return ev
}

func checkChild(t *testing.T, what string, ev []string, pid int, path string) {
	var opens, switches int
	for _, l := range ev {
		if strings.Contains(l, "syscall_entry_openat:") && strings.Contains(l, `filename = "`+path+`"`) {
			opens++
		}
		if strings.Contains(l, "sched_switch:") {
			switches++
		}
	}
	if opens != 1 || switches == 0 {
		t.Errorf("%s: child %d has %d syscall_entry_openat of %s and %d sched_switch among %d events", what, pid, opens, path, switches, len(ev))
	}
	t.Logf("%s: child %d: %d events, %d sched_switch, openat of its file", what, pid, len(ev), switches)
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return "first difference at line " + strconv.Itoa(i+1) + ":\n" + a[i] + "\n" + b[i]
		}
	}
	return "one is a prefix of the other"
}

package live

import (
	"fmt"
	"maps"
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

// lttngLive runs real lttng-sessiond (user space, per-UID buffers, live
// timer 100 ms, the libc wrapper preloaded into ls) streaming to a relay,
// with babeltrace2 and our viewer attached live, in a private mount and
// network namespace. RELAY=ours: our relay, one session, babeltrace2 and
// two of our viewers on it. RELAY=lttng: lttng-relayd, which allows one
// viewer per session: our viewer on s1, then babeltrace2 on s2 recording
// the same program again. BUF=uid or pid: per-UID or per-PID buffers
// (with per-PID buffers, streams come and go with each application).
const lttngLive = `
set -eu
ip link set lo up
mount -t tmpfs none /var/run/lttng 2>/dev/null || { mkdir -p /var/run/lttng; mount -t tmpfs none /var/run/lttng; }
mount -t tmpfs none /dev/shm
export HOME=$W/home LTTNG_HOME=$W/home
mkdir -p $HOME
if [ $RELAY = ours ]; then
    TRACETOP_TEST_RELAY=$W/relay $TESTBIN > $W/relay.log 2>&1 &
    RPID=$!
    for i in $(seq 200); do grep -q ready $W/relay.log && break; sleep 0.05; done
else
    lttng-relayd -o $W/relay > $W/relay.log 2>&1 &
    RPID=$!
    for i in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/5344) 2>/dev/null && break; sleep 0.05; done
fi
lttng-sessiond -d --no-kernel > $W/sessiond.log 2>&1
SPID=$(cat $HOME/.lttng/lttng-sessiond.pid 2>/dev/null || cat /var/run/lttng/lttng-sessiond.pid)
cleanup() { kill -TERM $SPID 2>/dev/null || true; kill -TERM $RPID 2>/dev/null || true; }
trap cleanup EXIT
mk() {
    lttng create $1 --live=100000 > /dev/null
    lttng enable-channel -u -s $1 --buffers-$BUF chan > /dev/null
    lttng enable-event -u -s $1 -c chan 'lttng_ust_libc:*' > /dev/null
    lttng add-context -u -s $1 -c chan -t vpid -t vtid -t procname > /dev/null
    lttng start $1 > /dev/null
}
H=$(hostname)
# phase SESSION VIEWS: a live session watched by viewers (name:kind).
phase() {
    local s=$1; shift
    mk $s
    PIDS=
    INTR=
    for v in "$@"; do
        case ${v%%:*} in
        bt)
            timeout 60 babeltrace2 --input-format=lttng-live net://localhost/host/$H/$s > $W/${v#*:}.txt 2> $W/${v#*:}.err &
            PIDS="$PIDS $!";;
        intr)
            TRACETOP_TEST_VIEW=net://localhost/host/$H/$s $TESTBIN > $W/${v#*:}.txt 2> $W/${v#*:}.err &
            INTR="$INTR $!:${v#*:}";;
        *)
            TRACETOP_TEST_VIEW=net://localhost/host/$H/$s timeout 60 $TESTBIN > $W/${v#*:}.txt 2> $W/${v#*:}.err &
            PIDS="$PIDS $!";;
        esac
    done
    for i in $(seq 200); do
        c=$(babeltrace2 --input-format=lttng-live net://localhost 2>/dev/null | grep -o '[0-9]* client' | awk '{s+=$1} END {print s+0}')
        [ "$c" -ge $# ] && break
        sleep 0.05
    done
    echo "$s: viewers attached: $c"
    # The listing, as tracetop view and babeltrace2 print it.
    TRACETOP_TEST_LIST=net://localhost $TESTBIN > $W/list-$s-ours.txt
    babeltrace2 --input-format=lttng-live net://localhost > $W/list-$s-bt.txt
    # Without address randomisation, so that two sessions see the same
    # pointers.
    for i in 1 2; do
        setarch -R env LD_PRELOAD=liblttng-ust-libc-wrapper.so ls -l /usr/bin > /dev/null
        sleep 0.3
        if [ $i = 1 ] && [ -n "$INTR" ]; then
            # Ctrl-C in the middle of the session: a clean detach.
            for x in $INTR; do kill -INT ${x%%:*}; done
            for x in $INTR; do rc=0; wait ${x%%:*} || rc=$?; echo $rc > $W/${x#*:}.rc; done
            TRACETOP_TEST_LIST=net://localhost $TESTBIN > $W/after-$s-ours.txt
            babeltrace2 --input-format=lttng-live net://localhost > $W/after-$s-bt.txt
        fi
    done
    sleep 0.3
    lttng stop $s > /dev/null
    sleep 0.3
    lttng destroy $s > /dev/null
    for p in $PIDS; do wait $p || echo "viewer $p failed"; done
}
if [ $RELAY = ours ]; then
    phase s1 bt:bt ours:ours0 ours:ours1 intr:intr
else
    # lttng-relayd allows one viewer per session (and hangs destroying
    # two live sessions at once here): one session each.
    phase s1 ours:ours0
    phase s2 bt:bt
    phase s3 intr:intr
fi
cleanup
trap - EXIT
wait $RPID || true
`

// TestRealLTTng: against lttng-relayd and against our relay, fed by real
// lttng-sessiond, our live viewer prints exactly what babeltrace2 prints
// for the relay's folder afterwards, and what babeltrace2 prints live.
// Our listing of the relay's sessions is babeltrace2's, and a viewer
// interrupted (SIGINT) in the middle of a session detaches cleanly: it
// exits with status 0 after printing the session's first lines, and
// the relay counts one client less.
func TestRealLTTng(t *testing.T) {
	testenv.Root(t)
	for _, p := range []string{"lttng", "lttng-sessiond", "lttng-relayd", "babeltrace2", "unshare", "ip"} {
		testenv.Program(t, p)
	}
	for _, tc := range []struct{ relay, buf string }{{"ours", "uid"}, {"lttng", "uid"}, {"ours", "pid"}} {
		rk := tc.relay
		t.Run(rk+"/"+tc.buf, func(t *testing.T) {
			w := t.TempDir()
			os.Chmod(w, 0o755)
			cmd := exec.Command("unshare", "-m", "-n", "--propagation", "private", "bash", "-c", lttngLive)
			cmd.Env = append(testenv.Env(), "W="+w, "TESTBIN="+os.Args[0], "RELAY="+rk, "BUF="+tc.buf)
			out, err := cmd.CombinedOutput()
			t.Logf("scenario:\n%s", out)
			logs := func() {
				for _, f := range []string{"relay.log", "bt.err", "ours0.err", "ours1.err"} {
					if b, _ := os.ReadFile(filepath.Join(w, f)); len(b) > 0 {
						t.Logf("%s:\n%s", f, b)
					}
				}
			}
			if err != nil || strings.Contains(string(out), "failed") {
				logs()
				t.Fatalf("scenario: %v", err)
			}
			read := func(name string) string {
				b, err := os.ReadFile(filepath.Join(w, name))
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			offline := func(session string) string {
				m, _ := filepath.Glob(filepath.Join(w, "relay", "*", session+"-*"))
				if len(m) != 1 {
					t.Fatalf("relay output of %s: %v", session, m)
				}
				c := exec.Command("babeltrace2", m[0])
				c.Env = testenv.Env()
				b, err := c.Output()
				if err != nil {
					t.Fatalf("babeltrace2 %s: %v", m[0], err)
				}
				return string(b)
			}
			bt := read("bt.txt")
			btDisk := offline(map[string]string{"ours": "s1", "lttng": "s2"}[rk])
			if bt != btDisk {
				t.Errorf("babeltrace2 live printed %d lines, %d from the relay's folder", lines(bt), lines(btDisk))
			}
			disk := offline("s1")
			views := []string{"ours0.txt"}
			if rk == "ours" {
				views = append(views, "ours1.txt")
			}
			for _, v := range views {
				got := read(v)
				if got != disk {
					logs()
					t.Errorf("%s: our live viewer printed %d lines, babeltrace2 prints %d for the relay's folder%s",
						v, lines(got), lines(disk), firstDiff(got, disk))
				}
				if rk == "ours" && got != bt {
					t.Errorf("%s: our live viewer and babeltrace2 live differ%s", v, firstDiff(got, bt))
				}
			}
			checkListings(t, w, rk, read, offline)
			if rk == "lttng" {
				// Two sessions record two runs of the same program:
				// compare without times and process ids.
				a, b := untimed(t, read("ours0.txt")), untimed(t, bt)
				if !slices.Equal(a, b) {
					t.Errorf("our viewer on s1 printed %d events, babeltrace2 on s2 %d: they differ without times%s",
						len(a), len(b), firstDiff(strings.Join(a, "\n"), strings.Join(b, "\n")))
				}
			}
			t.Logf("%s relay: %d lines live (babeltrace2 live: %d)", rk, lines(disk), lines(bt))
			if testing.Verbose() {
				logs()
			}
		})
	}
}

func lines(s string) int { return strings.Count(s, "\n") }

// checkListings compares our listings of the relay with babeltrace2's,
// while the viewers were attached and after the interrupted one left,
// and checks the interrupted viewer.
func checkListings(t *testing.T, w, rk string, read func(string) string, offline func(string) string) {
	t.Helper()
	sessions := map[string][]string{"ours": {"s1"}, "lttng": {"s1", "s2", "s3"}}[rk]
	intrSession := map[string]string{"ours": "s1", "lttng": "s3"}[rk]
	clients := func(list string) int {
		n := 0
		for _, m := range regexp.MustCompile(`([0-9]+) client\(s\)`).FindAllStringSubmatch(list, -1) {
			k, _ := strconv.Atoi(m[1])
			n += k
		}
		return n
	}
	for _, s := range sessions {
		ours, bt := read("list-"+s+"-ours.txt"), read("list-"+s+"-bt.txt")
		if ours != bt || !strings.Contains(ours, "/"+s+" (timer = 100000") {
			t.Errorf("listing while viewing %s: ours\n%sbabeltrace2\n%s", s, ours, bt)
		}
		if s != intrSession {
			continue
		}
		after, afterBT := read("after-"+s+"-ours.txt"), read("after-"+s+"-bt.txt")
		if after != afterBT {
			t.Errorf("listing after the interruption: ours\n%sbabeltrace2\n%s", after, afterBT)
		}
		if clients(after) != clients(ours)-1 {
			t.Errorf("%d clients before the interruption, %d after, want one less:\n%s%s", clients(ours), clients(after), ours, after)
		}
		if rc := strings.TrimSpace(read("intr.rc")); rc != "0" {
			t.Errorf("the interrupted viewer exited with status %s, want 0; its errors:\n%s", rc, read("intr.err"))
		}
		got, disk := read("intr.txt"), offline(s)
		if got == "" || !strings.HasPrefix(disk, got) || got == disk {
			t.Errorf("the interrupted viewer printed %d lines, not the beginning of the %d of the relay's folder%s",
				lines(got), lines(disk), firstDiff(got, disk))
		}
		t.Logf("listing (ours = babeltrace2's):\n%sinterrupted viewer: %d of %d lines, exit status 0; clients %d -> %d",
			ours, lines(got), lines(disk), clients(ours), clients(after))
	}
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf(" (first difference at line %d:\n%s\n%s)", i+1, la[i], lb[i])
		}
	}
	return ""
}

var idRE = regexp.MustCompile(`\b(vpid|vtid|tid|pid|cpu_id)\s*=\s*[0-9]+`)

// untimed returns the events per process, in vpid order, without their
// times and deltas.
func untimed(t *testing.T, s string) []string {
	byPID := map[string][]string{}
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
		rest = idRE.ReplaceAllString(rest, "$1 = N")
		byPID[pid] = append(byPID[pid], rest)
	}
	var out []string
	for i, p := range slices.Sorted(maps.Keys(byPID)) {
		for _, l := range byPID[p] {
			out = append(out, fmt.Sprintf("%d %s", i, l))
		}
	}
	return out
}

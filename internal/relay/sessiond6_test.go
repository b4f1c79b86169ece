package relay

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// lttngScenario6 records one set of events with real lttng-sessiond into
// three sessions: local, and streamed over IPv6 (net6://[::1]) to our
// relay listening on tcp6://[::1] only, live and not live.
const lttngScenario6 = `
set -eu
ip link set lo up
mount -t tmpfs none /var/run/lttng 2>/dev/null || { mkdir -p /var/run/lttng; mount -t tmpfs none /var/run/lttng; }
mount -t tmpfs none /dev/shm
export HOME=$W/home LTTNG_HOME=$W/home
mkdir -p $HOME
TRACETOP_TEST_RELAY=$W/relay TRACETOP_TEST_RELAY_URL='tcp6://[::1]' $TESTBIN > $W/relay.log 2>&1 &
RPID=$!
for i in $(seq 600); do grep -q ready $W/relay.log && break; sleep 0.05; done
grep -q ready $W/relay.log || { echo "relay not ready"; cat $W/relay.log; exit 1; }
# Nothing listens on IPv4.
if (exec 3<>/dev/tcp/127.0.0.1/5342) 2>/dev/null; then echo "the relay listens on IPv4"; exit 1; fi
lttng-sessiond -d --no-kernel > $W/sessiond.log 2>&1
SPID=$(cat $HOME/.lttng/lttng-sessiond.pid 2>/dev/null || cat /var/run/lttng/lttng-sessiond.pid)
cleanup() { kill -TERM $SPID 2>/dev/null || true; kill -TERM $RPID 2>/dev/null || true; }
trap cleanup EXIT
mk() { # name create-args...
    local name=$1; shift
    lttng create $name "$@" > /dev/null
    lttng enable-channel -u -s $name --buffers-uid --subbuf-size 1M --num-subbuf 4 chan > /dev/null
    lttng enable-event -u -s $name -c chan 'lttng_ust_libc:*' > /dev/null
    lttng add-context -u -s $name -c chan -t vpid -t vtid -t procname > /dev/null
    lttng start $name > /dev/null
}
mk loc -o $W/local
mk net6 -U 'net6://[::1]'
mk live6 --live=200000 -U 'net6://[::1]'
for i in 1 2; do
    LTTNG_UST_REGISTER_TIMEOUT=-1 LD_PRELOAD=liblttng-ust-libc-wrapper.so bash -c 'printf -v a "%*s" 12345 ""; for ((i=0;i<30;i++)); do b="$b$i"; done; printf -v c "%*s" 23456 ""'
done
for s in loc net6 live6; do lttng stop $s > /dev/null; lttng destroy $s > /dev/null; done
cleanup
trap - EXIT
wait $RPID
`

// TestRealSessiondIPv6: lttng-sessiond streams over IPv6 to our relay
// listening on tcp6:// only; babeltrace2 prints the same events for the
// relay's folders as for the session recorded locally.
func TestRealSessiondIPv6(t *testing.T) {
	w := runLttngScenario(t, lttngScenario6)
	bt := func(dir string) string { return btText(t, dir) }
	want := marked(t, bt(filepath.Join(w, "local")))
	for _, s := range []string{"net6", "live6"} {
		m, _ := filepath.Glob(filepath.Join(w, "relay", "*", s+"-*"))
		if len(m) != 1 {
			t.Fatalf("relay output for %s: %v", s, m)
		}
		o := bt(m[0])
		got := marked(t, o)
		t.Logf("%s: %d events, %d compared", s, strings.Count(o, "\n"), len(got))
		if !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("%s over IPv6: %d marked events differ from the %d recorded locally; first difference:\n%s",
				s, len(got), len(want), firstDiff(got, want))
		}
	}
}

#!/usr/bin/env bash
# Overhead of recording a syscall-heavy workload, in one run:
#   dd if=/dev/zero of=/dev/null bs=1 count=N   (400k syscalls for N=200000)
# untraced, under tracetop (syscalls + sched_switch), under plain tracefs
# with the same events enabled (an instance read by cat), and under
# strace -f. Prints each wall time, the slowdown ratios and lost events.
# Needs root. Usage: bench/record-overhead.sh [COUNT]
set -euo pipefail
COUNT=${1:-200000}
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "record-overhead: needs root (tracefs, eBPF)" >&2; exit 2; }
BIN=${TRACETOP:-bin/tracetop}
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/tracetop
T=/sys/kernel/tracing
[ -e $T/events/header_page ] || mount -t tracefs nodev $T
WORK=$(mktemp -d)
INST=$T/instances/bench-plain-$$
cleanup() {
	[ -n "${CATS:-}" ] && kill $CATS 2>/dev/null || true
	[ -d "$INST" ] && { echo 0 >"$INST/tracing_on"; echo 0 >"$INST/events/enable"; rmdir "$INST" 2>/dev/null || true; }
	"$BIN" destroy bench-overhead >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

run_dd() { # prints elapsed nanoseconds
	local a b
	a=$(date +%s%N)
	"$@" dd if=/dev/zero of=/dev/null bs=1 count="$COUNT" status=none
	b=$(date +%s%N)
	echo $((b - a))
}
best() { # best of 3 runs of run_dd "$@"
	local m=0 t
	for _ in 1 2 3; do
		t=$(run_dd "$@")
		if [ "$m" = 0 ] || [ "$t" -lt "$m" ]; then m=$t; fi
	done
	echo "$m"
}

base=$(best env)

# tracetop: syscalls and sched_switch, default channel
"$BIN" create bench-overhead -o "$WORK/tt" >/dev/null
"$BIN" enable-event -k -s bench-overhead --syscall -a >/dev/null
"$BIN" enable-event -k -s bench-overhead sched_switch >/dev/null
"$BIN" start bench-overhead >/dev/null
tt=$(best env)
"$BIN" stop bench-overhead >/dev/null
"$BIN" destroy bench-overhead >/dev/null
tt_lost=$(babeltrace2 "$WORK/tt" 2>&1 >/dev/null | sed -n 's/.*discarded \([0-9]*\) events.*/\1/p' | awk '{s+=$1} END {print s+0}')

# plain tracefs: the same events in an instance of our own, read by cat
mkdir "$INST"
echo mono >"$INST/trace_clock"
echo 4096 >"$INST/buffer_size_kb"
echo 0 >"$INST/options/overwrite"
echo 0 >"$INST/buffer_percent"
for f in "$INST"/events/syscalls/sys_enter_*/enable "$INST"/events/syscalls/sys_exit_*/enable \
	"$INST"/events/sched/sched_switch/enable; do echo 1 >"$f"; done
CATS=
for c in "$INST"/per_cpu/cpu*; do
	cat "$c/trace_pipe_raw" >/dev/null &
	CATS="$CATS $!"
done
echo 1 >"$INST/tracing_on"
plain=$(best env)
echo 0 >"$INST/tracing_on"
sleep 0.5
plain_lost=0
for c in "$INST"/per_cpu/cpu*; do
	n=$(awk -F: '/^(overrun|dropped events)/ {s+=$2} END {print s+0}' "$c/stats")
	plain_lost=$((plain_lost + n))
done
kill $CATS 2>/dev/null || true
wait $CATS 2>/dev/null || true
CATS=

st=$(best strace -f -qq -o /dev/null)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ms() { awk -v a="$1" 'BEGIN { printf "%.1f ms", a / 1e6 }'; }
echo "workload: dd if=/dev/zero of=/dev/null bs=1 count=$COUNT (best of 3)"
printf '%-16s %12s %10s %12s\n' mode time slowdown lost-events
printf '%-16s %12s %10s %12s\n' untraced "$(ms $base)" 1.00 -
printf '%-16s %12s %10s %12s\n' tracetop "$(ms $tt)" "$(ratio $tt $base)" "$tt_lost"
printf '%-16s %12s %10s %12s\n' plain-tracefs "$(ms $plain)" "$(ratio $plain $base)" "$plain_lost"
printf '%-16s %12s %10s %12s\n' strace-f "$(ms $st)" "$(ratio $st $base)" -
echo "tracetop overhead / plain tracefs overhead: $(awk -v t=$tt -v p=$plain -v b=$base 'BEGIN { if (p > b) printf "%.2f", (t - b) / (p - b); else print "n/a" }')"

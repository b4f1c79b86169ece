#!/bin/sh
# Full-trace CPU and I/O figures: tracetop top --batch against lttng-cputop
# (lttng-analyses) and against babeltrace2 merely decoding the same trace
# (dummy sink). Prints the times and the ratios. Goals: >= 50x faster than
# lttng-cputop, >= 2x faster than babeltrace2 -o dummy.
#
#   bench/analysis.sh [TRACE_DIR]
#
# TRACE_DIR defaults to the largest shared kernel trace,
# $TRACETOP_SHARED/traces/tracecompass/many-threads/trace (TRACETOP_SHARED
# defaults to ../shared beside the repository).
#
# As root, it then records with tracetop's recorder (create, enable-event,
# start, stop) a busy machine (bench/busy-machine: 500 processes making
# system calls, and dd moving bytes one at a time) into a temporary folder:
#   - a trace of RECORD_MB (default 300) MB, compared as above;
#   - a trace of JUMP_MB (default 1024) MB, on which the top's history
#     jumps to random times (StateAt, and the figures of the second
#     before): median and worst (goal: under 200 ms for 1 GB).
# RECORD_MB=0 or JUMP_MB=0 skips one. lttng-cputop runs CPUTOP_RUNS
# (default 1) times on the recorded trace (minutes for a few hundred MB).
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${TRACETOP_SHARED:-$repo/../shared}
trace=${1:-$shared/traces/tracecompass/many-threads/trace}
runs=${RUNS:-3}
tmp=$(mktemp -d)
session=""
load=""
cleanup() {
	[ -n "$load" ] && kill $load 2>/dev/null
	[ -n "$session" ] && "$tmp/tracetop" destroy "$session" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

(cd "$repo" && go build -o "$tmp/tracetop" ./cmd/tracetop)

# best of $1 runs: wall-clock seconds of a command
best() {
	n=$1
	shift
	b=""
	i=0
	while [ $i -lt "$n" ]; do
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
		e=$(date +%s.%N)
		t=$(echo "$e - $s" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
		i=$((i + 1))
	done
	echo "$b"
}

# compare TRACE_DIR CPUTOP_RUNS: the three tools on one trace
compare() {
	t=$1
	# lttng-analyses reads the tracer version only from a folder named *kernel.
	rm -rf "$tmp/cputop"
	mkdir "$tmp/cputop"
	ln -s "$(cd "$t" && pwd)" "$tmp/cputop/kernel"
	ours=$(best "$runs" "$tmp/tracetop" top --batch --interval 0 --json "$t")
	bt=$(best "$runs" babeltrace2 -o dummy "$t")
	cputop=$(best "$2" lttng-cputop --no-progress --skip-validation "$tmp/cputop/kernel")
	printf 'trace: %s (%s)\n' "$t" "$(du -sh "$t" | cut -f1)"
	printf 'tracetop top --batch (CPU + I/O figures): %8.3f s\n' "$ours"
	printf 'babeltrace2 -o dummy (decoding only):     %8.3f s  ratio %.1fx (goal >= 2x)\n' "$bt" "$(echo "$bt / $ours" | bc -l)"
	printf 'lttng-cputop:                             %8.3f s  ratio %.1fx (goal >= 50x)\n' "$cputop" "$(echo "$cputop / $ours" | bc -l)"
}

# record DIR MB: a busy machine recorded by tracetop until the trace
# holds MB megabytes
record() {
	dir=$1
	mb=$2
	session=bench-analysis-$$
	"$tmp/tracetop" create "$session" -o "$dir" >/dev/null
	"$tmp/tracetop" enable-event -k -s "$session" sched_switch,sched_wakeup,sched_wakeup_new,sched_process_fork,sched_process_exec,sched_process_exit,sched_process_free,sched_migrate_task >/dev/null
	"$tmp/tracetop" enable-event -k -s "$session" --syscall -a >/dev/null
	"$tmp/tracetop" start "$session" >/dev/null
	"$tmp/busy-machine" 500 20000 3600 &
	load=$!
	dd if=/dev/zero of=/dev/null bs=1 count=1000000000 2>/dev/null &
	load="$load $!"
	while [ "$(du -sm "$dir" | cut -f1)" -lt "$mb" ]; do
		sleep 1
	done
	kill $load 2>/dev/null
	wait $load 2>/dev/null || true
	load=""
	"$tmp/tracetop" stop "$session" >/dev/null
	"$tmp/tracetop" destroy "$session" >/dev/null
	session=""
}

compare "$trace" "$runs"

if [ "$(id -u)" = 0 ]; then
	cc -O2 -o "$tmp/busy-machine" "$repo/bench/busy-machine/busy-machine.c"
	if [ "${RECORD_MB:-300}" != 0 ]; then
		echo
		echo "A trace recorded by tracetop (a busy machine, ${RECORD_MB:-300} MB):"
		record "$tmp/rec" "${RECORD_MB:-300}"
		compare "$tmp/rec/kernel" "${CPUTOP_RUNS:-1}"
		rm -rf "$tmp/rec"
	fi
	if [ "${JUMP_MB:-1024}" != 0 ]; then
		echo
		echo "Jumps in a trace recorded by tracetop (a busy machine, ${JUMP_MB:-1024} MB):"
		record "$tmp/big" "${JUMP_MB:-1024}"
		(cd "$repo" && TRACETOP_JUMP_TRACE="$tmp/big/kernel" go test ./internal/analysis -run '^$' -bench 'JumpLarge' -benchtime 1x -v |
			grep -E 'jump_bench_test|^Benchmark' | sed 's/^ *jump_bench_test.go:[0-9]*: //')
		rm -rf "$tmp/big"
	fi
else
	echo "(not root: the traces recorded by tracetop are skipped)"
fi

# The path ctf.Read -> state.Apply -> analysis per event, and the top's own
# CPU use on a synthetic busy machine (500 processes, 100 k events/s, 1 Hz
# refresh) and when following a growing trace live (goals: render < 2 %,
# all < 10 % of one core); bench/top.sh measures the real bare top.
(cd "$repo" && go test ./internal/analysis -run '^$' -bench 'Path' -benchtime 5x | grep Benchmark)
(cd "$repo" && go test ./internal/tui -run '^$' -bench 'TopBusyMachine|LiveTail' -benchtime 1x | grep Benchmark)

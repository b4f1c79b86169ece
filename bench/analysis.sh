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
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${TRACETOP_SHARED:-$repo/../shared}
trace=${1:-$shared/traces/tracecompass/many-threads/trace}
runs=${RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

(cd "$repo" && go build -o "$tmp/tracetop" ./cmd/tracetop)
# lttng-analyses reads the tracer version only from a folder named *kernel.
ln -s "$(cd "$trace" && pwd)" "$tmp/kernel"

# best of $runs wall-clock seconds of a command
best() {
	b=""
	i=0
	while [ $i -lt "$runs" ]; do
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
		e=$(date +%s.%N)
		t=$(echo "$e - $s" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
		i=$((i + 1))
	done
	echo "$b"
}

ours=$(best "$tmp/tracetop" top --batch --interval 0 --json "$trace")
bt=$(best babeltrace2 -o dummy "$trace")
cputop=$(best lttng-cputop --no-progress --skip-validation "$tmp/kernel")

printf 'trace: %s\n' "$trace"
printf 'tracetop top --batch (CPU + I/O figures): %8.3f s\n' "$ours"
printf 'babeltrace2 -o dummy (decoding only):     %8.3f s  ratio %.1fx (goal >= 2x)\n' "$bt" "$(echo "$bt / $ours" | bc -l)"
printf 'lttng-cputop:                             %8.3f s  ratio %.1fx (goal >= 50x)\n' "$cputop" "$(echo "$cputop / $ours" | bc -l)"

# The path ctf.Read -> state.Apply -> analysis per event, and the top's own
# CPU use on a synthetic busy machine (500 processes, 100 k events/s, 1 Hz
# refresh) and when following a growing trace live (goals: render < 2 %,
# all < 10 % of one core).
(cd "$repo" && go test ./internal/analysis -run '^$' -bench 'Path' -benchtime 5x | grep Benchmark)
(cd "$repo" && go test ./internal/tui -run '^$' -bench 'TopBusyMachine|LiveTail' -benchtime 1x | grep Benchmark)

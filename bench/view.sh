#!/bin/sh
# `tracetop view` against `babeltrace2` on the 6-million-event LTTng-UST
# trace: both print the whole trace to /dev/null, RUNS times each
# (interleaved: bt, tt, bt, tt, ...), and the median of each figure is
# kept, so that a busy machine moves both sides alike. Prints both wall
# and CPU (user + system) times, the ratios, both peak RSS, checks that
# the outputs are identical (SHA-256 of each output) and prints the goal
# line.
#
# usage: bench/view.sh [TRACE_DIR]
#   TRACE_DIR  a trace to use instead of the shared benchmark trace
#              (../shared/bench/ust-libc-big.tar.xz, or regenerated with
#              ../shared/tools/make-big-ust-trace.sh when it is missing)
# env: TRACETOP_SHARED (shared folder), TRACETOP_BIN (tracetop binary),
#      RUNS (runs of each program, default 3)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${TRACETOP_SHARED:-$root/../shared}
bin=${TRACETOP_BIN:-$root/bin/tracetop}
runs=${RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

command -v babeltrace2 >/dev/null || { echo "view.sh: babeltrace2 is not installed" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "view.sh: /usr/bin/time is needed for peak RSS" >&2; exit 1; }
(cd "$root" && go build -o "$bin" ./cmd/tracetop)

if [ $# -ge 1 ]; then
	trace=$1
else
	tarball=$shared/bench/ust-libc-big.tar.xz
	if [ ! -f "$tarball" ]; then
		echo "view.sh: $tarball missing, regenerating it (root, lttng)" >&2
		bash "$shared/tools/make-big-ust-trace.sh" "$tmp/gen"
		tarball=$tmp/gen/ust-libc-big.tar.xz
	fi
	tar -xJf "$tarball" -C "$tmp"
	trace=$tmp/ust-libc-big
fi

# hash NAME CMD...: the SHA-256 and line count of CMD's output, in
# $tmp/NAME.sum and $tmp/NAME.lines (streamed: nothing is stored).
hash() {
	name=$1
	shift
	mkfifo "$tmp/$name.fifo"
	wc -l <"$tmp/$name.fifo" >"$tmp/$name.lines" &
	TZ=UTC LC_ALL=C "$@" 2>/dev/null | tee "$tmp/$name.fifo" | sha256sum | cut -d' ' -f1 >"$tmp/$name.sum"
	wait
}

# timed NAME CMD...: one run writing to /dev/null (as `babeltrace2 TRACE
# >/dev/null`); appends "wall KiB user sys" to $tmp/NAME.time.
timed() {
	name=$1
	shift
	TZ=UTC LC_ALL=C /usr/bin/time -f '%e %M %U %S' -a -o "$tmp/$name.time" "$@" >/dev/null 2>"$tmp/$name.err" || {
		echo "view.sh: $* failed:" >&2
		cat "$tmp/$name.err" >&2
		exit 1
	}
}
i=0
while [ $i -lt "$runs" ]; do
	timed bt babeltrace2 "$trace"
	timed tt "$bin" view "$trace"
	i=$((i + 1))
done
hash bt-out babeltrace2 "$trace"
hash tt-out "$bin" view "$trace"

# median FILE: the medians of wall, KiB and CPU (user + sys) of the runs.
median() {
	awk '{ w[NR] = $1; k[NR] = $2; c[NR] = $3 + $4 }
	function med(a, n,    i, j, t) {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END { printf "%s %s %s\n", med(w, NR), med(k, NR), med(c, NR) }' "$1"
}
read bt_s bt_kb bt_cpu <<EOF
$(median "$tmp/bt.time")
EOF
read tt_s tt_kb tt_cpu <<EOF
$(median "$tmp/tt.time")
EOF
lines=$(cat "$tmp/bt-out.lines")
same=no
[ "$(cat "$tmp/bt-out.sum")" = "$(cat "$tmp/tt-out.sum")" ] && same=yes
awk -v bs="$bt_s" -v ts="$tt_s" -v bk="$bt_kb" -v tk="$tt_kb" -v n="$lines" -v same="$same" \
	-v bc="$bt_cpu" -v tc="$tt_cpu" -v runs="$runs" 'BEGIN {
	if (ts <= 0) ts = 0.01
	if (tc <= 0) tc = 0.01
	printf "events:               %d (median of %d runs each, interleaved)\n", n, runs
	printf "babeltrace2:          %8.2f s wall  %6.2f s CPU  peak RSS %7.1f MiB\n", bs, bc, bk / 1024
	printf "tracetop view:        %8.2f s wall  %6.2f s CPU  peak RSS %7.1f MiB\n", ts, tc, tk / 1024
	printf "speed-up:             %8.2fx wall, %.2fx CPU\n", bs / ts, bc / tc
	printf "identical output:     %s\n", same
	printf "tracetop RSS < 64MiB: %s\n", (tk < 65536 ? "yes" : "no")
	ok = (bc / tc >= 8 && same == "yes" && tk < 65536)
	printf "goal (CPU >= 8x, identical, RSS < 64 MiB): %s\n", (ok ? "met" : "NOT met")
}'
[ "$same" = yes ]

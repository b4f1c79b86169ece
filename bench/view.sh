#!/bin/sh
# `tracetop view` against `babeltrace2` on the 6-million-event LTTng-UST
# trace: both print the whole trace to /dev/null, in one run; prints both
# times, the ratio, both peak RSS, and checks that the outputs are
# identical (SHA-256 of each output).
#
# usage: bench/view.sh [TRACE_DIR]
#   TRACE_DIR  a trace to use instead of the shared benchmark trace
#              (../shared/bench/ust-libc-big.tar.xz, or regenerated with
#              ../shared/tools/make-big-ust-trace.sh when it is missing)
# env: TRACETOP_SHARED (shared folder), TRACETOP_BIN (tracetop binary)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${TRACETOP_SHARED:-$root/../shared}
bin=${TRACETOP_BIN:-$root/bin/tracetop}
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

# Timed runs write to /dev/null (as `babeltrace2 TRACE >/dev/null`); the
# outputs are compared in separate runs.
timed() {
	name=$1
	shift
	TZ=UTC LC_ALL=C /usr/bin/time -f '%e %M %U %S' -o "$tmp/$name.time" "$@" >/dev/null 2>"$tmp/$name.err" || {
		echo "view.sh: $* failed:" >&2
		cat "$tmp/$name.err" >&2
		exit 1
	}
}
timed bt babeltrace2 "$trace"
timed tt "$bin" view "$trace"
hash bt-out babeltrace2 "$trace"
hash tt-out "$bin" view "$trace"

read bt_s bt_kb bt_u bt_sys <"$tmp/bt.time"
read tt_s tt_kb tt_u tt_sys <"$tmp/tt.time"
lines=$(cat "$tmp/bt-out.lines")
same=no
[ "$(cat "$tmp/bt-out.sum")" = "$(cat "$tmp/tt-out.sum")" ] && same=yes
awk -v bs="$bt_s" -v ts="$tt_s" -v bk="$bt_kb" -v tk="$tt_kb" -v n="$lines" -v same="$same" \
	-v bc="$bt_u $bt_sys" -v tc="$tt_u $tt_sys" 'BEGIN {
	if (ts <= 0) ts = 0.01
	split(bc, b, " "); split(tc, t, " ")
	bcpu = b[1] + b[2]; tcpu = t[1] + t[2]
	if (tcpu <= 0) tcpu = 0.01
	printf "events:               %d\n", n
	printf "babeltrace2:          %8.2f s  (CPU %6.2f s)  peak RSS %7.1f MiB\n", bs, bcpu, bk / 1024
	printf "tracetop view:        %8.2f s  (CPU %6.2f s)  peak RSS %7.1f MiB\n", ts, tcpu, tk / 1024
	printf "speed-up:             %8.2fx wall, %.2fx CPU (goal >= 5x)\n", bs / ts, bcpu / tcpu
	printf "identical output:     %s\n", same
	printf "tracetop RSS < 64MiB: %s\n", (tk < 65536 ? "yes" : "no")
}'
[ "$same" = yes ]

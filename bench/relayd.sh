#!/bin/bash
# Relay throughput: the same trace streamed with `tracetop send --pace max`
# into tracetop relayd and into lttng-relayd, on loopback. Prints, for
# each relay, MB/s (wall clock) and the relay's CPU seconds per GB, and the
# ratio of throughput per CPU second (tracetop / lttng-relayd). The trace
# is sent ROUNDS times (default 3) so that the CPU figures, counted in clock
# ticks, are not dominated by rounding. The sender's CPU seconds per GB
# (the recorder side: what streaming costs the traced machine) are printed
# too.
#
# usage: bench/relayd.sh [TRACE_DIR]
#   default trace: the big UST trace of the shared bench folder
#   (../shared/bench/ust-libc-big.tar.xz, or $TRACETOP_SHARED/bench/...).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
go build -o "$WORK/tracetop" ./cmd/tracetop

TRACE=${1:-}
if [ -z "$TRACE" ]; then
    SHARED=${TRACETOP_SHARED:-$ROOT/../shared}
    tar -C "$WORK" -xJf "$SHARED/bench/ust-libc-big.tar.xz"
    TRACE=$(dirname "$(find "$WORK" -name metadata -path '*64-bit*' | head -1)")
    TRACE=${TRACE%/ust/uid/0/64-bit}
fi
BYTES=$(du -sb "$TRACE" | cut -f1)
TICK=$(getconf CLK_TCK)
ROUNDS=${ROUNDS:-3}
TIMEFORMAT='%3U %3S' # bash's time: the sender's user and system CPU seconds

cpu() { # utime+stime of a pid, in clock ticks
    awk '{print $14 + $15}' "/proc/$1/stat"
}

run() { # name port command...
    local name=$1 port=$2; shift 2
    local out=$WORK/out-$name
    mkdir -p "$out"
    "$@" > "$WORK/$name.log" 2>&1 &
    local pid=$!
    for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
    local c0 t0 t1 c1 r
    c0=$(cpu $pid)
    t0=$(date +%s.%N)
    for r in $(seq "$ROUNDS"); do
        { time "$WORK/tracetop" send "$TRACE" "net://127.0.0.1:$port:$((port + 1))" --pace max --name "bench$r" --hostname bench > "$WORK/$name.send" ; } 2>> "$WORK/$name.sendcpu"
    done
    t1=$(date +%s.%N)
    c1=$(cpu $pid)
    kill -TERM $pid; wait $pid 2>/dev/null || true
    local sent scpu
    sent=$(du -sb "$out" | cut -f1)
    scpu=$(awk '{s += $1 + $2} END {print s}' "$WORK/$name.sendcpu")
    awk -v n="$name" -v b="$sent" -v w="$(echo "$t1 - $t0" | bc)" -v c="$(( c1 - c0 ))" -v tick="$TICK" -v sc="$scpu" 'BEGIN {
        cs = c / tick; if (cs <= 0) cs = 1 / tick
        printf "%-13s %8.1f MB/s   %6.2f CPU s/GB   (%d bytes written, %.3f s, relay CPU %.2f s; sender %.2f CPU s/GB)\n", n, b / 1e6 / w, cs / (b / 1e9), b, w, cs, sc / (b / 1e9)
    }' | tee -a "$WORK/results"
    echo "$name $sent $c1 $c0" >> "$WORK/raw"
}

echo "trace: $TRACE ($BYTES bytes), sent $ROUNDS times to each relay"
run tracetop 25342 "$WORK/tracetop" relayd -o "$WORK/out-tracetop" -C tcp://127.0.0.1:25342 -D tcp://127.0.0.1:25343 -L tcp://127.0.0.1:25344
HOME=$WORK LTTNG_HOME=$WORK run lttng-relayd 26342 lttng-relayd -o "$WORK/out-lttng-relayd" -C tcp://127.0.0.1:26342 -D tcp://127.0.0.1:26343 -L tcp://127.0.0.1:26344
awk '{ b[$1] = $2; c[$1] = ($3 - $4); if (c[$1] <= 0) c[$1] = 1 }
     END { r = (b["tracetop"] / c["tracetop"]) / (b["lttng-relayd"] / c["lttng-relayd"])
           printf "throughput per relay CPU second, tracetop / lttng-relayd: %.2fx\n", r }' "$WORK/raw"

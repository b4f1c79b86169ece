#!/bin/bash
# Relay throughput: the same trace streamed with `tracetop send --pace max`
# into tracetop relayd and into lttng-relayd, both running at once on
# loopback, ROUNDS times each (default 5), alternating which relay goes
# first. For each relay it prints the median over the rounds of MB/s (wall
# clock of one send), of the relay's CPU seconds per GB, and the median of
# the per-round ratios of throughput per relay CPU second
# (tracetop / lttng-relayd), against the goal (>= 1.5x).
#
# CPU time is read from /proc/PID/task/*/schedstat (nanoseconds on CPU of
# every thread of the relay), before and after each send: exact, unlike
# the clock ticks of /proc/PID/stat (10 ms each, as much as a whole send
# of a few hundred MB through splice: one round of 258 MB measured 5.0x,
# pure rounding). The sender's CPU seconds per GB (the recorder side: what
# streaming costs the traced machine) are printed too. On a machine busy
# with other work the rounds differ by +-30%: look at the medians, and run
# it again.
#
# Dirty pages are written back (sync) between rounds, outside the measured
# time: the kernel threads' write-back CPU time is charged to no relay.
#
# The session is not live, so our relay writes the (4 MiB, aligned) packets
# with O_DIRECT; a live session goes through the page cache (splice), as
# lttng-relayd always does.
#
# usage: bench/relayd.sh [TRACE_DIR]
#   default trace: the big UST trace of the shared bench folder
#   (../shared/bench/ust-libc-big.tar.xz, or $TRACETOP_SHARED/bench/...).
#   RELAY_BIN=path: run that tracetop binary as our relay (to compare
#   versions); the sender is always built from this tree.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
go build -o "$WORK/tracetop" ./cmd/tracetop

TRACE=${1:-}
if [ -z "$TRACE" ]; then
    SHARED=${TRACETOP_SHARED:-$ROOT/../shared}
    tar -C "$WORK" -xJf "$SHARED/bench/ust-libc-big.tar.xz"
    TRACE=$(dirname "$(find "$WORK" -name metadata -path '*64-bit*' | head -1)")
    TRACE=${TRACE%/ust/uid/0/64-bit}
fi
ROUNDS=${ROUNDS:-5}
TIMEFORMAT='%3U %3S' # bash's time: the sender's user and system CPU seconds

cpu_ns() { # nanoseconds on CPU of every thread of a process
    cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%d\n", s}'
}
now_ns() { date +%s%N; }

start() { # name port command...
    local name=$1 port=$2; shift 2
    mkdir -p "$WORK/out-$name"
    "$@" > "$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    eval "PID_${name//-/_}=$!"
    for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && return; sleep 0.05; done
    echo "$name does not listen on $port" >&2
    cat "$WORK/$name.log" >&2
    exit 1
}

round() { # name port pid round
    local name=$1 port=$2 pid=$3 r=$4 c0 c1 t0 t1 bytes scpu
    c0=$(cpu_ns "$pid")
    t0=$(now_ns)
    { time "$WORK/tracetop" send "$TRACE" "net://127.0.0.1:$port:$((port + 1))" --pace max --name "bench$r" --hostname bench > "$WORK/send.out"; } 2> "$WORK/send.cpu"
    t1=$(now_ns)
    c1=$(cpu_ns "$pid")
    bytes=$(sed -n 's/.*packets (\([0-9]*\) bytes).*/\1/p' "$WORK/send.out")
    scpu=$(awk '{print $1 + $2}' "$WORK/send.cpu")
    echo "$name $r $bytes $((t1 - t0)) $((c1 - c0)) $scpu" >> "$WORK/raw"
    rm -rf "${WORK:?}/out-$name"/*
    # Write back what a relay left in the page cache before the next round
    # (the disk would be busy with it during the other relay's round).
    sync
}

# median of the numbers on stdin
median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

start tracetop 25342 "${RELAY_BIN:-$WORK/tracetop}" relayd -o "$WORK/out-tracetop" -C tcp://127.0.0.1:25342 -D tcp://127.0.0.1:25343 -L tcp://127.0.0.1:25344
HOME=$WORK LTTNG_HOME=$WORK start lttng-relayd 26342 lttng-relayd -o "$WORK/out-lttng-relayd" -C tcp://127.0.0.1:26342 -D tcp://127.0.0.1:26343 -L tcp://127.0.0.1:26344
echo "trace: $TRACE ($(du -sb "$TRACE" | cut -f1) bytes), sent $ROUNDS times to each relay"
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then
        round tracetop 25342 "$PID_tracetop" "$r"
        round lttng-relayd 26342 "$PID_lttng_relayd" "$r"
    else
        round lttng-relayd 26342 "$PID_lttng_relayd" "$r"
        round tracetop 25342 "$PID_tracetop" "$r"
    fi
done

for name in tracetop lttng-relayd; do
    mbs=$(awk -v n="$name" '$1 == n {print $3 / 1e6 / ($4 / 1e9)}' "$WORK/raw" | median)
    cpugb=$(awk -v n="$name" '$1 == n {print ($5 / 1e9) / ($3 / 1e9)}' "$WORK/raw" | median)
    sgb=$(awk -v n="$name" '$1 == n {print $6 / ($3 / 1e9)}' "$WORK/raw" | median)
    rounds=$(awk -v n="$name" '$1 == n {printf "%s%.3f", sep, ($5 / 1e9) / ($3 / 1e9); sep = " "}' "$WORK/raw")
    printf "%-13s %8.1f MB/s   %6.3f relay CPU s/GB   (rounds: %s; sender %.2f CPU s/GB)\n" "$name" "$mbs" "$cpugb" "$rounds" "$sgb"
done
# Per round: throughput per relay CPU second, tracetop / lttng-relayd =
# lttng-relayd's CPU time / ours for the same bytes.
ratios=$(awk '{c[$1, $2] = $5} $1 == "tracetop" {rs[$2] = 1}
    END {for (r in rs) if (c["tracetop", r] > 0) print c["lttng-relayd", r] / c["tracetop", r]}' "$WORK/raw")
ratio=$(echo "$ratios" | median)
printf "throughput per relay CPU second, tracetop / lttng-relayd: %.2fx (median of %s rounds: %s)\n" \
    "$ratio" "$ROUNDS" "$(echo "$ratios" | sort -g | awk '{printf "%s%.2f", sep, $1; sep = " "}')"
awk -v r="$ratio" 'BEGIN {printf "goal >= 1.50x: %s\n", (r >= 1.5 ? "met" : "NOT met")}'

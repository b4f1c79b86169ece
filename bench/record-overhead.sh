#!/usr/bin/env bash
# Overhead of recording a syscall-heavy workload:
#   dd if=/dev/zero of=/dev/null bs=1 count=N   (400k syscalls for N=200000)
# untraced, under tracetop (every syscall + sched_switch, default channel),
# under plain tracefs with the same events (bench/tracefs-read: one reader
# per CPU dropping whole pages, the least a tracefs consumer can do), and
# under strace -f. The phases are interleaved over ROUNDS rounds and each
# figure is the median, so a burst of other work on the machine moves one
# sample, not a whole phase. Prints the times, slowdown ratios, lost events
# and the goal line: tracetop's overhead at most 1.5x plain tracefs's, with
# 0 lost events with default buffers.
# Needs root. Usage: bench/record-overhead.sh [COUNT [ROUNDS]]
set -euo pipefail
COUNT=${1:-200000}
ROUNDS=${2:-5}
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "record-overhead: needs root (tracefs, eBPF)" >&2; exit 2; }
BIN=${TRACETOP:-bin/tracetop}
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/tracetop
WORK=$(mktemp -d)
PLAIN=$WORK/tracefs-read
go build -o "$PLAIN" ./bench/tracefs-read
T=/sys/kernel/tracing
[ -e $T/events/header_page ] || mount -t tracefs nodev $T
S=bench-overhead-$$
cleanup() {
	"$BIN" destroy "$S" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

DD=(dd if=/dev/zero of=/dev/null bs=1 count="$COUNT" status=none)
elapsed() { # runs "$@", prints its wall time in ns
	local a b
	a=$(date +%s%N)
	"$@" >/dev/null
	b=$(date +%s%N)
	echo $((b - a))
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

base=() tt=() plain=() st=() tt_lost=0 plain_lost=0
for r in $(seq "$ROUNDS"); do
	base+=("$(elapsed "${DD[@]}")")

	"$BIN" create "$S" -o "$WORK/tt$r" >/dev/null
	"$BIN" enable-event -k -s "$S" --syscall -a >/dev/null
	"$BIN" enable-event -k -s "$S" sched_switch >/dev/null
	"$BIN" start "$S" >/dev/null
	tt+=("$(elapsed "${DD[@]}")")
	"$BIN" stop "$S" >/dev/null
	"$BIN" destroy "$S" >/dev/null
	n=$(babeltrace2 "$WORK/tt$r" 2>&1 >/dev/null | sed -n 's/.*discarded \([0-9]*\) events.*/\1/p' | awk '{s+=$1} END {print s+0}')
	tt_lost=$((tt_lost + n))
	rm -rf "$WORK/tt$r"

	read -r ns lost < <("$PLAIN" -- "${DD[@]}")
	plain+=("$ns")
	plain_lost=$((plain_lost + lost))

	if [ "$r" -le 2 ]; then # strace is 50-100x slower: two samples are enough
		st+=("$(elapsed strace -f -qq -o /dev/null "${DD[@]}")")
	fi
	echo "round $r: untraced ${base[-1]} tracetop ${tt[-1]} plain ${plain[-1]} ns" >&2
done

b=$(echo "${base[@]}" | median)
t=$(echo "${tt[@]}" | median)
p=$(echo "${plain[@]}" | median)
s=$(echo "${st[@]}" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ms() { awk -v a="$1" 'BEGIN { printf "%.1f ms", a / 1e6 }'; }
echo "workload: dd if=/dev/zero of=/dev/null bs=1 count=$COUNT (median of $ROUNDS interleaved rounds; strace ${#st[@]})"
printf '%-16s %12s %10s %12s\n' mode time slowdown lost-events
printf '%-16s %12s %10s %12s\n' untraced "$(ms "$b")" 1.00 -
printf '%-16s %12s %10s %12s\n' tracetop "$(ms "$t")" "$(ratio "$t" "$b")" "$tt_lost"
printf '%-16s %12s %10s %12s\n' plain-tracefs "$(ms "$p")" "$(ratio "$p" "$b")" "$plain_lost"
printf '%-16s %12s %10s %12s\n' strace-f "$(ms "$s")" "$(ratio "$s" "$b")" -
over=$(awk -v t="$t" -v p="$p" -v b="$b" 'BEGIN { if (p > b) printf "%.2f", (t - b) / (p - b); else print "n/a" }')
ok=no
awk -v o="$over" 'BEGIN { exit !(o != "n/a" && o <= 1.5) }' && [ "$tt_lost" = 0 ] && ok=yes
echo "tracetop overhead / plain tracefs overhead: $over (goal <= 1.50, 0 lost events: tracetop lost $tt_lost): goal met: $ok"

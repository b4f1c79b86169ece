#!/bin/sh
# Run every speed comparison with the real peers (bench/*.sh except this
# file); each prints its own ratio. `make bench` calls this.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
status=0
for b in "$here"/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	echo "== $(basename "$b")"
	sh "$b" || status=1
done
exit $status

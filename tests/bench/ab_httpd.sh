#!/bin/sh
# A/B of two httpd builds: server CPU time per request for `GET /hello`,
# the two binaries alternating (BASE, NEW, BASE, NEW ...) so that a noisy
# moment of a shared machine hits both alike.  The server is pinned to CPU
# 0 with one worker, wrk (one thread) to CPU 1; each run is SECS of warm-up
# then SECS measured, bounded by wrk's own duration.
#
#   BASE=/path/to/old/build/bin/httpd [NEW=build/bin/httpd] \
#   [CONNS="100 1000"] [MODES="hsha inline"] [ROUNDS=3] [SECS=5] sh tests/bench/ab_httpd.sh
#
# Prints one line per run: build-mode conns cpu_us_per_request.
set -u
: "${BASE:?BASE names the httpd binary to compare against}"
NEW=${NEW:-build/bin/httpd}
SECS=${SECS:-5}
TCK=$(getconf CLK_TCK)
for t in wrk taskset; do
    command -v $t >/dev/null 2>&1 || { echo "ab_httpd: $t not installed"; exit 0; }
done
tmp=$(mktemp -d)
spid=
cleanup() { [ -n "$spid" ] && kill -9 "$spid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
. "$(dirname "$0")/lib.sh"
start() { # BIN MODE
    start_ours "$tmp/err" taskset -c 0 "$1" --listen 127.0.0.1:0 --mode "$2" --threads 1 \
        --max-conns 20000 || exit 1
}
stop() { kill -TERM "$spid"; wait "$spid" 2>/dev/null; spid=; }
run() { # NAME CONNS
    taskset -c 1 wrk -t1 -c"$2" -d"${SECS}s" --timeout 5s "http://127.0.0.1:$port/hello" >/dev/null 2>&1
    t1=$(cpu_ticks "$spid")
    out=$(taskset -c 1 wrk -t1 -c"$2" -d"${SECS}s" --timeout 5s "http://127.0.0.1:$port/hello" 2>&1)
    t2=$(cpu_ticks "$spid")
    reqs=$(echo "$out" | awk '/requests in/ { print $1 }')
    echo "$1 $2 $(awk -v a="$t1" -v b="$t2" -v r="${reqs:-0}" -v k="$TCK" \
        'BEGIN { printf "%.2f", r ? (b - a) / k * 1e6 / r : 0 }')"
}
r=0
while [ $r -lt "${ROUNDS:-3}" ]; do
    for c in ${CONNS:-100 1000}; do
        for mode in ${MODES:-hsha inline}; do
            start "$BASE" "$mode"; run "base-$mode" "$c"; stop
            start "$NEW" "$mode"; run "new-$mode" "$c"; stop
        done
    done
    r=$((r + 1))
done

#!/bin/sh
# make bench (mcd part): memcaslap (libmemcached-tools) against mcd and
# against memcached -t 1, in one run: get/set 9:1 (memcaslap's default mix),
# 50 connections, 32-byte and 1 KiB values, BENCH_SECONDS (default 5) each.
# The server is pinned to CPU 0 and memcaslap (one thread) to CPU 1; every
# server is started on a free 127.0.0.1 port and killed by its PID.
# Reported per run: operations/s and the server's CPU time per operation
# (utime+stime from /proc/PID/stat), then the ratios mcd/memcached, for mcd
# in inline and in hsha mode (one worker).  Each is the best of BENCH_REPS
# (default 3) runs, interleaved so that a noisy moment of this shared
# machine hits every server alike.  PF_BUILD names the build folder;
# BENCH_SIZES the value sizes (default "32 1024").
set -u
B=${PF_BUILD:-build}
SECS=${BENCH_SECONDS:-5}
TCK=$(getconf CLK_TCK)
for t in memcached memcaslap taskset python3; do
    command -v $t >/dev/null 2>&1 || { echo "bench_mcd: $t not installed (apt-get install memcached libmemcached-tools); skipped"; exit 0; }
done
[ "$(nproc)" -ge 2 ] || { echo "bench_mcd: needs 2 CPUs; skipped"; exit 0; }
spid=
trap '[ -n "$spid" ] && kill -9 "$spid" 2>/dev/null' EXIT INT TERM

. "$(dirname "$0")/lib.sh"

# run NAME SIZE -> prints "ops cpu_us_per_op"
run() {
    port=$(free_port)
    case $1 in
    memcached) u=; [ "$(id -u)" = 0 ] && u="-u nobody"
               taskset -c 0 memcached -p "$port" -l 127.0.0.1 -U 0 -t 1 -m 256 $u & ;;
    *)         taskset -c 0 "$B/bin/mcd" --listen "127.0.0.1:$port" --mode "$1" --threads 1 \
                   -m 256 2>/dev/null & ;;
    esac
    spid=$!
    wait_port "$port" || exit 1
    t0=$(cpu_ticks "$spid")
    out=$(taskset -c 1 timeout $((SECS + 10)) memcaslap -s "127.0.0.1:$port" -T 1 -c 50 \
          -t "${SECS}s" -X "$2" 2>&1)
    t1=$(cpu_ticks "$spid")
    kill -9 "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; spid=
    ops=$(printf '%s\n' "$out" | awk '/^Run time:/ { for (i = 1; i <= NF; i++) if ($i == "Ops:") print $(i + 1) }' | tail -1)
    tps=$(printf '%s\n' "$out" | awk '/^Run time:/ { for (i = 1; i <= NF; i++) if ($i == "TPS:") print $(i + 1) }' | tail -1)
    [ -n "$ops" ] && [ "$ops" -gt 0 ] || { echo "bench_mcd: memcaslap gave no figure against $1" >&2; echo "0 0"; return; }
    echo "$tps $(awk -v a="$t0" -v b="$t1" -v o="$ops" -v t="$TCK" 'BEGIN { printf "%.2f", (b - a) / t * 1e6 / o }')"
}

# best NAME: the best of this size's runs of NAME (most ops/s, least CPU/op)
best() {
    awk -v n="$1" '$1 == n { if ($2 > o) o = $2; if (c == "" || $3 < c) c = $3 } END { print o + 0, c + 0 }' "$runs"
}

REPS=${BENCH_REPS:-3}
runs=$(mktemp)
trap '[ -n "$spid" ] && kill -9 "$spid" 2>/dev/null; rm -f "$runs"' EXIT INT TERM
echo "bench_mcd: memcaslap -T 1 -c 50 get/set 9:1, ${SECS}s per run, server on CPU 0, best of $REPS interleaved runs"
printf '%-6s %-8s %10s %10s   %s\n' size server ops/s cpu_us/op "ratio ops, cpu (mcd/memcached)"
for size in ${BENCH_SIZES:-32 1024}; do
    : > "$runs"
    r=0
    while [ $r -lt "$REPS" ]; do
        for name in memcached inline hsha; do
            echo "$name $(run "$name" "$size")" >> "$runs"
        done
        r=$((r + 1))
    done
    set -- $(best memcached); mt=$1; mc=$2
    printf '%-6s %-8s %10s %10s\n' "$size" memcached "$mt" "$mc"
    for mode in inline hsha; do
        set -- $(best "$mode")
        printf '%-6s %-8s %10s %10s   %s\n' "$size" "$mode" "$1" "$2" \
            "$(awk -v a="$1" -v b="$mt" -v c="$2" -v d="$mc" 'BEGIN { if (b > 0 && d > 0) printf "%.2fx, %.2fx", a / b, c / d }')"
    done
done

#!/bin/sh
# A/B of two httpd builds: server CPU time per request, the two binaries
# (and, with NGINX=1, nginx) alternating (BASE, NEW, nginx, BASE, NEW ...)
# so that a noisy moment of a shared machine hits all alike; the median of
# the rounds is printed at the end.  The server is pinned to CPU 0 with one
# worker, wrk (one thread) to CPU 1; each run is SECS of warm-up then SECS
# measured, bounded by wrk's own duration.  PATHS are /hello and files of a
# temporary root: /4k.bin, /1m.bin, /100m.bin (nginx: as in bench_httpd.sh).
#
#   BASE=/path/to/old/build/bin/httpd [NEW=build/bin/httpd] [NGINX=1] \
#   [CONNS="100 1000"] [MODES="hsha inline"] [PATHS=/hello] [ROUNDS=3] [SECS=5] \
#   sh tests/bench/ab_httpd.sh
#
# Prints one line per run: build-mode conns path cpu_us_per_request, then
# the medians.
set -u
: "${BASE:?BASE names the httpd binary to compare against}"
NEW=${NEW:-build/bin/httpd}
SECS=${SECS:-5}
TCK=$(getconf CLK_TCK)
for t in wrk taskset; do
    command -v $t >/dev/null 2>&1 || { echo "ab_httpd: $t not installed"; exit 0; }
done
[ "${NGINX:-0}" = 1 ] && ! command -v nginx >/dev/null 2>&1 && { echo "ab_httpd: nginx not installed"; exit 0; }
tmp=$(mktemp -d)
spid=
cleanup() { [ -n "$spid" ] && kill -9 "$spid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
. "$(dirname "$0")/lib.sh"
mkdir -p "$tmp/www"
chmod 755 "$tmp" "$tmp/www" # nginx's worker runs as nobody when started as root
for p in ${PATHS:-/hello}; do
    case $p in
    /4k.bin) n=4096 ;; /1m.bin) n=1048576 ;; /100m.bin) n=104857600 ;; *) continue ;;
    esac
    head -c $n /dev/zero | tr '\0' 'x' >"$tmp/www$p"
done
start() { # BIN MODE
    if [ "$1" = nginx ]; then
        port=$(free_port)
        nginx_hello_conf "$tmp/ng" "$port" "$tmp/www"
        taskset -c 0 nginx -p "$tmp/ng" -c "$tmp/ng/nginx.conf" 2>"$tmp/ng/err" &
        spid=$!
        wait_port "$port" || exit 1
        cpid=$(awk '{ print $1 }' "/proc/$spid/task/$spid/children")
        return
    fi
    start_ours "$tmp/err" taskset -c 0 "$1" --listen 127.0.0.1:0 --mode "$2" --threads 1 \
        --max-conns 20000 --root "$tmp/www" || exit 1
    cpid=$spid
}
stop() { kill -TERM "$spid"; wait "$spid" 2>/dev/null; spid=; }
run() { # NAME CONNS PATH
    taskset -c 1 wrk -t1 -c"$2" -d"${SECS}s" --timeout 10s "http://127.0.0.1:$port$3" >/dev/null 2>&1
    t1=$(cpu_ticks "$cpid")
    out=$(taskset -c 1 wrk -t1 -c"$2" -d"${SECS}s" --timeout 10s "http://127.0.0.1:$port$3" 2>&1)
    t2=$(cpu_ticks "$cpid")
    reqs=$(echo "$out" | awk '/requests in/ { print $1 }')
    echo "$1 $2 $3 $(awk -v a="$t1" -v b="$t2" -v r="${reqs:-0}" -v k="$TCK" \
        'BEGIN { printf "%.2f", r ? (b - a) / k * 1e6 / r : 0 }')" | tee -a "$tmp/rows"
}
r=0
while [ $r -lt "${ROUNDS:-3}" ]; do
    for p in ${PATHS:-/hello}; do
        for c in ${CONNS:-100 1000}; do
            if [ "${NGINX:-0}" = 1 ]; then start nginx; run nginx "$c" "$p"; stop; fi
            for mode in ${MODES:-hsha inline}; do
                start "$BASE" "$mode"; run "base-$mode" "$c" "$p"; stop
                start "$NEW" "$mode"; run "new-$mode" "$c" "$p"; stop
            done
        done
    done
    r=$((r + 1))
done
echo "medians over ${ROUNDS:-3} rounds (cpu_us/req; /nginx when it ran)"
sort -k1,1 -k3,3 -k2,2n "$tmp/rows" | awk '
    function flush() { if (!n) return; m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        med[key] = m; keys[++nk] = key; n = 0 }
    { k = $1 " " $2 " " $3; if (k != key) { flush(); key = k } 
      # insertion sort of this key'"'"'s values
      i = ++n; while (i > 1 && v[i - 1] > $4) { v[i] = v[i - 1]; i-- } v[i] = $4 }
    END { flush(); for (j = 1; j <= nk; j++) { split(keys[j], f, " "); ng = med["nginx " f[2] " " f[3]]
            printf "%-14s %5s %-10s %10.2f", f[1], f[2], f[3], med[keys[j]]
            if (ng) printf "   %.2fx", med[keys[j]] / ng
            printf "\n" } }'

#!/bin/sh
# make bench (httpd part): wrk against `httpd /hello` and against nginx
# returning the same 14-byte body, in one run.  The server is pinned to CPU
# 0 and wrk (one thread) to CPU 1; nginx runs one worker with the access log
# off and unlimited keep-alive requests (as httpd), from a generated config
# in a temporary folder, on a free port of 127.0.0.1, and is stopped by its
# PID.  Reported per run: requests/s, p99 latency, and the server's CPU time
# per request (utime+stime from /proc/PID/stat before and after the run),
# then the ratios httpd/nginx.  About 6 runs of BENCH_SECONDS (default 5).
# (Memory per idle connection: idle_memory.sh.)
# Arguments: none; PF_BUILD names the build folder.
set -u
B=${PF_BUILD:-build}
HTTPD=$B/bin/httpd
SECS=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNS:-"100 1000"}
TCK=$(getconf CLK_TCK)
for t in wrk nginx taskset; do
    command -v $t >/dev/null 2>&1 || { echo "bench_httpd: $t not installed (apt-get install wrk nginx util-linux); skipped"; exit 0; }
done
[ "$(nproc)" -ge 2 ] || { echo "bench_httpd: needs 2 CPUs; skipped"; exit 0; }
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
tmp=$(mktemp -d)
spid=
cleanup() { [ -n "$spid" ] && kill -9 "$spid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

. "$(dirname "$0")/lib.sh"

start_httpd() { # MODE
    start_ours "$tmp/err" taskset -c 0 "$HTTPD" --listen 127.0.0.1:0 --mode "$1" --threads 1 \
        --max-conns 20000 || exit 1
    cpid=$spid
}

start_nginx() {
    port=$(free_port)
    nginx_hello_conf "$tmp/ng" "$port"
    taskset -c 0 nginx -p "$tmp/ng" -c "$tmp/ng/nginx.conf" 2>"$tmp/ng/err" &
    spid=$!
    wait_port "$port" || exit 1
    cpid=$(cat "/proc/$spid/task/$spid/children" | awk '{ print $1 }') # the worker
}

stop() { kill -TERM "$spid"; wait "$spid" 2>/dev/null; spid=; }

# run NAME CONNS: one wrk run; prints a row and sets rps p99 cpu (µs/req).
run() {
    wrk_out=$(taskset -c 1 wrk -t1 -c"$2" -d"${SECS}s" --timeout 5s --latency "http://127.0.0.1:$port/hello" 2>&1)
    t1=$(cpu_ticks "$cpid")
    # second pass measured: the first one warmed the caches and the accept queue
    wrk_out=$(taskset -c 1 wrk -t1 -c"$2" -d"${SECS}s" --timeout 5s --latency "http://127.0.0.1:$port/hello" 2>&1)
    t2=$(cpu_ticks "$cpid")
    rps=$(echo "$wrk_out" | awk '/^Requests\/sec/ { print $2 }')
    reqs=$(echo "$wrk_out" | awk '/requests in/ { print $1 }')
    p99=$(echo "$wrk_out" | awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
        if (u == "us") v = v / 1000; else if (u == "s") v = v * 1000; print v }')
    errs=$(echo "$wrk_out" | awk '/Socket errors|Non-2xx/ { print "yes" }' | head -1)
    cpu=$(awk -v a="$t1" -v b="$t2" -v r="$reqs" -v k="$TCK" 'BEGIN { printf "%.2f", (b - a) / k * 1e6 / (r ? r : 1) }')
    printf '%-14s %6s %12s %10s %12s %s\n' "$1" "$2" "$rps" "$p99" "$cpu" "${errs:+(errors)}"
}

echo "GET /hello, wrk -t1 --latency, server on CPU 0, wrk on CPU 1, ${SECS}s measured after ${SECS}s warm-up"
printf '%-14s %6s %12s %10s %12s\n' server conns req/s p99_ms cpu_us/req
for c in $CONNS; do
    start_nginx; run nginx "$c"; eval "ng_rps_$c=$rps ng_p99_$c=$p99 ng_cpu_$c=$cpu"; stop
    for mode in inline hsha; do
        start_httpd $mode; run "httpd-$mode" "$c"
        eval "pf_rps_${mode}_$c=$rps pf_p99_${mode}_$c=$p99 pf_cpu_${mode}_$c=$cpu"; stop
    done
done
echo
echo "ratios httpd/nginx (req/s: higher is better; p99 and cpu/req: lower is better)"
for c in $CONNS; do
    for mode in inline hsha; do
        eval "a=\$pf_rps_${mode}_$c b=\$ng_rps_$c p=\$pf_p99_${mode}_$c q=\$ng_p99_$c x=\$pf_cpu_${mode}_$c y=\$ng_cpu_$c"
        awk -v m="$mode" -v c="$c" -v a="$a" -v b="$b" -v p="$p" -v q="$q" -v x="$x" -v y="$y" 'BEGIN {
            printf "%-7s %5s conns: req/s %.2fx   p99 %.2fx   cpu/req %.2fx\n", m, c,
                a / (b ? b : 1), p / (q ? q : 1), x / (y ? y : 1) }'
    done
done


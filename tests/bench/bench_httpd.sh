#!/bin/sh
# make bench (httpd part): wrk against httpd and against nginx in one run,
# for GET /hello (the same 14-byte body) and for static files of 4 KiB,
# 1 MiB and 100 MiB (page-cached, in a temporary root both serve).  The
# server is pinned to CPU 0 and wrk (one thread) to CPU 1; nginx runs one
# worker with the access log off, unlimited keep-alive requests and, for
# files, its usual static setup (sendfile on, tcp_nopush on; no
# open_file_cache unless BENCH_NGINX_OFC=1), from a generated config in a
# temporary folder; every server listens on a free port of 127.0.0.1 and is
# stopped by its PID.  Every load run is bounded by wrk's -d.
#
# Reported per run, after a warm-up run:
#   req/s, p99 latency;
#   cpu_us/req   the server's utime+stime (/proc/PID/stat, all threads;
#                nginx: its worker) over the run, per request;
#   csw/req      voluntary + nonvoluntary context switches summed over
#                /proc/PID/task/*/status, before and after the run;
#   sys/req      system calls per request, from a separate short run
#                counted by perf (raw_syscalls:sys_enter) or, without it,
#                under `strace -c -f` (slower, so event loops batch less
#                than unobserved: compare the servers with each other);
#                "-" with neither;
# then the ratios httpd/nginx.
#
# Knobs: PF_BUILD (build folder), HTTPD (binary; default $PF_BUILD/bin/httpd),
# BENCH_BASE (another httpd binary, e.g. main's, run beside it as "base-"),
# BENCH_SECONDS (measured run, default 5), BENCH_CONNS (/hello, default
# "100 1000"), BENCH_MODES (default "inline hsha"), BENCH_FILES (default
# "4k 1m 100m"), BENCH_STRACE_SECONDS (default 3; 0: no counted run),
# BENCH_STRACE_OUT (a folder: an extra strace -c run per row, its table
# kept there).
# (Memory per idle connection: idle_memory.sh.)
set -u
B=${PF_BUILD:-build}
HTTPD=${HTTPD:-$B/bin/httpd}
BASE=${BENCH_BASE:-}
SECS=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNS:-"100 1000"}
MODES=${BENCH_MODES:-"inline hsha"}
FILES=${BENCH_FILES:-"4k 1m 100m"}
SSECS=${BENCH_STRACE_SECONDS:-3}
SOUT=${BENCH_STRACE_OUT:-}
TCK=$(getconf CLK_TCK)
for t in wrk nginx taskset; do
    command -v $t >/dev/null 2>&1 || { echo "bench_httpd: $t not installed (apt-get install wrk nginx util-linux); skipped"; exit 0; }
done
[ "$(nproc)" -ge 2 ] || { echo "bench_httpd: needs 2 CPUs; skipped"; exit 0; }
command -v strace >/dev/null 2>&1 || command -v perf >/dev/null 2>&1 || SSECS=0
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
tmp=$(mktemp -d)
spid= stpid=
cleanup() {
    [ -n "$stpid" ] && kill -9 "$stpid" 2>/dev/null
    [ -n "$spid" ] && kill -9 "$spid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

. "$(dirname "$0")/lib.sh"

# The files: NAME -> bytes, and the wrk connections for it (fewer for big
# files, so the transfers cut off when wrk stops weigh little).
fsize() { case $1 in 4k) echo 4096;; 1m) echo 1048576;; 100m) echo 104857600;; esac; }
fconns() { case $1 in 4k) echo 100;; 1m) echo 32;; 100m) echo 4;; esac; }
mkdir -p "$tmp/www"
chmod 755 "$tmp" "$tmp/www" # nginx's worker runs as nobody when started as root
for f in $FILES; do
    head -c "$(fsize "$f")" /dev/zero | tr '\0' 'x' >"$tmp/www/$f.bin"
    cat "$tmp/www/$f.bin" >/dev/null
done

start_httpd() { # BINARY MODE
    start_ours "$tmp/err" taskset -c 0 "$1" --listen 127.0.0.1:0 --mode "$2" --threads 1 \
        --max-conns 20000 --root "$tmp/www" || exit 1
    cpid=$spid
}

start_nginx() {
    port=$(free_port)
    nginx_hello_conf "$tmp/ng" "$port" "$tmp/www" ${BENCH_NGINX_OFC:+ofc}
    taskset -c 0 nginx -p "$tmp/ng" -c "$tmp/ng/nginx.conf" 2>"$tmp/ng/err" &
    spid=$!
    wait_port "$port" || exit 1
    cpid=$(cat "/proc/$spid/task/$spid/children" | awk '{ print $1 }') # the worker
}

stop() { kill -TERM "$spid"; wait "$spid" 2>/dev/null; spid=; }

# Context switches of every thread of PID.

wrk_run() { # CONNS SECONDS PATH
    taskset -c 1 wrk -t1 -c"$1" -d"${2}s" --timeout 10s --latency "http://127.0.0.1:$port$3" 2>&1
}

# System calls per request: a separate run of SSECS counted by perf (the
# raw_syscalls:sys_enter tracepoint, every thread of the server), or, where
# perf cannot, under strace -c -f (which leaves out calls it has no name
# for, such as cachestat on strace 6.1); stopped by its PID.
syscalls() { # NAME CONNS PATH
    [ "$SSECS" -gt 0 ] || { echo -; return; }
    if [ -n "$SOUT" ] && [ "$HOW" = perf ]; then # the table by call, asked for
        mkdir -p "$SOUT"
        strace -c -f -p "$cpid" -o "$SOUT/$1$(echo "$3" | tr / _).txt" 2>/dev/null &
        stpid=$!
        sleep 0.5
        wrk_run "$2" "$SSECS" "$3" >/dev/null
        kill -INT "$stpid"; wait "$stpid" 2>/dev/null; stpid=
    fi
    if [ "$HOW" = perf ]; then
        perf stat -e raw_syscalls:sys_enter -x, -o "$tmp/count" -p "$cpid" 2>/dev/null &
    else
        strace -c -f -p "$cpid" -o "$tmp/count" 2>/dev/null &
    fi
    stpid=$!
    sleep 0.5 # attached
    out=$(wrk_run "$2" "$SSECS" "$3")
    kill -INT "$stpid"; wait "$stpid" 2>/dev/null; stpid=
    reqs=$(echo "$out" | awk '/requests in/ { print $1 }')
    [ -n "$SOUT" ] && [ "$HOW" = strace ] && { mkdir -p "$SOUT"; cp "$tmp/count" "$SOUT/$1$(echo "$3" | tr / _).txt"; }
    # perf -x,: count,,event,...; strace: % time, seconds, usecs/call, calls, [errors,] total
    awk -v r="${reqs:-0}" -F'[, ]+' '/raw_syscalls:sys_enter/ { t = $1 } { if ($NF == "total") t = $4 }
        END { print (r && t) ? sprintf("%.1f", t / r) : "-" }' "$tmp/count"
}
HOW=strace
perf stat -e raw_syscalls:sys_enter -x, -o /dev/null true 2>/dev/null && HOW=perf

# run NAME CONNS PATH: a warm-up run, a measured run, a counted run; prints a
# row and sets rps p99 cpu sw sc.
run() {
    wrk_run "$2" 2 "$3" >/dev/null
    t1=$(cpu_ticks "$cpid"); s1=$(ctx_switches "$cpid")
    out=$(wrk_run "$2" "$SECS" "$3")
    t2=$(cpu_ticks "$cpid"); s2=$(ctx_switches "$cpid")
    rps=$(echo "$out" | awk '/^Requests\/sec/ { print $2 }')
    reqs=$(echo "$out" | awk '/requests in/ { print $1 }')
    p99=$(echo "$out" | awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
        if (u == "us") v = v / 1000; else if (u == "s") v = v * 1000; print v }')
    errs=$(echo "$out" | awk '/Socket errors|Non-2xx/ { print "yes" }' | head -1)
    cpu=$(awk -v a="$t1" -v b="$t2" -v r="$reqs" -v k="$TCK" 'BEGIN { printf "%.2f", (b - a) / k * 1e6 / (r ? r : 1) }')
    sw=$(awk -v a="$s1" -v b="$s2" -v r="$reqs" 'BEGIN { printf "%.2f", (b - a) / (r ? r : 1) }')
    sc=$(syscalls "$1" "$2" "$3")
    printf '%-14s %6s %11s %9s %11s %8s %8s %s\n' "$1" "$2" "$rps" "$p99" "$cpu" "$sw" "$sc" "${errs:+(errors)}"
}

header() { printf '%-14s %6s %11s %9s %11s %8s %8s\n' server conns req/s p99_ms cpu_us/req csw/req sys/req; }

# One row per server for PATH at CONNS; results in ng_*_KEY and pf_*_{mode}_KEY.
servers() { # KEY CONNS PATH
    start_nginx; run nginx "$2" "$3"
    eval "ng_rps_$1=$rps ng_p99_$1=$p99 ng_cpu_$1=$cpu ng_sw_$1=$sw ng_sc_$1=$sc"; stop
    for mode in $MODES; do
        if [ -n "$BASE" ]; then
            start_httpd "$BASE" $mode; run "base-$mode" "$2" "$3"
            eval "bs_rps_${mode}_$1=$rps bs_cpu_${mode}_$1=$cpu"; stop
        fi
        start_httpd "$HTTPD" $mode; run "httpd-$mode" "$2" "$3"
        eval "pf_rps_${mode}_$1=$rps pf_p99_${mode}_$1=$p99 pf_cpu_${mode}_$1=$cpu"; stop
    done
}

ratios() { # KEY LABEL
    for mode in $MODES; do
        eval "a=\$pf_rps_${mode}_$1 b=\$ng_rps_$1 p=\$pf_p99_${mode}_$1 q=\$ng_p99_$1 x=\$pf_cpu_${mode}_$1 y=\$ng_cpu_$1"
        z=; [ -n "$BASE" ] && eval "z=\$bs_cpu_${mode}_$1"
        awk -v m="$mode" -v l="$2" -v a="$a" -v b="$b" -v p="$p" -v q="$q" -v x="$x" -v y="$y" -v z="$z" 'BEGIN {
            printf "%-7s %-11s req/s %.2fx   p99 %.2fx   cpu/req %.2fx", m, l,
                a / (b ? b : 1), p / (q ? q : 1), x / (y ? y : 1)
            if (z != "") printf "   (base %.2fx)", z / (y ? y : 1)
            printf "\n" }'
    done
}

echo "httpd vs nginx, wrk -t1 --latency, server on CPU 0, wrk on CPU 1, ${SECS}s measured after a 2s warm-up"
echo "GET /hello"
header
for c in $CONNS; do servers "h$c" "$c" /hello; done
echo
echo "GET of a page-cached file (sys/req: a separate ${SSECS}s run counted by $HOW)"
header
for f in $FILES; do servers "f$f" "$(fconns "$f")" "/$f.bin"; done
echo
echo "ratios httpd/nginx (req/s: higher is better; p99 and cpu/req: lower is better)"
for c in $CONNS; do ratios "h$c" "hello/$c"; done
for f in $FILES; do ratios "f$f" "$f/$(fconns "$f")"; done

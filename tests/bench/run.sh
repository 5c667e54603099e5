#!/bin/sh
# make bench: echod throughput and p99 in every mode at 1, 100 and 1000
# connections, with cheap handlers (ECHO) and blocking ones (SLEEP 1);
# echod and httpd on each loop backend (bench_backends.sh);
# memory per idle connection at 10,000 connections, every service beside
# its peer (idle_memory.sh); queue hand-off cost;
# then every other bench program given (protocol parsers, mqttd against
# mosquitto), httpd against nginx, kvd against redis-server and mcd
# against memcached (each script says which modes).
# Loopback only; about 27 minutes on 2 CPUs (kvd's part is a third of
# it: BENCH_KVD_N and BENCH_KVD_REPS shorten it).  Arguments: the bench
# programs ($(BENCHES)); PF_BUILD names the build folder.
# BENCH_SECONDS (default 2) sets each load run's length.
set -u
B=${PF_BUILD:-build}
ECHOD=$B/bin/echod
SECS=${BENCH_SECONDS:-2}
THREADS_SLEEP=${BENCH_THREADS_SLEEP:-8}
bench() { for b in "$@"; do case $b in */$1) echo "$b"; return;; esac; done; echo "$B/bench/$1"; }
ALL="$*" # kept: "set --" below reuses the positional parameters
LOAD=$(bench bench_load "$@"); QUEUE=$(bench bench_queue "$@")
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"; [ -n "${pid:-}" ] && kill -9 $pid 2>/dev/null' EXIT

# start MODE THREADS: echod on a free port; sets pid and port.
start() {
    "$ECHOD" --listen 127.0.0.1:0 --mode "$1" --threads "$2" --max-conns 20000 2>"$tmp/err" &
    pid=$!
    i=0
    while ! grep -q 'listening on' "$tmp/err" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 500 ] && { echo "echod did not start" >&2; exit 1; }
        sleep 0.01
    done
    port=$(sed -n 's/^listening on .*://p' "$tmp/err" | head -1)
}
stop() { kill -TERM $pid; wait $pid 2>/dev/null; pid=; }

cpus=$(nproc)
echo "echod, loopback, $cpus CPUs, ${SECS}s per run, one request outstanding per connection"
echo "cheap = ECHO (workers: $cpus), blocking = SLEEP 1 (workers/lf threads: $THREADS_SLEEP; inline: 1 thread)"
printf '%-8s %-9s %6s %10s %9s %9s %6s\n' mode load conns req/s p50_us p99_us errors
for mode in hsha reactor lf inline; do
    for load in cheap blocking; do
        if [ $load = cheap ]; then req="ECHO hello"; th=$cpus; else req="SLEEP 1"; th=$THREADS_SLEEP; fi
        start $mode $th
        for conns in 1 100 1000; do
            out=$("$LOAD" "$port" $conns "$SECS" "$req")
            set -- $(echo "$out" | sed 's/[a-z0-9_]*=//g')
            printf '%-8s %-9s %6s %10s %9s %9s %6s\n' $mode $load "$1" "$3" "$4" "$5" "$6"
        done
        stop
    done
done

echo
# memory per idle connection, every service beside its peer
PF_BUILD=$B sh "$(dirname "$0")/idle_memory.sh"

echo
"$QUEUE"

# Every other bench program handed to us (protocol parsers ...) runs as is.
for b in $ALL; do
    case ${b##*/} in
    bench_load | bench_idle | bench_queue) ;;
    *) echo; echo "== ${b##*/}"; "$b" || echo "(${b##*/} failed: status $?)" ;;
    esac
done

echo
# the loop's backends (epoll, poll, sigio) at 100, 1,000 and 10,000
# connections, echod and httpd
PF_BUILD=$B sh "$(dirname "$0")/bench_backends.sh" "$LOAD"

echo
# httpd /hello and 4 KiB, 1 MiB, 100 MiB files against nginx with wrk (skips
# itself when wrk or nginx is missing)
PF_BUILD=$B sh "$(dirname "$0")/bench_httpd.sh"

echo
# kvd against redis-server with redis-benchmark (skips itself without them)
PF_BUILD=$B sh "$(dirname "$0")/bench_kvd.sh"

echo
# mcd against memcached with memcaslap (skips itself without them)
PF_BUILD=$B sh "$(dirname "$0")/bench_mcd.sh"

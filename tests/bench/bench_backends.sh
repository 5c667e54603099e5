#!/bin/sh
# make bench (the loop's backends): echod and httpd on epoll, poll and
# sigio, hsha mode, at 100 and 1,000 busy connections and at 10,000 of
# which 9,900 are idle (connected, one request made, then silent), so that
# what poll pays per wait for every registered descriptor, and sigio per
# readiness change, is measured, not told.  Load: bench_load (echod, one
# request outstanding per connection) and wrk -t1 --latency (httpd /hello).
# Prints req/s, p99 and server CPU microseconds per request (utime +
# stime from /proc/PID/stat).  io_uring is issue 15's proactor mode: not
# in the runtime yet, so no row.  Loopback only, every run bounded.
#   BENCH_SECONDS (default 3) each measured run; PF_BUILD the build folder.
set -u
B=${PF_BUILD:-build}
SECS=${BENCH_SECONDS:-3}
. "$(dirname "$0")/lib.sh"
bench() { for b in "$@"; do case $b in */$1) echo "$b"; return;; esac; done; echo "$B/bench/$1"; }
LOAD=$(bench bench_load "$@")
TCK=$(getconf CLK_TCK)
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 19000 ] || { echo "bench_backends: needs 19000 descriptors (ulimit -n); skipped"; exit 0; }
have_wrk=1; command -v wrk >/dev/null 2>&1 || have_wrk=0
tmp=$(mktemp -d)
spid=; hpid=
trap 'kill -9 $spid $hpid 2>/dev/null; rm -rf "$tmp"' EXIT

# hold N REQUEST: N connections that each send REQUEST once, read the first
# reply bytes, and then sit idle until killed; sets hpid once all are up.
hold() {
    python3 - "$port" "$1" "$2" > "$tmp/hold" 2>&1 <<'PY' &
import socket, sys, time, signal
port, n, req = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode().decode('unicode_escape').encode()
socks = []
for i in range(n):
    s = socket.create_connection(('127.0.0.1', port))
    if req:
        s.sendall(req)
    socks.append(s)
for s in socks:
    if req:
        s.settimeout(10)
        s.recv(64)
print('ready', flush=True)
signal.pause()
PY
    hpid=$!
    i=0
    until grep -q ready "$tmp/hold" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 3000 ] && { echo "idle clients did not connect" >&2; cat "$tmp/hold" >&2; return 1; }
        sleep 0.02
    done
}
unhold() { if [ -n "$hpid" ]; then kill $hpid 2>/dev/null; wait $hpid 2>/dev/null; fi; hpid=; }

# measure SERVICE BUSY: one run of load over BUSY connections; prints
# "rps p99_ms reqs cpu_us_per_req".
measure() {
    t1=$(cpu_ticks "$spid")
    if [ "$1" = echod ]; then
        out=$("$LOAD" "$port" "$2" "$SECS" "ECHO hello")
        set -- $(echo "$out" | sed 's/[a-z0-9_]*=//g')
        rps=$3; p99=$(awk -v u="$5" 'BEGIN { printf "%.2f", u / 1000 }'); reqs=$2
    else
        out=$(wrk -t1 -c"$2" -d"${SECS}s" --timeout 10s --latency "http://127.0.0.1:$port/hello" 2>&1)
        rps=$(echo "$out" | awk '/^Requests\/sec/ { printf "%.0f", $2 }')
        reqs=$(echo "$out" | awk '/requests in/ { print $1 }')
        p99=$(echo "$out" | awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
            if (u == "us") v = v / 1000; else if (u == "s") v = v * 1000; printf "%.2f", v }')
    fi
    t2=$(cpu_ticks "$spid")
    cpu=$(awk -v a="$t1" -v b="$t2" -v r="${reqs:-0}" -v k="$TCK" 'BEGIN { printf "%.2f", r ? (b - a) / k * 1e6 / r : 0 }')
    echo "${rps:--} ${p99:--} ${reqs:-0} $cpu"
}

echo "loop backends, hsha, ${SECS}s per run; 10000 = 100 busy + 9,900 idle connections"
printf '%-6s %-6s %6s %10s %9s %12s %10s\n' service backend conns req/s p99_ms cpu_us/req "vs epoll"
for svc in echod httpd; do
    if [ $svc = httpd ] && [ $have_wrk = 0 ]; then
        echo "httpd: wrk not installed (apt-get install wrk); skipped"
        continue
    fi
    for conns in 100 1000 10000; do
        base=
        for backend in epoll poll sigio; do
            if [ $svc = echod ]; then
                start_ours "$tmp/err" "$B/bin/echod" --listen 127.0.0.1:0 --mode hsha --threads 2 \
                    --max-conns 20000 --backend $backend || exit 1
                idle_req='HELLO idle\r\n'
            else
                start_ours "$tmp/err" "$B/bin/httpd" --listen 127.0.0.1:0 --mode hsha --threads 2 \
                    --max-conns 20000 --backend $backend || exit 1
                idle_req='GET /hello HTTP/1.1\r\nHost: x\r\n\r\n'
            fi
            busy=$conns
            if [ "$conns" -gt 1000 ]; then
                busy=100
                hold $((conns - busy)) "$idle_req" || exit 1
            fi
            measure $svc "$busy" >/dev/null # warm-up
            set -- $(measure $svc "$busy")
            unhold
            kill -TERM $spid; wait $spid 2>/dev/null; spid=
            [ -z "$base" ] && base=$4
            ratio=$(awk -v a="$4" -v b="$base" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')
            printf '%-6s %-6s %6s %10s %9s %12s %10s\n' $svc $backend $conns "$1" "$2" "$4" "$ratio"
        done
    done
done

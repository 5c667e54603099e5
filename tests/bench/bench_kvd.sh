#!/bin/sh
# kvd against redis-server with redis-benchmark, same machine, same run:
#   redis-benchmark -t T -c 50 -n N -P P   for T in ping_inline ping_mbulk set get incr mset,
#   P in 1 and 16, persistence off (both) and appendfsync everysec (both),
#   kvd in hsha (workers = CPUs) and inline (one thread, like redis).
# Prints req/s and server CPU time per request (utime+stime of the server
# process, every thread, from /proc, in microseconds) and the ratios
# kvd/redis.
# The three servers run side by side (an idle one costs nothing) and each
# test runs on redis, kvd hsha and kvd inline back to back, REPS times over:
# on a shared host the load changes from second to second, so only figures
# taken moments apart compare.  Each figure is the best of the REPS (the
# highest req/s, the lowest CPU per request), the same for every server.
# Servers are started here on free ports (redis-server with --save '' and
# its own --dir) and killed by PID.  BENCH_KVD_N (default 200000) sets -n,
# BENCH_KVD_REPS (default 3) the repetitions.
# Usage: sh tests/bench/bench_kvd.sh  (PF_BUILD names the build folder)
set -u
B=${PF_BUILD:-build}
KVD=$B/bin/kvd
N=${BENCH_KVD_N:-200000}
REPS=${BENCH_KVD_REPS:-3}
TESTS="ping_inline ping_mbulk set get incr mset"
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
    { echo "bench_kvd: redis-server and redis-benchmark are needed (apt-get install redis-server redis-tools)"; exit 0; }
tmp=$(mktemp -d)
pids=""
nstart=0
trap 'for p in $pids; do kill -9 $p 2>/dev/null; done; rm -rf "$tmp"' EXIT
hz=$(getconf CLK_TCK)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
wait_port() { i=0; until [ "$(redis-cli -p $1 PING 2>/dev/null)" = PONG ]; do i=$((i+1)); [ $i -gt 300 ] && return 1; sleep 0.02; done; }

# start NAME PERSIST(off|everysec) [MODE]: sets spid, sport
start() {
    sport=$(free_port)
    nstart=$((nstart + 1)); d=$tmp/$1-$nstart; mkdir -p $d
    if [ $2 = off ]; then ao=no; else ao=yes; fi
    if [ $1 = redis ]; then
        redis-server --port $sport --bind 127.0.0.1 --save '' --appendonly $ao --appendfsync everysec \
            --dir $d >/dev/null 2>&1 &
    else
        "$KVD" --listen 127.0.0.1:$sport --mode $3 --appendonly $ao --appendfsync everysec --dir $d 2>/dev/null &
    fi
    spid=$!
    pids="$pids $spid"
    wait_port $sport || { echo "bench_kvd: $1 did not start"; exit 1; }
}
stop() { kill -TERM $1; wait $1 2>/dev/null; }

# run PID PORT T P: prints "reqs cpu_us_per_req"
run() {
    c0=$(cpu_ticks $1)
    r=$(redis-benchmark -p $2 -t $3 -c 50 -n $N -P $4 --csv 2>/dev/null | tail -1 | cut -d, -f2 | tr -d '"')
    c1=$(cpu_ticks $1)
    echo "${r:-0} $(echo "$c0 $c1 $hz $N" | awk '{printf "%.2f", ($2-$1)/$3*1e6/$4}')"
}

# best OLD NEW: "rps us" with the higher req/s and the lower CPU per request
best() { echo "$1 $2" | awk '{printf "%s %s", ($3>$1?$3:$1), ($4<$2?$4:$2)}'; }

echo "kvd vs redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), redis-benchmark -c 50 -n $N, $(nproc) CPUs (the client shares them), best of $REPS interleaved runs"
printf '%-8s %-3s %-11s %-11s %10s %10s %6s %8s %8s %6s\n' persist P test kvd-mode kvd_rps redis_rps ratio kvd_us redis_us cpu_x
for persist in off everysec; do
    start redis $persist; rpid=$spid; rport=$sport
    start kvd $persist hsha; hpid=$spid; hport=$sport
    start kvd $persist inline; ipid=$spid; iport=$sport
    for P in 1 16; do
        for t in $TESTS; do
            rr="0 1e9"; hr="0 1e9"; ir="0 1e9"
            rep=0
            while [ $rep -lt $REPS ]; do
                rr=$(best "$rr" "$(run $rpid $rport $t $P)")
                hr=$(best "$hr" "$(run $hpid $hport $t $P)")
                ir=$(best "$ir" "$(run $ipid $iport $t $P)")
                rep=$((rep + 1))
            done
            for mode in hsha inline; do
                if [ $mode = hsha ]; then k=$hr; else k=$ir; fi
                set -- $k $rr
                printf '%-8s %-3s %-11s %-11s %10s %10s %6s %8s %8s %6s\n' $persist $P $t $mode $1 $3 \
                    $(echo "$1 $3 $2 $4" | awk '{printf "%.2f %s %s %.2f", ($2>0?$1/$2:0), $3, $4, ($4>0?$3/$4:0)}')
            done
        done
    done
    stop $rpid; stop $hpid; stop $ipid
done
echo "ratio = kvd/redis req/s (goal: >= 1 in the best mode, >= 0.8 in hsha); cpu_x = kvd/redis CPU per request (goal: <= 1)"

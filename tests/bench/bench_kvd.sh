#!/bin/sh
# kvd against redis-server with redis-benchmark, same machine, same run:
#   redis-benchmark -t T -c 50 -n N -P P   for T in ping_inline ping_mbulk set get incr mset,
#   P in 1 and 16, persistence off (both) and appendfsync everysec (both),
#   kvd in every mode (hsha reactor lf inline; BENCH_KVD_MODES to choose).
# Prints req/s, server CPU time per request (utime+stime of the server
# process, every thread, from /proc, in microseconds), context switches
# per request (voluntary and involuntary, every thread) and the ratios
# kvd/redis.
# The servers run side by side (an idle one costs nothing) and each test
# runs on redis and each kvd back to back, REPS times over: on a shared
# host the load changes from second to second, so only figures taken
# moments apart compare.  Each figure is the best of the REPS (the highest
# req/s, the lowest CPU and switches per request), the same for every
# server.  Servers are started here on free ports (redis-server with
# --save '' and its own --dir) and killed by PID.  BENCH_KVD_N (default
# 100000) sets -n, BENCH_KVD_REPS (default 2) the repetitions.
# Usage: sh tests/bench/bench_kvd.sh  (PF_BUILD names the build folder)
set -u
B=${PF_BUILD:-build}
KVD=$B/bin/kvd
N=${BENCH_KVD_N:-100000}
REPS=${BENCH_KVD_REPS:-2}
MODES=${BENCH_KVD_MODES:-hsha reactor lf inline}
TESTS="ping_inline ping_mbulk set get incr mset"
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
    { echo "bench_kvd: redis-server and redis-benchmark are needed (apt-get install redis-server redis-tools)"; exit 0; }
tmp=$(mktemp -d)
pids=""
nstart=0
trap 'for p in $pids; do kill -9 $p 2>/dev/null; done; rm -rf "$tmp"' EXIT
hz=$(getconf CLK_TCK)
. "$(dirname "$0")/lib.sh"

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

# run PID PORT T P: prints "reqs cpu_us_per_req switches_per_req"
run() {
    c0=$(cpu_ticks $1); s0=$(ctx_switches $1)
    r=$(redis-benchmark -p $2 -t $3 -c 50 -n $N -P $4 --csv 2>/dev/null | tail -1 | cut -d, -f2 | tr -d '"')
    c1=$(cpu_ticks $1); s1=$(ctx_switches $1)
    echo "${r:-0} $(echo "$c0 $c1 $hz $N $s0 $s1" | awk '{printf "%.2f %.3f", ($2-$1)/$3*1e6/$4, ($6-$5)/$4}')"
}

# best OLD NEW: "rps us cs" with the higher req/s and the lower CPU and
# switches per request
best() { echo "$1 $2" | awk '{printf "%s %s %s", ($4>$1?$4:$1), ($5<$2?$5:$2), ($6<$3?$6:$3)}'; }

echo "kvd vs redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), redis-benchmark -c 50 -n $N, $(nproc) CPUs (the client shares them), best of $REPS interleaved runs"
printf '%-8s %-3s %-11s %-8s %10s %10s %6s %7s %7s %6s %6s %6s\n' persist P test kvd-mode kvd_rps redis_rps ratio kvd_us red_us cpu_x kvd_cs red_cs
for persist in off everysec; do
    start redis $persist; rpid=$spid; rport=$sport
    for m in $MODES; do
        start kvd $persist $m; eval "pid_$m=$spid port_$m=$sport"
    done
    for P in 1 16; do
        for t in $TESTS; do
            rr="0 1e9 1e9"
            for m in $MODES; do eval "res_$m='0 1e9 1e9'"; done
            rep=0
            while [ $rep -lt $REPS ]; do
                rr=$(best "$rr" "$(run $rpid $rport $t $P)")
                for m in $MODES; do
                    eval "res_$m=\$(best \"\$res_$m\" \"\$(run \$pid_$m \$port_$m $t $P)\")"
                done
                rep=$((rep + 1))
            done
            for m in $MODES; do
                eval "k=\$res_$m"
                set -- $k $rr
                printf '%-8s %-3s %-11s %-8s %10s %10s %6s %7s %7s %6s %6s %6s\n' $persist $P $t $m $1 $4 \
                    $(echo "$1 $4 $2 $5 $3 $6" | awk '{printf "%.2f %s %s %.2f %s %s", ($2>0?$1/$2:0), $3, $4, ($4>0?$3/$4:0), $5, $6}')
            done
        done
    done
    stop $rpid
    for m in $MODES; do eval "stop \$pid_$m"; done
done
echo "ratio = kvd/redis req/s; cpu_x = kvd/redis CPU per request (goal: <= 0.8 in every mode, issue 16); kvd_cs, red_cs = context switches per request"

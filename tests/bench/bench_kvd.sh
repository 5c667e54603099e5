#!/bin/sh
# kvd against redis-server with redis-benchmark, same machine, same run:
#   redis-benchmark -t T -c 50 -n N -P P   for T in ping_inline ping_mbulk set get incr mset,
#   P in 1 and 16, persistence off (both) and appendfsync everysec (both),
#   kvd in hsha (workers = CPUs) and inline (one thread, like redis).
# Prints req/s and server CPU time per request (utime+stime of the server
# process from /proc, in microseconds) and the ratios kvd/redis.
# Servers are started here on free ports (redis-server with --save '' and
# its own --dir) and killed by PID.  BENCH_KVD_N (default 200000) sets -n.
# Usage: sh tests/bench/bench_kvd.sh  (PF_BUILD names the build folder)
set -u
B=${PF_BUILD:-build}
KVD=$B/bin/kvd
N=${BENCH_KVD_N:-200000}
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
    if [ $1 = redis ]; then
        if [ $2 = off ]; then ao=no; else ao=yes; fi
        redis-server --port $sport --bind 127.0.0.1 --save '' --appendonly $ao --appendfsync everysec \
            --dir $d >/dev/null 2>&1 &
    else
        if [ $2 = off ]; then ao=no; else ao=yes; fi
        "$KVD" --listen 127.0.0.1:$sport --mode $3 --appendonly $ao --appendfsync everysec --dir $d 2>/dev/null &
    fi
    spid=$!
    pids="$pids $spid"
    wait_port $sport || { echo "bench_kvd: $1 did not start"; exit 1; }
}
stop() { kill -TERM $spid; wait $spid 2>/dev/null; }

# run T P: prints "reqs cpu_us_per_req"
run() {
    c0=$(cpu_ticks $spid)
    r=$(redis-benchmark -p $sport -t $1 -c 50 -n $N -P $2 --csv 2>/dev/null | tail -1 | cut -d, -f2 | tr -d '"')
    c1=$(cpu_ticks $spid)
    echo "$r $(echo "$c0 $c1 $hz $N" | awk '{printf "%.2f", ($2-$1)/$3*1e6/$4}')"
}

echo "kvd vs redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), redis-benchmark -c 50 -n $N, $(nproc) CPUs (the client shares them)"
printf '%-8s %-3s %-11s %-11s %10s %10s %6s %8s %8s %6s\n' persist P test kvd-mode kvd_rps redis_rps ratio kvd_us redis_us cpu_x
for persist in off everysec; do
    for P in 1 16; do
        start redis $persist; rs=$spid; rport=$sport
        res_redis=$tmp/redis.txt; : > $res_redis
        for t in $TESTS; do echo "$t $(run $t $P)" >> $res_redis; done
        stop
        for mode in hsha inline; do
            start kvd $persist $mode
            for t in $TESTS; do
                set -- $(run $t $P); krps=$1; kus=$2
                set -- $(grep "^$t " $res_redis); rrps=$2; rus=$3
                printf '%-8s %-3s %-11s %-11s %10s %10s %6s %8s %8s %6s\n' $persist $P $t $mode $krps $rrps \
                    $(echo "$krps $rrps $kus $rus" | awk '{printf "%.2f %s %s %.2f", $1/$2, $3, $4, ($4>0?$3/$4:0)}')
            done
            stop
        done
    done
done
echo "ratio = kvd/redis req/s (goal: >= 1 in the best mode, >= 0.8 in hsha); cpu_x = kvd/redis CPU per request (goal: <= 1)"

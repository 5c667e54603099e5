#!/bin/sh
# MQTT broker benchmark: mqttd against the Debian mosquitto broker in the
# same run, with the same load client (bench_mqtt): publish-to-deliver
# throughput and p50/p99 latency for fan-in (100 publishers, 1 subscriber),
# fan-out (1 publisher, 100 subscribers) and one at a time (50 publishers,
# 1 subscriber, each publisher waits for its message to arrive before the
# next), QoS 0 and 1; the brokers' CPU time and context switches per
# message delivered (every thread, from /proc).  mqttd runs in every mode
# (MQTTD_MODES, default "hsha reactor lf inline"), each its own process.
# Each broker is started here on a free loopback port (mosquitto with a
# generated config, never a system service) and killed by PID.
#
#   sh tests/bench/bench_mqtt.sh [BENCH_MQTT_BINARY]
# PF_BUILD names the build folder; BENCH_SECONDS (default 3) each run's
# length; MQTTD_THREADS (default: CPUs).
set -u
B=${PF_BUILD:-build}
LOAD=${1:-$B/bench/bench_mqtt}
MQTTD=$B/bin/mqttd
SECS=${BENCH_SECONDS:-3}
MODES=${MQTTD_MODES:-hsha reactor lf inline}
THREADS=${MQTTD_THREADS:-$(nproc)}
command -v mosquitto >/dev/null 2>&1 || { echo "mosquitto is not installed (apt-get install mosquitto)"; exit 1; }
tmp=$(mktemp -d)
pids=
trap 'rm -rf "$tmp"; for p in $pids; do kill -9 $p 2>/dev/null; done' EXIT
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
. "$(dirname "$0")/lib.sh"
hz=$(getconf CLK_TCK)

for m in $MODES; do
    start_ours "$tmp/mqttd-$m.err" "$MQTTD" --listen 127.0.0.1:0 --mode "$m" --threads "$THREADS" || exit 1
    pids="$pids $spid"
    eval "pid_$m=$spid port_$m=$port"
done

qport=$(free_port)
cat > "$tmp/mosquitto.conf" <<EOF
listener $qport 127.0.0.1
allow_anonymous true
persistence false
set_tcp_nodelay true
log_dest stderr
log_type error
EOF
mosquitto -c "$tmp/mosquitto.conf" 2>"$tmp/mosquitto.err" &
qpid=$!
pids="$pids $qpid"
wait_port $qport || { cat "$tmp/mosquitto.err"; exit 1; }

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# measure PID PORT PUBS SUBS QOS WIN: "rate p50 p99 cpu_us_per_msg cs_per_msg"
measure() {
    c0=$(cpu_ticks $1); s0=$(ctx_switches $1)
    out=$("$LOAD" "$2" $3 $4 $5 "$SECS" $6) || { echo "run failed: $out" >&2; return 1; }
    c1=$(cpu_ticks $1); s1=$(ctx_switches $1)
    r=$(field "$out" rate)
    echo "$r $(field "$out" p50_us) $(field "$out" p99_us) $(echo "$c0 $c1 $hz $r $SECS $s0 $s1" |
        awk '{ n = $4 * $5; printf "%.2f %.3f", (n > 0 ? ($2-$1)/$3*1e6/n : 0), (n > 0 ? ($7-$6)/n : 0) }')"
}

echo "MQTT publish-to-deliver, loopback, $(nproc) CPUs, ${SECS}s per run, 64-byte payloads, closed loop"
echo "(window per publisher: fan-in 8, fan-out 32, one 1); mqttd --threads $THREADS,"
echo "mosquitto $(mosquitto -h 2>/dev/null | sed -n 's/^mosquitto version //p') (one thread); us and cs per message delivered"
printf '%-8s %-3s %-8s %10s %7s %7s %6s %6s %10s %7s %6s %6s %6s %6s\n' case qos mode mqttd/s p50_us p99_us us cs \
    mosq/s p99_us us cs ratio cpu_x
for case in fan-in fan-out one; do
    case $case in
    fan-in) pubs=100; subs=1; win=8 ;;
    fan-out) pubs=1; subs=100; win=32 ;;
    one) pubs=50; subs=1; win=1 ;;
    esac
    for qos in 0 1; do
        q=$(measure $qpid $qport $pubs $subs $qos $win) || exit 1
        for m in $MODES; do
            eval "a=\$(measure \$pid_$m \$port_$m $pubs $subs $qos $win)" || exit 1
            set -- $a $q
            printf '%-8s %-3s %-8s %10s %7s %7s %6s %6s %10s %7s %6s %6s %6s %6s\n' $case $qos $m \
                $1 $2 $3 $4 $5 $6 $8 $9 ${10} \
                "$(awk -v a="$1" -v b="$6" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
                "$(awk -v a="$4" -v b="$9" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
        done
    done
done
echo "ratio = mqttd/mosquitto messages per second; cpu_x = mqttd/mosquitto CPU per message (goal <= 0.8, issue 16)"

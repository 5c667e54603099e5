#!/bin/sh
# MQTT broker benchmark: mqttd against the Debian mosquitto broker in the
# same run, with the same load client (bench_mqtt): publish-to-deliver
# throughput and p50/p99 latency for fan-in (100 publishers, 1 subscriber)
# and fan-out (1 publisher, 100 subscribers), QoS 0 and 1.  Each broker is
# started here on a free loopback port (mosquitto with a generated config,
# never a system service) and killed by PID.
#
#   sh tests/bench/bench_mqtt.sh [BENCH_MQTT_BINARY]
# PF_BUILD names the build folder; BENCH_SECONDS (default 3) each run's
# length; MQTTD_MODE (default hsha) and MQTTD_THREADS (default: CPUs).
set -u
B=${PF_BUILD:-build}
LOAD=${1:-$B/bench/bench_mqtt}
MQTTD=$B/bin/mqttd
SECS=${BENCH_SECONDS:-3}
MODE=${MQTTD_MODE:-hsha}
THREADS=${MQTTD_THREADS:-$(nproc)}
command -v mosquitto >/dev/null 2>&1 || { echo "mosquitto is not installed (apt-get install mosquitto)"; exit 1; }
tmp=$(mktemp -d)
mpid=; qpid=
trap 'rm -rf "$tmp"; [ -n "$mpid" ] && kill -9 $mpid 2>/dev/null; [ -n "$qpid" ] && kill -9 $qpid 2>/dev/null' EXIT
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

"$MQTTD" --listen 127.0.0.1:0 --mode "$MODE" --threads "$THREADS" 2>"$tmp/mqttd.err" &
mpid=$!
i=0
while ! grep -q 'listening on' "$tmp/mqttd.err" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 500 ] && { echo "mqttd did not start" >&2; exit 1; }
    sleep 0.01
done
mport=$(sed -n 's/^listening on .*://p' "$tmp/mqttd.err" | head -1)

# A free port for mosquitto: bind port 0, read it, release it.
qport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
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
i=0
while ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $qport)).close()" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 500 ] && { echo "mosquitto did not start" >&2; cat "$tmp/mosquitto.err"; exit 1; }
    sleep 0.01
done

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

echo "MQTT publish-to-deliver, loopback, $(nproc) CPUs, ${SECS}s per run, 64-byte payloads,"
echo "closed loop (window of 8 per publisher fan-in, 32 fan-out); mqttd --mode $MODE --threads $THREADS,"
echo "mosquitto $(mosquitto -h 2>/dev/null | sed -n 's/^mosquitto version //p') (one thread)"
printf '%-8s %-4s %12s %9s %9s %12s %9s %9s %7s\n' case qos mqttd/s p50_us p99_us mosquitto/s p50_us p99_us ratio
for case in fan-in fan-out; do
    if [ $case = fan-in ]; then pubs=100; subs=1; win=8; else pubs=1; subs=100; win=32; fi
    for qos in 0 1; do
        a=$("$LOAD" "$mport" $pubs $subs $qos "$SECS" $win) || { echo "mqttd run failed: $a"; exit 1; }
        b=$("$LOAD" "$qport" $pubs $subs $qos "$SECS" $win) || { echo "mosquitto run failed: $b"; exit 1; }
        ra=$(field "$a" rate); rb=$(field "$b" rate)
        printf '%-8s %-4s %12s %9s %9s %12s %9s %9s %7s\n' $case $qos \
            "$ra" "$(field "$a" p50_us)" "$(field "$a" p99_us)" \
            "$rb" "$(field "$b" p50_us)" "$(field "$b" p99_us)" \
            "$(awk -v a="$ra" -v b="$rb" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
    done
done
kill -TERM $mpid; wait $mpid 2>/dev/null; mpid=
kill -TERM $qpid; wait $qpid 2>/dev/null; qpid=

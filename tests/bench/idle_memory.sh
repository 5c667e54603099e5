#!/bin/sh
# make bench (idle memory): bytes per idle connection for every shipped
# service, in every mode (hsha, reactor, lf, inline), beside its peer, in one run.  Each
# server gets BENCH_IDLE_CONNS (default 10,000) connections that each make
# one request and stay open (build/bench/bench_idle): the server's RSS
# growth per connection over the last nine tenths (nginx: its worker's).
#
#   service  request            peer
#   echod    HELLO              -
#   httpd    GET /hello         nginx (one worker, same body)
#   kvd      PING               redis-server (no persistence)
#   mqttd    CONNECT (clean)    mosquitto
#   smtpd    EHLO               -
#   mcd      version            memcached -t 1
#
# A peer that is not installed is skipped with a line saying so.  Every
# server runs on a free 127.0.0.1 port and is killed by its PID.
# Arguments: none; PF_BUILD names the build folder.
set -u
B=${PF_BUILD:-build}
IDLE=$B/bench/bench_idle
N=${BENCH_IDLE_CONNS:-10000}
[ -x "$IDLE" ] || { echo "idle_memory: $IDLE not built; skipped"; exit 0; }
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
tmp=$(mktemp -d)
spid= mpid=
cleanup() { [ -n "$spid" ] && kill -9 "$spid" "$mpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
. "$(dirname "$0")/lib.sh"

# ours NAME MODE [ARGS...]: one of our services; sets spid, mpid, port.
ours() {
    name=$1 mode=$2
    shift 2
    start_ours "$tmp/err" "$B/bin/$name" --listen 127.0.0.1:0 --mode "$mode" --threads 2 \
        --max-conns 20000 "$@" || return 1
    mpid=$spid
}

# peer NAME: the peer server for NAME, or 1 when it is not installed.
peer() {
    port=$(free_port)
    case $1 in
    nginx)
        command -v nginx >/dev/null 2>&1 || return 1
        nginx_hello_conf "$tmp/ng" "$port"
        nginx -p "$tmp/ng" -c "$tmp/ng/nginx.conf" >/dev/null 2>"$tmp/ng/err" &
        spid=$!
        wait_port "$port" || return 1
        mpid=$(awk '{ print $1 }' "/proc/$spid/task/$spid/children") ;;
    redis-server)
        command -v redis-server >/dev/null 2>&1 || return 1
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --maxclients 15000 --dir "$tmp" >/dev/null 2>&1 &
        spid=$!; mpid=$spid
        wait_port "$port" || return 1 ;;
    mosquitto)
        command -v mosquitto >/dev/null 2>&1 || return 1
        printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_connections -1\npersistence false\n' \
            "$port" >"$tmp/mosquitto.conf"
        mosquitto -c "$tmp/mosquitto.conf" >/dev/null 2>&1 &
        spid=$!; mpid=$spid
        wait_port "$port" || return 1 ;;
    memcached)
        command -v memcached >/dev/null 2>&1 || return 1
        u=; [ "$(id -u)" = 0 ] && u="-u nobody"
        memcached -p "$port" -l 127.0.0.1 -U 0 -t 1 -c 15000 $u &
        spid=$!; mpid=$spid
        wait_port "$port" || return 1 ;;
    esac
}

# A TERM, not a KILL: nginx's master then ends its worker too.
stop() {
    kill -TERM "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    [ "$mpid" != "$spid" ] && kill -9 "$mpid" 2>/dev/null
    spid=
}

# measure REQUEST: bytes per connection of the running server ("-" if the run failed).
measure() {
    "$IDLE" "$mpid" "$port" "$N" "$1" 2>/dev/null | sed -n 's/.*bytes_per_conn=//p' | grep . || echo -
}

mkdir -p "$tmp/md"
CONNECT='\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00'
echo "memory per idle connection: $N connections, one request each, bytes (RSS growth / connection)"
printf '%-7s %8s %8s %8s %8s   %-13s %9s\n' service hsha reactor lf inline peer bytes
while read -r svc peer req args; do
    [ -x "$B/bin/$svc" ] || continue
    [ "$args" = - ] && args=
    out=
    for mode in hsha reactor lf inline; do
        # shellcheck disable=SC2086
        if ours "$svc" "$mode" $args; then out="$out $(measure "$req")"; else out="$out -"; fi
        stop
    done
    p=-
    if [ "$peer" != - ]; then
        if peer "$peer"; then p=$(measure "$req"); else p="not installed"; fi
        stop
    fi
    set -- $out
    printf '%-7s %8s %8s %8s %8s   %-13s %9s\n' "$svc" "$1" "$2" "$3" "$4" "$peer" "$p"
done <<EOF
echod - HELLO\\x20idle\r\n -
httpd nginx GET\\x20/hello\\x20HTTP/1.1\r\nHost:\\x20x\r\n\r\n -
kvd redis-server PING\r\n -
mqttd mosquitto $CONNECT -
smtpd - EHLO\\x20idle.test\r\n --maildir $tmp/md --hostname mx.test
mcd memcached version\r\n -
EOF

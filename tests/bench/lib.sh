# Sourced by the benchmark scripts: what each of them needs to run servers
# on loopback and measure them.

# A free TCP port of 127.0.0.1 (bound, then released for a server to take).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# utime + stime of PID, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Context switches of PID so far, voluntary and not, every thread.
ctx_switches() { cat /proc/$1/task/*/status 2>/dev/null | awk '/ctxt_switches/ { s += $2 } END { print s + 0 }'; }

# Until 127.0.0.1:PORT accepts a connection; 1 after 6 s.
wait_port() {
    i=0
    until python3 -c "import socket; socket.create_connection(('127.0.0.1',$1)).close()" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 300 ] && { echo "server on port $1 did not start" >&2; return 1; }
        sleep 0.02
    done
}

# start_ours ERRFILE COMMAND...: one of our services (its command line with
# --listen 127.0.0.1:0), in the background; sets spid and port once it has
# printed "listening on" (1 after 5 s).
start_ours() {
    errfile=$1
    shift
    "$@" 2>"$errfile" &
    spid=$!
    i=0
    until grep -q 'listening on' "$errfile" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 500 ] && { echo "$* did not start" >&2; return 1; }
        sleep 0.01
    done
    port=$(sed -n 's/^listening on .*://p' "$errfile" | head -1)
}

# nginx_hello_conf DIR PORT [ROOT [ofc]] writes DIR/nginx.conf for one
# worker answering /hello with the 14 bytes httpd's /hello answers, access
# log off, unlimited keep-alive requests, every temporary path under DIR.
# With ROOT, it also serves the files under ROOT the way static sites are
# usually set up (sendfile on, tcp_nopush on); "ofc" adds an
# open_file_cache (descriptors and stat results kept for up to 1 s).
nginx_hello_conf() {
    mkdir -p "$1/logs"
    files=
    [ -n "${3:-}" ] && files="location / { root $3; }
        sendfile on; tcp_nopush on;"
    [ "${4:-}" = ofc ] && files="$files
        open_file_cache max=1000 inactive=20s; open_file_cache_valid 1s;"
    cat >"$1/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $1/nginx.pid;
error_log $1/logs/error.log warn;
events { worker_connections 20000; use epoll; }
http {
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path $1/cb; proxy_temp_path $1/px; fastcgi_temp_path $1/fc;
    uwsgi_temp_path $1/uw; scgi_temp_path $1/sc;
    server {
        listen 127.0.0.1:$2;
        location = /hello { default_type text/plain; return 200 "Hello, World!\n"; }
        $files
    }
}
CONF
}

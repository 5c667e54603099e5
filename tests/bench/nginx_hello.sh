# Sourced by the benchmarks that run nginx: nginx_hello_conf DIR PORT writes
# DIR/nginx.conf for one worker answering /hello with the 14 bytes httpd's
# /hello answers, access log off, unlimited keep-alive requests, every
# temporary path under DIR (nothing outside DIR is touched).
nginx_hello_conf() {
    mkdir -p "$1/logs"
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
    }
}
CONF
}

#!/bin/sh
# Installs (as root, with apt-get) or names (otherwise) the Debian packages a
# make target needs.  Silent when everything is present; idempotent.
#   sh gen/deps.sh build|test|run|bench|fuzz
# Each later protocol adds its clients and peers to the lists below.
set -u
want=${1:-build}

build="make gcc libc6-dev ragel pkg-config"
case $want in
build)     pkgs=$build ;;
run)       pkgs="$build netcat-openbsd curl swaks mosquitto-clients redis-tools graphviz" ;; # the clients the showcase suggests; graphviz draws the admin page's diagrams
test)      pkgs="$build libcmocka-dev graphviz procps libhttp-parser-dev python3 swaks curl mosquitto-clients coreutils redis-server redis-tools libhiredis-dev memcached libmemcached-tools prometheus chromium" ;; # prometheus: promtool and a real scraper (test_admin); chromium: test_admin_page
bench)     pkgs="$build libcmocka-dev procps libhttp-parser-dev libhiredis-dev wrk nginx curl mosquitto memcached libmemcached-tools" ;;
fuzz)      pkgs="$build clang libclang-rt-14-dev" ;;
*) echo "gen/deps.sh: unknown target '$want' (build, test, run, bench, fuzz)" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
    # Not Debian: check the tools we can see, and trust the rest.
    for c in ragel cc make; do
        command -v $c >/dev/null 2>&1 || {
            echo "protofsm: '$c' is missing; install the equivalents of: $pkgs" >&2; exit 1; }
    done
    exit 0
fi

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "protofsm: missing packages:$missing -- run 'sudo apt-get install$missing' (or make as root)" >&2
    exit 1
fi

echo "protofsm: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
# Try without refreshing the lists first: a machine that installed before
# needs no network round trip.
if ! apt-get install -y -q --no-install-recommends $missing >"$log" 2>&1; then
    if ! { apt-get update -q && apt-get install -y -q --no-install-recommends $missing; } >"$log" 2>&1; then
        cat "$log" >&2; rm -f "$log"
        echo "protofsm: apt-get could not install:$missing" >&2
        exit 1
    fi
fi
rm -f "$log"

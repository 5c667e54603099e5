#!/bin/sh
# The runtime's own suites and the echod and httpd conformance suites
# again on the poll and sigio backends (PF_TEST_BACKEND, harness.h): the
# plain run is epoll's.  The two backends run side by side (the suites
# mostly wait on the network and on timers: this halves the time), each
# one's output printed whole when both are done.  Under the sanitizers
# only test_server (test_backends already runs every mode on every
# backend there), to keep CI short.  PF_BUILD names the build folder.
B=${PF_BUILD:-build}
if [ -n "${PF_SAN:-}" ]; then
    suites="test_server"
else
    suites="test_server test_sendfile test_echod_limits test_echod_load test_httpd"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for backend in poll sigio; do
    (
        rc=0
        for t in $suites; do
            echo "== $t on $backend"
            PF_TEST_BACKEND=$backend "$B/tests/$t" || { rc=1; echo "== $t on $backend FAILED"; }
        done
        echo $rc > "$tmp/$backend.rc"
    ) > "$tmp/$backend.out" 2>&1 &
done
wait
rc=0
for backend in poll sigio; do
    cat "$tmp/$backend.out"
    [ "$(cat "$tmp/$backend.rc" 2>/dev/null)" = 0 ] || rc=1
done
exit $rc

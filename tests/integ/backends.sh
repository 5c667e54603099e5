#!/bin/sh
# The runtime's own suites and the echod and httpd conformance suites
# again on the poll and sigio backends (PF_TEST_BACKEND, harness.h): the
# plain run is epoll's.  One after the other: side by side they halved
# the time, but made the timing-sensitive checks (page-cache eviction,
# deadlines) flaky on two shared cores.  Under the sanitizers
# only test_server (test_backends already runs every mode on every
# backend there), to keep CI short.  PF_BUILD names the build folder.
B=${PF_BUILD:-build}
if [ -n "${PF_SAN:-}" ]; then
    suites="test_server"
else
    suites="test_server test_sendfile test_echod_limits test_echod_load test_httpd"
fi
rc=0
for backend in poll sigio; do
    for t in $suites; do
        echo "== $t on $backend"
        PF_TEST_BACKEND=$backend "$B/tests/$t" || { rc=1; echo "== $t on $backend FAILED"; }
    done
done
exit $rc

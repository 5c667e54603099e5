#!/bin/sh
# The runtime's own suites and the echod and httpd conformance suites
# again on the poll and sigio backends (PF_TEST_BACKEND, harness.h): the
# plain run is epoll's.  Under the sanitizers only the runtime's threaded
# tests, to keep CI short; they hold what the backends share with the
# workers.  PF_BUILD names the build folder.
B=${PF_BUILD:-build}
if [ -n "${PF_SAN:-}" ]; then
    suites="test_server test_echod_load"
else
    suites="test_server test_sendfile test_echod_limits test_echod_load test_httpd"
fi
rc=0
for backend in poll sigio; do
    for t in $suites; do
        echo "== $t on $backend"
        PF_TEST_BACKEND=$backend "$B/tests/$t" || rc=1
    done
done
exit $rc

#!/bin/sh
# Runs each test program (cmocka binaries and scripts) with a time limit, one
# process each, and ends with one summary line.  Exit status: failures > 0.
# PF_TEST_TIMEOUT overrides the per-program limit in seconds.
limit=${PF_TEST_TIMEOUT:-300}
pass=0; fail=0; failed=""
for t in "$@"; do
    printf '== %s\n' "$t"
    if timeout -k 10 "$limit" "$t"; then
        pass=$((pass + 1))
    else
        rc=$?
        [ $rc -eq 124 ] && printf '%s: timed out after %ss\n' "$t" "$limit"
        fail=$((fail + 1)); failed="$failed $t"
    fi
done
[ -n "$failed" ] && printf 'failed:%s\n' "$failed"
printf 'tests: %d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]

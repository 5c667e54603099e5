#!/bin/sh
# The HTTP/1.1 parser's tests once more with PF_HTTP1_NARROW=1: on a CPU
# with AVX2 the plain run takes the wide field-line scan, so this is what
# holds the SSE2 one (every x86-64 without AVX2 runs it) to the same
# vectors, splits and slices.  PF_BUILD names the build folder.
B=${PF_BUILD:-build}
PF_HTTP1_NARROW=1 "$B/tests/test_http1" && PF_HTTP1_NARROW=1 "$B/tests/test_http1_diff"

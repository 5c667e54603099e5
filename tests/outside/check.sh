#!/bin/sh
# Install protofsm into a temporary prefix, then build and run the outside
# project (tests/outside) against it with nothing but pkg-config and PATH.
# Exit status: 0 when the project builds and its checks pass.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pf_outside.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

cd "$repo"
make --no-print-directory install PREFIX="$tmp" >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log" >&2; echo "outside: make install failed" >&2; exit 1; }

export PKG_CONFIG_PATH="$tmp/lib/pkgconfig" PATH="$tmp/bin:$PATH"
pkg-config --exists protofsm || { echo "outside: pkg-config cannot find protofsm" >&2; exit 1; }
[ "$(pkg-config --variable=pfgen protofsm)" = "$tmp/bin/pfgen" ] || {
    echo "outside: pkg-config names the wrong pfgen" >&2; exit 1; }

cd "$here"
rm -rf build
unset MAKEFLAGS MFLAGS MAKELEVEL
make --no-print-directory check
[ -f build/gen/ctr.dot ] || { echo "outside: build/gen/ctr.dot was not generated" >&2; exit 1; }
# A second make has nothing to do: the generated files are up to date.
make --no-print-directory -q build/ctr || { echo "outside: second make is not a no-op" >&2; exit 1; }
echo "outside: project built and checked against $tmp"

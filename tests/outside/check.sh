#!/bin/sh
# Install protofsm into a temporary prefix, then build and run the outside
# project (a copy of tests/outside) against it with nothing but pkg-config
# and PATH.  Everything goes under one temp dir, removed on every exit: the
# build of protofsm itself too (BUILD=...), so nothing is written to the repo.
# Exit status: 0 when the project builds, its checks pass, and protofsm.mk
# regenerates what it should.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pf_outside.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
fail() { echo "outside: $*" >&2; exit 1; }
ls -A "$here" >"$tmp/before"

cd "$repo"
make --no-print-directory -j"$(nproc 2>/dev/null || echo 2)" install \
    PREFIX="$tmp/prefix" BUILD="$tmp/pfbuild" >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log" >&2; fail "make install failed"; }

export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" PATH="$tmp/prefix/bin:$PATH"
pkg-config --exists protofsm || fail "pkg-config cannot find protofsm"
[ "$(pkg-config --variable=pfgen protofsm)" = "$tmp/prefix/bin/pfgen" ] ||
    fail "pkg-config names the wrong pfgen"

mkdir "$tmp/proj"
for f in "$here"/*; do  # the project's files, not a stale build/
    [ "$f" = "$here/build" ] || cp -R "$f" "$tmp/proj/"
done
cd "$tmp/proj"
unset MAKEFLAGS MFLAGS MAKELEVEL
# Plain make builds the project's default goal (including protofsm.mk does
# not take it over), then the checks run.
make --no-print-directory >"$tmp/make.log" 2>&1 || { cat "$tmp/make.log" >&2; fail "make failed"; }
[ -x build/ctr ] && [ -x build/parse_http ] || fail "plain make did not build the default goal"
make --no-print-directory check
[ -f build/gen/counter.dot ] || fail "build/gen/counter.dot was not generated"
[ -f build/gen/ctr_events.h ] || fail "build/gen/ctr_events.h was not generated"
# A second make has nothing to do: the generated files are up to date.
make --no-print-directory -q build/ctr || fail "second make is not a no-op"

# A deleted output of pfgen is made again (all three come from one run).
rm build/gen/counter_fsm.h
make --no-print-directory build/ctr >"$tmp/regen.log" 2>&1 || {
    cat "$tmp/regen.log" >&2; fail "make after deleting counter_fsm.h failed"; }
[ -f build/gen/counter_fsm.h ] || fail "a deleted build/gen/counter_fsm.h was not regenerated"
rm build/gen/counter.dot
make --no-print-directory pf-gen >"$tmp/regen.log" 2>&1 || {
    cat "$tmp/regen.log" >&2; fail "make pf-gen after deleting counter.dot failed"; }
[ -f build/gen/counter.dot ] || fail "a deleted build/gen/counter.dot was not regenerated"
make --no-print-directory build/ctr >"$tmp/regen.log" 2>&1 || {
    cat "$tmp/regen.log" >&2; fail "make after regenerating failed"; }
make --no-print-directory -q build/ctr || fail "make is not a no-op after regenerating"

# pfgen found on PATH (PFGEN=pfgen): a newer pfgen there regenerates.
make --no-print-directory -q PFGEN=pfgen build/ctr || fail "PFGEN=pfgen is not a no-op"
touch "$tmp/prefix/bin/pfgen"
if make --no-print-directory -q PFGEN=pfgen build/ctr; then
    fail "a newer pfgen on PATH does not regenerate"
fi
make --no-print-directory PFGEN=pfgen build/ctr >"$tmp/regen.log" 2>&1 || {
    cat "$tmp/regen.log" >&2; fail "make with a newer pfgen failed"; }
[ build/gen/counter_fsm.c -nt "$tmp/prefix/bin/pfgen" ] || fail "counter_fsm.c was not regenerated"

# A change to the protocol's event list regenerates the tables over it.
touch ctr.rl
make --no-print-directory -q build/ctr && fail "a changed ctr.rl does not regenerate counter's table"
make --no-print-directory build/ctr >"$tmp/regen.log" 2>&1 || {
    cat "$tmp/regen.log" >&2; fail "make after touching ctr.rl failed"; }
[ build/gen/counter_fsm.c -nt ctr.rl ] || fail "counter_fsm.c was not regenerated"

ls -A "$here" | cmp -s - "$tmp/before" || fail "files appeared in $here: the build wrote to the repo"
echo "outside: project built and checked against $tmp/prefix"

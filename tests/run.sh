#!/bin/sh
# Runs every check of `make test` and ends with the line "N passed, N failed".
# Usage: [BUILD=dir] [JOBS=n] tests/run.sh MAKE PYTHON
#   BUILD: where programs go (build); JOBS: parallel builds (none: make's own -j)
set -u
MAKE=${1:-make}
PYTHON=${2:-/usr/bin/python3}
B=${BUILD:-build}
# make valgrind: every C program runs under this wrapper (empty: none).
W=${SMTPMAIL_TEST_WRAP:-}
. "$(dirname "$0")/counts.sh" # ok, bad, tally, group, summary
# The closing lines count each group apart (counts.sh): "builds" (compiles,
# the cross build, exported symbols), "C tests" (the C programs the project
# wrote, run), "install, man page, --version" (tests/tool.sh), "real servers
# and oracles" (Python's aiosmtpd and email package, and the fault server,
# judging what the programs did).

# Every program is built by one make (-k: past a failure, so that each is
# judged on its own; -j$JOBS, or make's own jobserver); then each build
# check asks make whether its programs are up to date (make -q): one that
# failed to compile is not, and its check fails, naming it.
build_all() {
    # shellcheck disable=SC2086
    $MAKE --no-print-directory -s -k ${JOBS:+-j$JOBS} BUILD="$B" all examples tests
    built=$?
}
build_failed=0
build() { # build NAME TARGET...
    name=$1
    shift
    if $MAKE --no-print-directory -q BUILD="$B" "$@"; then
        ok "build: $name"
    else
        build_failed=1
        bad "build: $name (not built: $*)"
    fi
}

# A suite prints "N passed, M failed" last; its counts are added to ours.
suite() { # suite NAME COMMAND...
    name=$1
    shift
    out=$("$@" 2>&1)
    status=$?
    printf '%s\n' "$out"
    tally "$name" "$status" "$out"
}

# A program that must exit 0 counts as one check.
run() { # run NAME COMMAND...
    name=$1
    shift
    if out=$("$@" 2>&1); then ok "$name"; else printf '%s\n' "$out"; bad "$name"; fi
}

echo "== build (gcc and clang, -std=c99 -Werror; C++; two translation units)"
group "builds"
build_all
build "smtpmail-send (gcc)" $B/smtpmail-send
build "smtpmail-send without TLS (SMTPMAIL_NO_TLS)" $B/smtpmail-send-notls
build "examples" examples
build "unit tests (gcc)" $B/test_main
build "unit tests (clang)" $B/test_main_clang
build "SMTP engine tests (gcc)" $B/test_smtp
build "SMTP engine tests (clang)" $B/test_smtp_clang
build "header as C++" $B/cpp_test
build "two-TU link" $B/link_test
build "quick start from the header" $B/quick_start
build "thread test (pthreads)" $B/thread_test
build "outbox tests (pthreads)" $B/test_outbox
build "implementation object" $B/link_impl.o
build "real-server client (C API)" $B/real_send
build "embedded configuration on the host" $B/test_embedded
# shellcheck disable=SC2046
build "fuzz targets (clang, libFuzzer)" $(for f in tests/fuzz/fuzz_*.c; do
    t=${f##*/}
    echo "$B/fuzz/${t%.c}"
done)
# Whatever else in TESTS failed has no check of its own: this one.
if [ "$built" != 0 ] && [ "$build_failed" = 0 ]; then
    bad "build: make -k all examples tests (exit $built; see above)"
fi

echo "== unit tests (gcc build)"
group "C tests"
if [ -x $B/test_main ]; then suite "unit tests" $W $B/test_main; fi
echo "== unit tests (clang build)"
if [ -x $B/test_main_clang ]; then run "unit tests, clang build" $W $B/test_main_clang; fi
echo "== SMTP engine (scripted server)"
if [ -x $B/test_smtp ]; then suite "SMTP engine (scripted server)" $W $B/test_smtp; fi
if [ -x $B/test_smtp_clang ]; then run "SMTP engine, clang build" $W $B/test_smtp_clang; fi
echo "== embedded: NO_SOCKETS + NO_STDIO + NO_TLS, small buffers, every hook supplied"
if [ -x $B/test_embedded ]; then suite "embedded configuration" $W $B/test_embedded; fi
if command -v arm-none-eabi-gcc >/dev/null 2>&1 || [ "$(id -u)" = 0 ]; then
    group "builds"
    run "embedded: Cortex-M4 cross build, no warnings" $MAKE --no-print-directory -s BUILD="$B" embedded-check
else
    echo "skip embedded cross build: no arm-none-eabi-gcc (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
fi
echo "== outbox (SMTPMAIL_OUTBOX): queue, backoff, rate limit, spool, worker thread"
group "C tests"
if [ -x $B/test_outbox ]; then suite "outbox" $W $B/test_outbox; fi
echo "== header as C++, two-TU link"
[ -x $B/cpp_test ] && run "C++ render" $W $B/cpp_test
[ -x $B/link_test ] && run "two-TU program" $W $B/link_test
# The quick start itself sends: tests/real_smtp.py runs it against a local server.

echo "== threads, exported symbols"
[ -x $B/thread_test ] && run "two threads render independently" $W $B/thread_test
group "builds"
run "only smtpmail_ symbols exported" $MAKE --no-print-directory -s BUILD="$B" symbols

echo "== the command-line tool: --version, make install, man page (tests/tool.sh)"
group "install, man page, --version"
suite "install, man page, --version" sh tests/tool.sh "$MAKE" "$B"

echo "== oracle: Python's email package reads what the builder wrote"
group "real servers and oracles"
if [ -x $B/smtpmail-send ]; then
    suite "oracle" "$PYTHON" tests/oracle.py $B/smtpmail-send
else
    bad "oracle: $B/smtpmail-send missing"
fi

echo "== real SMTP servers: aiosmtpd over implicit TLS, STARTTLS and plaintext"
if [ -x $B/smtpmail-send ]; then
    suite "real SMTP servers" "$PYTHON" tests/real_smtp.py "$B"
else
    bad "real SMTP servers: $B/smtpmail-send missing"
fi

echo "== socket faults: tests/faultd.py misbehaves on purpose, on loopback"
if [ -x $B/smtpmail-send ]; then
    suite "socket faults" "$PYTHON" tests/fault_socket.py "$B"
else
    bad "socket faults: $B/smtpmail-send missing"
fi

echo "== fuzz targets over their seed corpora (clang, libFuzzer; make fuzz fuzzes)"
group "C tests"
run "fuzz targets replay their seeds" $MAKE --no-print-directory -s BUILD="$B" fuzz-smoke

summary

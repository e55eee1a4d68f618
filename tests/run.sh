#!/bin/sh
# Runs every check of `make test` and ends with the line "N passed, N failed".
# Usage: tests/run.sh MAKE PYTHON
set -u
MAKE=${1:-make}
PYTHON=${2:-/usr/bin/python3}
passed=0
failed=0
failures=""

ok()   { passed=$((passed + 1)); echo "ok   $1"; }
bad()  { failed=$((failed + 1)); failures="$failures
  $1"; echo "FAIL $1"; }

# A build step counts as one check.
build() { # build NAME TARGET
    if $MAKE --no-print-directory -s "$2"; then ok "build: $1"; else bad "build: $1"; fi
}

# A suite prints "N passed, M failed" last; its counts are added to ours.
suite() { # suite NAME COMMAND...
    name=$1
    shift
    out=$("$@" 2>&1)
    status=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | tail -n 1)
    p=$(printf '%s' "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(printf '%s' "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then
        bad "$name: no summary line (exit $status)"
        return
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" != 0 ] || [ "$status" != 0 ]; then
        failures="$failures
  $name: $f failed (exit $status)"
        [ "$f" = 0 ] && failed=$((failed + 1))
    fi
}

# A program that must exit 0 counts as one check.
run() { # run NAME COMMAND...
    name=$1
    shift
    if out=$("$@" 2>&1); then ok "$name"; else printf '%s\n' "$out"; bad "$name"; fi
}

echo "== build (gcc and clang, -std=c99 -Werror; C++; two translation units)"
build "smtpmail-send (gcc)" build/smtpmail-send
build "examples" examples
build "unit tests (gcc)" build/test_main
build "unit tests (clang)" build/test_main_clang
build "SMTP engine tests (gcc)" build/test_smtp
build "SMTP engine tests (clang)" build/test_smtp_clang
build "header as C++" build/cpp_test
build "two-TU link" build/link_test
build "quick start from the header" build/quick_start
build "thread test (pthreads)" build/thread_test
build "implementation object" build/link_impl.o
build "real-server client (C API)" build/real_send

echo "== unit tests (gcc build)"
if [ -x build/test_main ]; then suite "unit tests" ./build/test_main; fi
echo "== unit tests (clang build)"
if [ -x build/test_main_clang ]; then run "unit tests, clang build" ./build/test_main_clang; fi
echo "== SMTP engine (scripted server)"
if [ -x build/test_smtp ]; then suite "SMTP engine (scripted server)" ./build/test_smtp; fi
if [ -x build/test_smtp_clang ]; then run "SMTP engine, clang build" ./build/test_smtp_clang; fi
echo "== header as C++, two-TU link"
[ -x build/cpp_test ] && run "C++ render" ./build/cpp_test
[ -x build/link_test ] && run "two-TU program" ./build/link_test
# The quick start itself sends: tests/real_smtp.py runs it against a local server.

echo "== threads, exported symbols"
[ -x build/thread_test ] && run "two threads render independently" ./build/thread_test
[ -f build/link_impl.o ] && run "only smtpmail_ symbols exported" sh -c \
    'syms=$(nm -g --defined-only build/link_impl.o | awk "{print \$3}");
     [ -n "$syms" ] && ! printf "%s\n" "$syms" | grep -v "^smtpmail_"'

echo "== oracle: Python's email package reads what the builder wrote"
if [ -x build/smtpmail-send ]; then
    suite "oracle" "$PYTHON" tests/oracle.py build/smtpmail-send
else
    bad "oracle: build/smtpmail-send missing"
fi

echo "== real SMTP servers: aiosmtpd over implicit TLS, STARTTLS and plaintext"
if [ -x build/smtpmail-send ]; then
    suite "real SMTP servers" "$PYTHON" tests/real_smtp.py build
else
    bad "real SMTP servers: build/smtpmail-send missing"
fi

[ -n "$failures" ] && printf 'failed:%s\n' "$failures"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

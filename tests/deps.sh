#!/bin/sh
# Makes sure the tools `make test` and `make demo` use are installed. As root
# on Debian or Ubuntu it installs what is missing with apt-get; otherwise it
# stops and prints the exact command to run.
set -eu

missing=""
need() { # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}
need cc gcc
need c++ g++
need clang clang
need sed sed
need nm binutils
need openssl openssl
# Debian's own python3: the one on PATH may be another build (pyenv, conda).
[ -x /usr/bin/python3 ] || missing="$missing python3"
# The real-server tests run Debian's aiosmtpd under that python3.
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || missing="$missing python3-aiosmtpd"
[ -f /usr/include/mbedtls/ssl.h ] || missing="$missing libmbedtls-dev"
# The man page's lint (tests/tool.sh): mandoc, else groff.
command -v mandoc >/dev/null 2>&1 || command -v groff >/dev/null 2>&1 || missing="$missing mandoc"

# libFuzzer's runtime for the fuzz targets: clang alone (no recommends)
# lacks it. A tiny link test says whether it is there.
if command -v clang >/dev/null 2>&1; then
    tmp=$(mktemp -d)
    printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
        >"$tmp/f.c"
    if ! clang -fsanitize=fuzzer,address,undefined "$tmp/f.c" -o "$tmp/f" >/dev/null 2>&1; then
        v=$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -n 1)
        missing="$missing libclang-rt-${v:-14}-dev"
    fi
    rm -rf "$tmp"
elif apt-cache show libclang-rt-dev >/dev/null 2>&1; then
    missing="$missing libclang-rt-dev" # Debian 12: with clang, its runtime
fi

[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    exit 0
fi
echo "deps: missing$missing. Install them with:" >&2
echo "    sudo apt-get install$missing" >&2
exit 1

#!/bin/sh
# The command-line tool as it ships: `smtpmail-send --version` names the
# library and the mbedTLS it was built with. (make test runs this.)
# Usage: [CC=cc] sh tests/tool.sh MAKE BUILD
# Each check prints "ok   ..." or "FAIL ..."; the last line is
# "N passed, M failed", and the exit status is non-zero on any failure.
# The versions expected are read from the headers themselves, never from
# the program's output: SMTPMAIL_VERSION_STRING from smtpmail.h, and
# MBEDTLS_VERSION_STRING from the mbedtls/version.h that $CC finds (CPATH
# included, as for `make mbedtls3`), itself checked against dpkg when it is
# Debian's.
set -u
MAKE=${1:-make}
B=${2:-build}
CC=${CC:-cc}
cd "$(dirname "$0")/.." || exit 1
. tests/counts.sh # ok, bad, summary

# The value of `#define NAME "value"` in FILE.
define_in() { # define_in NAME FILE
    sed -n "s/^#[[:space:]]*define[[:space:]]\{1,\}$1[[:space:]]\{1,\}\"\([^\"]*\)\".*/\1/p" "$2" |
        head -n 1
}

version=$(define_in SMTPMAIL_VERSION_STRING smtpmail.h)
# The preprocessor expands the macro (mbedTLS 3 defines it in build_info.h,
# which version.h includes) and names the file it found.
header=$(printf '#include <mbedtls/version.h>\n' | $CC -E -x c - 2>/dev/null |
    sed -n 's|^# [0-9]* "\(.*/mbedtls/version\.h\)".*|\1|p' | head -n 1)
mbedtls=$(printf '#include <mbedtls/version.h>\nMBEDTLS_VERSION_STRING\n' |
    $CC -E -P -x c - 2>/dev/null | sed -n '$s/^"\([0-9.]*\)"$/\1/p')
if [ -n "$version" ] && [ -n "$mbedtls" ]; then
    ok "versions from the headers: smtpmail.h $version, $header $mbedtls"
else
    bad "versions from the headers: smtpmail.h \"$version\", mbedtls/version.h (\"$header\") \"$mbedtls\""
fi

# Debian's header: the package that holds it says the same version.
if [ -n "$header" ] && command -v dpkg-query >/dev/null 2>&1 &&
    pkg=$(dpkg-query -S "$header" 2>/dev/null | sed -n '1s/:.*//p') && [ -n "$pkg" ]; then
    deb=$(dpkg-query -W -f '${Version}' "$pkg" | sed 's/^[0-9]*://; s/-[^-]*$//')
    if [ "$deb" = "$mbedtls" ]; then
        ok "dpkg: $pkg is $deb, as $header says"
    else
        bad "dpkg: $pkg is $deb, but $header says $mbedtls"
    fi
fi

# check_version NAME PROGRAM WANT: PROGRAM --version exits 0 and prints
# exactly the line WANT (an extended regular expression, anchored).
check_version() {
    if ! out=$("$2" --version 2>&1); then
        bad "$1: --version exits $?: $out"
    elif printf '%s\n' "$out" | grep -Eqx -- "$3" && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ]; then
        ok "$1: $out"
    else
        bad "$1: --version printed \"$out\", want /$3/"
    fi
}

# Dots in versions are literal.
re_version=$(printf '%s' "$version" | sed 's/\./\\./g')
re_mbedtls=$(printf '%s' "$mbedtls" | sed 's/\./\\./g')
# MBEDTLS_VERSION_STRING_FULL: "mbed TLS 2.28.3", "Mbed TLS 3.6.2".
check_version "smtpmail-send --version" "$B/smtpmail-send" \
    "smtpmail-send $re_version \\([Mm]bed TLS $re_mbedtls\\)"
check_version "smtpmail-send --version, SMTPMAIL_NO_TLS build" "$B/smtpmail-send-notls" \
    "smtpmail-send $re_version \\(no TLS\\)"
if "$B/smtpmail-send" --help | grep -q -- '^  --version  '; then
    ok "--help lists --version"
else
    bad "--help does not list --version"
fi

summary

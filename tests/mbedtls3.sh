#!/bin/sh
# `make mbedtls3`: the whole `make test` suite again, with every C program
# built against the mbedTLS 3.6 that tests/mbedtls.sh host built, after a
# check that the programs really get 3.6. Ends with "N passed, N failed".
# Usage: tests/mbedtls3.sh MAKE BUILD PREFIX
#   BUILD   where the programs go (the Makefile: build/mbedtls3)
#   PREFIX  the 3.6 build (the Makefile: build/mbedtls-3.6/host)
set -u
MAKE=$1
B=$2
P=$(cd "$3" && pwd) || exit 1
libs="$P/lib/libmbedtls.a $P/lib/libmbedx509.a $P/lib/libmbedcrypto.a"
. "$(dirname "$0")/counts.sh" # ok, bad, tally, summary

# Compilers search CPATH as if it were given with -I, after the command
# line's own -I. (which holds no mbedtls/) and before /usr/include, where
# Debian's 2.28 headers are. So every rule of the Makefile, the C++ test
# and the fuzz targets included, compiles against the 3.6 headers.
CPATH=$P/include${CPATH:+:$CPATH}
export CPATH
# tests/real_smtp.py: the server must have seen TLS 1.3 (3.6 offers it).
SMTPMAIL_EXPECT_TLS=TLSv1.3
export SMTPMAIL_EXPECT_TLS
mkdir -p "$B"

echo "== mbedTLS 3.6: headers and library of the suite's programs"
if $MAKE --no-print-directory -s BUILD="$B" TLS_LIBS="$libs" "$B/mbedtls_version" &&
    "$B/mbedtls_version" 3.6.; then
    ok "programs built against mbedTLS 3.6"
else
    bad "programs built against mbedTLS 3.6"
fi

echo "== make test, against mbedTLS 3.6 (BUILD=$B)"
log=$B/mbedtls3.log
{ $MAKE --no-print-directory BUILD="$B" TLS_LIBS="$libs" test 2>&1; echo $? >"$log.status"; } |
    tee "$log"
status=$(cat "$log.status" 2>/dev/null || echo 1)
# run.sh's summary is the last such line; make may add its own after it.
tally "make test against mbedTLS 3.6" "$status" "$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)"

echo "mbedtls3: $P"
summary

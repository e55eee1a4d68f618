#!/bin/sh
# Builds mbedTLS 3.6 LTS from Debian's source package (trixie) as static
# libraries, for `make mbedtls3` (TARGET host) and `make windows` (TARGET
# mingw, cross-compiled with x86_64-w64-mingw32-gcc).
#
# Usage: sh tests/mbedtls.sh host|mingw
#
#   build/mbedtls-src/              the source package, fetched once
#   build/mbedtls-3.6/TARGET/include  headers, with the configuration built
#   build/mbedtls-3.6/TARGET/lib      libmbedtls.a libmbedx509.a libmbedcrypto.a
#
# As root on Debian it adds a deb-src entry for trixie if none gives 3.6
# (/etc/apt/sources.list.d/smtpmail-trixie-src.sources) and installs what
# the build needs; otherwise it prints the exact commands to run and stops.
# A second run with the libraries present only says where they are.
#
# Configuration: 3.6's default mbedtls_config.h (TLS 1.3 on, checked below)
# plus what Debian's debian/rules sets for its own package:
# MBEDTLS_DEPRECATED_WARNING (so -Werror catches deprecated calls),
# MBEDTLS_CMAC_C, MBEDTLS_SSL_DTLS_SRTP and, for host only,
# MBEDTLS_THREADING_C + MBEDTLS_THREADING_PTHREAD (PSA keeps global state).
set -eu

target=${1:-}
case $target in
host)  cc=cc ;;
mingw) cc=x86_64-w64-mingw32-gcc ;;
*)     echo "usage: sh tests/mbedtls.sh host|mingw" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
top=$(pwd)
src_dir=$top/build/mbedtls-src
prefix=$top/build/mbedtls-3.6/$target
libs="libmbedtls.a libmbedx509.a libmbedcrypto.a"

have_libs() {
    [ -f "$prefix/include/mbedtls/version.h" ] || return 1
    for l in $libs; do [ -f "$prefix/lib/$l" ] || return 1; done
}

where() {
    v=$(sed -n 's/^#define MBEDTLS_VERSION_STRING *"\(.*\)"$/\1/p' "$prefix/include/mbedtls/build_info.h")
    echo "mbedtls $v ($target): $prefix/include, $prefix/lib/{$(echo "$libs" | tr ' ' ',')}"
}

if have_libs; then
    where
    exit 0
fi

# ---- what the build needs ------------------------------------------------

# apt's sources.list.d (/etc/apt/sources.list.d unless APT_CONFIG says else).
parts=/etc/apt/sources.list.d/
command -v apt-config >/dev/null 2>&1 && eval "$(apt-config shell parts Dir::Etc::sourceparts/d)"
SOURCES=${parts%/}/smtpmail-trixie-src.sources
# The highest 3.6.x that any deb-src entry offers (empty: none).
src_version() {
    apt-cache showsrc --only-source mbedtls 2>/dev/null |
        sed -n 's/^Version: \(3\.6\.[^ ]*\)$/\1/p' | sort -V | tail -n 1
}

missing=""
need() { # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}
need dpkg-source dpkg-dev
need cmake cmake
need make make
need bzip2 bzip2
need xz xz-utils
need python3 python3  # scripts/config.py
need cc gcc
[ "$target" = mingw ] && need x86_64-w64-mingw32-gcc gcc-mingw-w64-x86-64

version=""
command -v apt-cache >/dev/null 2>&1 && version=$(src_version)

if [ -z "$version" ] || [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "mbedtls.sh: needs root once. Run these, then this script again:" >&2
        if [ -z "$version" ]; then
            cat >&2 <<EOF
    sudo tee $SOURCES >/dev/null <<'END'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
END
    sudo apt-get update
EOF
        fi
        [ -n "$missing" ] && echo "    sudo apt-get install --no-install-recommends$missing" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "$version" ]; then
        echo "mbedtls.sh: adding $SOURCES (deb-src trixie)"
        cat >"$SOURCES" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
        apt-get update -qq
        version=$(src_version)
        [ -n "$version" ] || { echo "mbedtls.sh: no mbedtls 3.6 source package after apt-get update" >&2; exit 1; }
    fi
    if [ -n "$missing" ]; then
        echo "mbedtls.sh: installing$missing"
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
    fi
fi

# ---- the source, once ----------------------------------------------------

tree=$src_dir/mbedtls-${version%%-*}
if [ ! -f "$tree/CMakeLists.txt" ]; then
    mkdir -p "$src_dir"
    dsc=$src_dir/mbedtls_$(echo "$version" | sed 's/^[0-9]*://').dsc
    if [ ! -f "$dsc" ]; then
        echo "mbedtls.sh: fetching the source package mbedtls $version"
        # apt's download user (_apt) must be able to write there.
        dl=$(mktemp -d "$src_dir/dl.XXXXXX")
        chmod 755 "$dl"
        if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$dl"; fi
        (cd "$dl" && apt-get source -qq --download-only "mbedtls=$version")
        mv "$dl"/* "$src_dir"/
        rmdir "$dl"
    fi
    # apt-get source checked the files against the archive's signed
    # Sources index. dpkg-source checks them against the .dsc and applies
    # Debian's patches (a GCC 14 fix; CMake without 3rdparty/, which the
    # default configuration does not use). Its warning that it cannot check
    # the uploader's own signature on the .dsc (that key is in the
    # debian-keyring package) goes to the log with the rest.
    # Unpacked aside and renamed: a host and a mingw build started at once
    # both unpack, and the first rename wins.
    un=$(mktemp -d "$src_dir/unpack.XXXXXX")
    dpkg-source --no-copy -x "$dsc" "$un/tree" >"$un/log" 2>&1 ||
        { cat "$un/log" >&2; rm -rf "$un"; exit 1; }
    mv -T "$un/tree" "$tree" 2>/dev/null || [ -f "$tree/CMakeLists.txt" ]
    rm -rf "$un"
fi

# ---- configure and build -------------------------------------------------

obj=$src_dir/obj-$target
rm -rf "$obj" "$prefix"
mkdir -p "$obj"
config=$obj/mbedtls_config.h
cp "$tree/include/mbedtls/mbedtls_config.h" "$config"
cfgpy() { python3 "$tree/scripts/config.py" -f "$config" "$@"; }
if cfgpy get MBEDTLS_SSL_PROTO_TLS1_3; then
    echo "mbedtls.sh: MBEDTLS_SSL_PROTO_TLS1_3 is on in the default configuration"
else
    echo "mbedtls.sh: MBEDTLS_SSL_PROTO_TLS1_3 was off: turned on with scripts/config.py"
    cfgpy set MBEDTLS_SSL_PROTO_TLS1_3
fi
cfgpy set MBEDTLS_DEPRECATED_WARNING
cfgpy set MBEDTLS_CMAC_C
cfgpy set MBEDTLS_SSL_DTLS_SRTP
if [ "$target" = host ]; then
    cfgpy set MBEDTLS_THREADING_C
    cfgpy set MBEDTLS_THREADING_PTHREAD
fi

cross=""
[ "$target" = mingw ] && cross="-DCMAKE_SYSTEM_NAME=Windows"
jobs=$(nproc 2>/dev/null || echo 2)
echo "mbedtls.sh: building mbedtls ${version%%-*} for $target with $cc ($jobs jobs)"
start=$(date +%s)
# shellcheck disable=SC2086
cmake -S "$tree" -B "$obj" $cross -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
    -DMBEDTLS_CONFIG_FILE="$config" -DENABLE_PROGRAMS=OFF -DENABLE_TESTING=OFF \
    -DUSE_STATIC_MBEDTLS_LIBRARY=ON -DUSE_SHARED_MBEDTLS_LIBRARY=OFF -DGEN_FILES=OFF \
    >"$obj/configure.log" 2>&1 || { cat "$obj/configure.log" >&2; exit 1; }
cmake --build "$obj" --parallel "$jobs" >"$obj/build.log" 2>&1 ||
    { tail -n 40 "$obj/build.log" >&2; exit 1; }
cmake --install "$obj" >"$obj/install.log" 2>&1 || { cat "$obj/install.log" >&2; exit 1; }
# The installed headers must describe the libraries as built: the same
# configuration, without MBEDTLS_CONFIG_FILE on every compiler line.
cp "$config" "$prefix/include/mbedtls/mbedtls_config.h"

# TLS 1.3 must be there, as a compiler sees the installed headers.
printf '%s\n' '#include <mbedtls/build_info.h>' '#include <mbedtls/ssl.h>' \
    '#if !defined(MBEDTLS_SSL_PROTO_TLS1_3) || !defined(MBEDTLS_SSL_PROTO_TLS1_2)' \
    '#error "TLS 1.2 and 1.3 must both be on"' '#endif' 'int smtpmail_check(void);' \
    'int smtpmail_check(void) { return MBEDTLS_VERSION_NUMBER; }' >"$obj/check.c"
"$cc" -I"$prefix/include" -c "$obj/check.c" -o "$obj/check.o"
have_libs || { echo "mbedtls.sh: the build left no $libs in $prefix/lib" >&2; exit 1; }
echo "mbedtls.sh: built in $(($(date +%s) - start)) s, TLS 1.2 and 1.3 on"
where

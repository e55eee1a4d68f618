#!/bin/sh
# The command-line tool as it ships (make test runs this):
#   - `smtpmail-send --version` names the library and the mbedTLS it was
#     built with (the TLS build and the SMTPMAIL_NO_TLS one);
#   - `make install DESTDIR=tmp` installs exactly smtpmail.h, smtpmail-send
#     and smtpmail-send.1 under tmp/usr/local (PREFIX honoured too), the
#     installed tool runs, and `make uninstall` takes the three away;
#   - the man page (doc/smtpmail-send.1) reads without a warning (mandoc
#     -Tlint, else groff -z -ww -man), names smtpmail.h's version, and lists
#     the same flags as --help.
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

page=doc/smtpmail-send.1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/smtpmail-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# installed DIR PREFIX: make install DESTDIR=DIR [PREFIX=PREFIX] puts
# exactly the three files under DIR/PREFIX, as they are in the tree.
installed() { # installed DIR PREFIX [MAKE ARGS...]
    dir=$1 prefix=$2
    shift 2
    if ! out=$($MAKE --no-print-directory -s BUILD="$B" DESTDIR="$dir" "$@" install 2>&1); then
        bad "make install DESTDIR=$dir${*:+ $*}: $out"
        return 1
    fi
    got=$(cd "$dir" && find . ! -type d | sort | tr '\n' ' ')
    want=".$prefix/bin/smtpmail-send .$prefix/include/smtpmail.h .$prefix/share/man/man1/smtpmail-send.1 "
    if [ "$got" != "$want" ]; then
        bad "make install DESTDIR=$dir${*:+ $*}: installed $got, want $want"
        return 1
    fi
    if cmp -s smtpmail.h "$dir$prefix/include/smtpmail.h" &&
        cmp -s "$B/smtpmail-send" "$dir$prefix/bin/smtpmail-send" &&
        cmp -s "$page" "$dir$prefix/share/man/man1/smtpmail-send.1" &&
        [ -x "$dir$prefix/bin/smtpmail-send" ] &&
        [ "$(ls -l "$dir$prefix/include/smtpmail.h" | cut -c1-10)" = "-rw-r--r--" ] &&
        [ "$(ls -l "$dir$prefix/share/man/man1/smtpmail-send.1" | cut -c1-10)" = "-rw-r--r--" ]; then
        ok "make install DESTDIR=\$tmp/${dir##*/}${*:+ $*}: exactly the header (0644), smtpmail-send (executable) and its man page (0644), as built"
    else
        bad "make install DESTDIR=$dir${*:+ $*}: a file differs from the tree's, or its mode is wrong: $(ls -l "$dir$prefix"/*/* "$dir$prefix"/share/man/man1/*)"
    fi
}

if installed "$tmp/stage" /usr/local; then
    check_version "installed smtpmail-send --version" "$tmp/stage/usr/local/bin/smtpmail-send" \
        "smtpmail-send $re_version \\([Mm]bed TLS $re_mbedtls\\)"
    if out=$($MAKE --no-print-directory -s BUILD="$B" DESTDIR="$tmp/stage" uninstall 2>&1) &&
        [ -z "$(find "$tmp/stage" ! -type d)" ]; then
        ok "make uninstall DESTDIR=\$tmp/stage: no file left"
    else
        bad "make uninstall DESTDIR=$tmp/stage: $out $(find "$tmp/stage" ! -type d)"
    fi
fi
installed "$tmp/opt" /opt/smtpmail PREFIX=/opt/smtpmail

# The page reads without a warning.
if command -v mandoc >/dev/null 2>&1; then
    lint="mandoc -T lint -W warning"
elif command -v groff >/dev/null 2>&1; then
    lint="groff -z -ww -man"
else
    lint=""
    echo "skip man page lint: neither mandoc nor groff is installed (apt-get install mandoc)"
fi
if [ -n "$lint" ]; then
    # shellcheck disable=SC2086
    if out=$($lint "$page" 2>&1) && [ -z "$out" ]; then
        ok "man page: $lint $page: no warning"
    else
        bad "man page: $lint $page: $out"
    fi
fi

th=$(sed -n 's/^\.TH SMTPMAIL-SEND 1 [^ ]* "smtpmail\.h \([^"]*\)".*/\1/p' "$page")
if [ -n "$th" ] && [ "$th" = "$version" ]; then
    ok "man page: .TH names smtpmail.h $th"
else
    bad "man page: .TH names smtpmail.h \"$th\", smtpmail.h is $version"
fi

# The flags --help lists (the option lines, before their descriptions) and
# the ones the page's OPTIONS section gives an entry (.TP, then the flags in
# bold), as two sorted lists.
help_flags=$("$B/smtpmail-send" --help | grep -E '^  -' | sed 's/  [^-].*$//' |
    grep -oE -- '-{1,2}[a-z0-9][a-z0-9-]*' | sort -u | tr '\n' ' ')
page_flags=$(sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$page" | sed -n '/^\.TP/{n;p;}' |
    sed 's/\\-/-/g; s/\\f[BIR]//g; s/^\.[A-Z]* //' | grep -oE -- '(^|[ ,"])-{1,2}[a-z0-9][a-z0-9-]*' |
    sed 's/^[ ,"]//' | sort -u | tr '\n' ' ')
if [ -n "$help_flags" ] && [ "$help_flags" = "$page_flags" ]; then
    ok "man page OPTIONS and --help list the same flags: $help_flags"
else
    bad "man page OPTIONS list $page_flags; --help lists $help_flags"
fi

summary

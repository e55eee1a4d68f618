#!/bin/sh
# make embedded-check: the implementation cross-compiled for a Cortex-M4
# (arm-none-eabi-gcc, newlib) with SMTPMAIL_NO_SOCKETS + SMTPMAIL_NO_STDIO
# and the project's warnings as errors, its code size per configuration,
# and a firmware-shaped program linked with newlib-nano + libnosys.
# Usage: tests/embedded.sh OUT-DIR "WARNING FLAGS"
# Any compiler or linker message fails the check, warnings included.
set -eu
OUT=${1:-build/embedded}
WARN=${2:-}
CROSS=arm-none-eabi-
CPU="-mcpu=cortex-m4 -mthumb"
CFLAGS="-std=c99 $WARN -Werror $CPU -Os -ffunction-sections -fdata-sections"

# The toolchain: Debian's packages, installed as tests/deps.sh does.
if ! command -v ${CROSS}gcc >/dev/null 2>&1 ||
    [ ! -f /usr/lib/arm-none-eabi/newlib/thumb/v7e-m/nofp/libc_nano.a ]; then
    pkgs="gcc-arm-none-eabi libnewlib-arm-none-eabi"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "embedded: installing $pkgs"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
    else
        echo "embedded: missing the cross toolchain. Install it with:" >&2
        echo "    sudo apt-get install $pkgs" >&2
        exit 1
    fi
fi

mkdir -p "$OUT/include"
# mbedTLS headers alone: /usr/include holds glibc's too, which must stay out
# of a newlib build, so only the mbedtls/ and psa/ directories are copied.
rm -rf "$OUT/include/mbedtls" "$OUT/include/psa"
cp -R /usr/include/mbedtls "$OUT/include/mbedtls"
[ -d /usr/include/psa ] && cp -R /usr/include/psa "$OUT/include/psa"
TLSFLAGS="-isystem $OUT/include -Itests -DMBEDTLS_USER_CONFIG_FILE=\"embedded_mbedtls_user.h\""

# quiet COMMAND...: runs it; any output (a warning too) fails the check.
quiet() {
    if ! msg=$("$@" 2>&1) || [ -n "$msg" ]; then
        printf '%s\n' "$msg" >&2
        echo "embedded: FAILED: $*" >&2
        exit 1
    fi
}

# compile NAME EXTRA-FLAGS: tests/embedded_impl.c into $OUT/NAME.o
compile() {
    # shellcheck disable=SC2086
    quiet ${CROSS}gcc $CFLAGS -I. $2 -c tests/embedded_impl.c -o "$OUT/$1.o"
}

# The object must not reach for files or sockets.
no_files() { # no_files NAME
    bad=$(${CROSS}nm -u "$OUT/$1.o" | awk '{print $2}' |
        grep -E '^(fopen|fread|fwrite|fclose|opendir|socket|connect|getaddrinfo|poll|gethostname)$' || true)
    if [ -n "$bad" ]; then
        echo "embedded: $1.o references $(echo $bad)" >&2
        exit 1
    fi
}

compile notls "-DSMTPMAIL_NO_TLS"
no_files notls
compile tls "$TLSFLAGS"
no_files tls
# Most embedded mbedTLS configurations have no MBEDTLS_FS_IO (no files).
if grep -q 'MBEDTLS_FS_IO' smtpmail.h; then
    compile tls-nofs "$TLSFLAGS -DSMTPMAIL_EMBEDDED_NO_FS_IO"
    no_files tls-nofs
    nofs=tls-nofs
else
    echo "skip tls-nofs: this smtpmail.h calls mbedtls_x509_crt_parse_file unconditionally"
    nofs=
fi

# The firmware: the library without TLS plus tests/embedded_firmware.c,
# linked with newlib-nano and libnosys; a linker warning fails too.
# shellcheck disable=SC2086
quiet ${CROSS}gcc $CFLAGS -I. -DSMTPMAIL_NO_TLS -c tests/embedded_firmware.c -o "$OUT/firmware.o"
# shellcheck disable=SC2086
quiet ${CROSS}gcc $CPU --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections \
    -Wl,--fatal-warnings -Wl,-Map="$OUT/firmware.map" \
    "$OUT/firmware.o" "$OUT/notls.o" -o "$OUT/firmware.elf"

echo "arm-none-eabi-gcc $(${CROSS}gcc -dumpversion), $CPU -Os, newlib; tests/embedded_impl.c:"
echo "  config          text    data     bss"
for n in notls tls $nofs; do
    ${CROSS}size "$OUT/$n.o" | awk -v n="$n" 'NR == 2 {printf "  %-10s %9s %7s %7s\n", n ".o", $1, $2, $3}'
done
${CROSS}size "$OUT/firmware.elf" |
    awk 'NR == 2 {printf "  %-10s %9s %7s %7s  (linked: library + newlib-nano + tests/embedded_firmware.c)\n", "firmware", $1, $2, $3}'
# The system calls the program reaches with no libnosys: all that is left
# for a firmware to provide (libnosys stubs them here).
calls=$(LC_ALL=C ${CROSS}gcc $CPU --specs=nano.specs -Wl,--gc-sections "$OUT/firmware.o" "$OUT/notls.o" \
    -o "$OUT/firmware-nosyscalls.elf" 2>&1 | sed -n "s/.*undefined reference to \`\([^']*\)'.*/\1/p" | sort -u | tr '\n' ' ')
echo "  system calls left to libnosys: ${calls:-none}"
# What the library needs from outside itself, besides the compiler's helpers.
echo "  undefined in notls.o: $(${CROSS}nm -u "$OUT/notls.o" | awk '$2 !~ /^__aeabi_/ {print $2}' | tr '\n' ' ')"
echo "embedded: ok (no warnings; no file or socket calls)"

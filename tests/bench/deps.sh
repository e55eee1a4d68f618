#!/bin/sh
# What `make bench` needs beyond `make test`'s tools (tests/deps.sh). As root
# on Debian or Ubuntu it installs what is missing with apt-get; otherwise it
# prints the exact command and stops.
#
# Postfix is installed only for /usr/sbin/smtp-sink (a plain binary; no
# daemon has to run). Its debconf question is answered "No configuration",
# so no MTA is set up or started.
set -eu

missing=""
need() { # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}
need cc gcc
need size binutils
need openssl openssl
need curl curl
need msmtp msmtp
need base64 coreutils
[ -x /usr/bin/time ] || missing="$missing time"
[ -x /usr/sbin/smtp-sink ] || missing="$missing postfix"
[ -x /usr/bin/python3 ] || missing="$missing python3"
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || missing="$missing python3-aiosmtpd"
[ -f /usr/include/mbedtls/ssl.h ] || missing="$missing libmbedtls-dev"

[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    case "$missing" in
    *postfix*)
        echo "postfix postfix/main_mailer_type select No configuration" |
            debconf-set-selections ;;
    esac
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    exit 0
fi
echo "bench deps: missing$missing. Install them with:" >&2
case "$missing" in
*postfix*)
    echo "    echo 'postfix postfix/main_mailer_type select No configuration' | sudo debconf-set-selections" >&2 ;;
esac
echo "    sudo DEBIAN_FRONTEND=noninteractive apt-get install --no-install-recommends$missing" >&2
exit 1

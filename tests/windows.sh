#!/bin/sh
# make windows: the Windows build, tested for real under wine.
# Usage: [BUILD=dir] [MINGW_CC=...] [MINGW_CXX=...] sh tests/windows.sh MAKE PYTHON
#
# 1. Installs what is missing (as root, with apt-get; otherwise prints the
#    command): MinGW-w64's C and C++ compilers (win32 threads), wine, wine64.
# 2. Builds mbedTLS 3.6 for MinGW (tests/mbedtls.sh mingw) and, with it,
#    static .exe files into BUILD/windows: test_main, test_smtp, test_outbox (the offline
#    suites), cpp_test (the header as C++), smtpmail-send, and win_rootstore
#    (puts a CA into the ROOT store); and the outbox's object (compiled only).
# 3. Under wine (prefix BUILD/windows/prefix, made on first use; no display):
#    the offline suites and cpp_test; then loopback deliveries by smtpmail-send.exe to
#    tests/smtpd.py (aiosmtpd) with a throwaway CA from tests/mkcerts.sh:
#    --ca-file over implicit TLS and STARTTLS, a wrong CA, the right and a
#    wrong pin, and no --ca-file at all, where the trust is the Windows ROOT
#    store: refused while the test CA is not in it, delivered once
#    win_rootstore.exe put it there, refused again once it took it out.
#    What arrived is judged by Python's email package and the server's own
#    records, never by the sender's output.
# Each build, suite test and case counts; the last line is
# "N passed, M failed", and the exit status is non-zero on any failure.
# Stops what it started: the server, and wine's wineserver for the prefix.
set -u
MAKE=${1:-make}
PYTHON=${2:-/usr/bin/python3}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 1
B=${BUILD:-build}
case $B in /*) absb=$B ;; *) absb=$here/$B ;; esac
W=$absb/windows
MINGW_CC=${MINGW_CC:-x86_64-w64-mingw32-gcc-win32}
MINGW_CXX=${MINGW_CXX:-x86_64-w64-mingw32-g++-win32}
. tests/counts.sh # ok, bad, tally, summary
finish() {
    summary
    exit
}

echo "== tools: MinGW-w64 (win32 threads), wine"
missing=""
command -v "$MINGW_CC" >/dev/null 2>&1 || missing="$missing gcc-mingw-w64-x86-64-win32"
command -v "$MINGW_CXX" >/dev/null 2>&1 || missing="$missing g++-mingw-w64-x86-64-win32"
command -v wine >/dev/null 2>&1 || missing="$missing wine"
[ -x /usr/lib/wine/wine64 ] || missing="$missing wine64"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
"$PYTHON" -c 'import aiosmtpd' >/dev/null 2>&1 || missing="$missing python3-aiosmtpd"
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing$missing"
        export DEBIAN_FRONTEND=noninteractive
        # shellcheck disable=SC2086
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null; } ||
            { bad "apt-get install$missing"; finish; }
    else
        echo "missing$missing; install them with:" >&2
        echo "    sudo apt-get install$missing" >&2
        bad "tools missing:$missing"
        finish
    fi
fi
"$MINGW_CC" --version | head -n 1
WINEDEBUG=-all wine --version

echo "== build: mbedTLS 3.6 for MinGW, static .exe files, -Werror"
for t in test_main.exe test_smtp.exe test_outbox.exe cpp_test.exe smtpmail-send.exe \
    win_rootstore.exe outbox_impl.o; do
    if "$MAKE" --no-print-directory -s BUILD="$B" MINGW_CC="$MINGW_CC" MINGW_CXX="$MINGW_CXX" \
        "$B/windows/$t"; then
        ok "build: $t"
    else
        bad "build: $t"
    fi
done
# Static means no MinGW runtime DLL beside the .exe: only Windows' own.
for t in test_main test_smtp test_outbox cpp_test smtpmail-send win_rootstore; do
    [ -f "$W/$t.exe" ] || continue
    dlls=$(x86_64-w64-mingw32-objdump -p "$W/$t.exe" | sed -n 's/^[[:space:]]*DLL Name: //p' | tr '\n' ' ')
    case $(printf '%s' "$dlls" | tr '[:upper:]' '[:lower:]') in
    *libwinpthread* | *libgcc* | *libmbed* | *libstdc*) bad "$t.exe is not static: $dlls" ;;
    *) ok "$t.exe imports only system DLLs: $dlls" ;;
    esac
done

# wine, quietly and without a display; its own prefix under BUILD.
export WINEPREFIX="$W/prefix" WINEDEBUG=-all WINEARCH=win64
# No Mono or Gecko installers when the prefix is made (a console program
# needs neither).
export WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY SSL_CERT_FILE SSL_CERT_DIR
tmp=""
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    pid=""
    [ -d "$WINEPREFIX" ] && wineserver -k 2>/dev/null
    [ -n "$tmp" ] && rm -rf "$tmp"
    tmp=""
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# A Unix path as Windows sees it: wine's drive Z: is /.
winpath() { printf 'Z:%s' "$1" | sed 's|/|\\|g'; }

echo "== wine prefix $WINEPREFIX"
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    start=$(date +%s)
    # wineboot returns before wineserver has saved the registry: wait for it.
    if timeout 300 wine wineboot -i >/dev/null 2>&1 && timeout 60 wineserver -w &&
        [ -f "$WINEPREFIX/system.reg" ]; then
        ok "wine prefix created in $(($(date +%s) - start)) s"
    else
        bad "wine prefix: wineboot -i failed"
        finish
    fi
fi

# A suite prints "N passed, M failed" last; its counts are added to ours.
suite() { # suite NAME EXE
    name=$1
    [ -f "$2" ] || { bad "$name: $2 missing"; return; }
    # From C:\, so that nothing in the suite reaches the Unix tree by luck.
    out=$(cd "$WINEPREFIX/drive_c" && timeout 300 wine "$2" 2>&1; echo "exit $?")
    out=$(printf '%s\n' "$out" | tr -d '\r')
    status=$(printf '%s\n' "$out" | tail -n 1 | sed 's/^exit //')
    out=$(printf '%s\n' "$out" | sed '$d')
    printf '%s\n' "$out"
    tally "$name" "$status" "$out"
}

echo "== unit tests (test_main.exe under wine)"
suite "unit tests (wine)" "$W/test_main.exe"
echo "== SMTP engine, scripted server (test_smtp.exe under wine)"
suite "SMTP engine (wine)" "$W/test_smtp.exe"
echo "== the outbox: Win32 worker thread, spool, backoff, digest (test_outbox.exe under wine)"
suite "outbox (wine)" "$W/test_outbox.exe"

echo "== the header as C++ (cpp_test.exe under wine)"
if [ -f "$W/cpp_test.exe" ]; then
    if out=$(cd "$WINEPREFIX/drive_c" && timeout 120 wine "$W/cpp_test.exe" 2>&1); then
        ok "C++ render (wine)"
    else
        printf '%s\n' "$out"
        bad "C++ render (wine)"
    fi
fi

echo "== loopback: smtpmail-send.exe under wine -> aiosmtpd (tests/smtpd.py)"
if [ ! -f "$W/smtpmail-send.exe" ] || [ ! -f "$W/win_rootstore.exe" ]; then
    bad "loopback: smtpmail-send.exe or win_rootstore.exe missing"
    finish
fi
tmp=$(mktemp -d "$W/run.XXXXXX")
if ! sh tests/mkcerts.sh "$tmp/certs" ||
    ! openssl x509 -in "$tmp/certs/ca.pem" -outform der -out "$tmp/certs/ca.der"; then
    bad "loopback: tests/mkcerts.sh"
    finish
fi
"$PYTHON" tests/smtpd.py --certs "$tmp/certs" --maildir "$tmp/mail" --only tls,starttls \
    --no-stdin >"$tmp/ports" 2>"$tmp/smtpd.log" &
pid=$!
i=0
while [ ! -s "$tmp/ports" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
tls_port=$(sed -n 's/.*"tls": *\([0-9]*\).*/\1/p' "$tmp/ports")
starttls_port=$(sed -n 's/.*"starttls": *\([0-9]*\).*/\1/p' "$tmp/ports")
if [ -z "$tls_port" ] || [ -z "$starttls_port" ]; then
    bad "loopback: smtpd.py did not start: $(tail -n 5 "$tmp/smtpd.log")"
    finish
fi

# The message: what a trading bot sends, Chinese included, and an
# attachment whose bytes (CR, LF, ^Z, NUL, high bytes) must arrive as they are.
SUBJECT='交易信号：买入 rb2405 @ 3650（Windows）'
printf '信号：买入 rb2405 @ 3650\n策略：突破-15分钟\n' >"$tmp/body.txt"
printf 'date,symbol,side\r\n2024-01-02,rb2405,买入\n\032\000\377 end\r\n' >"$tmp/fills.bin"
ATTACH_NAME='成交回报.csv'
attach="$(winpath "$tmp/fills.bin");name=$ATTACH_NAME;type=text/csv"

# send LOG ARGS...: smtpmail-send.exe with the message; its exit status.
send() {
    log=$1
    shift
    (cd "$WINEPREFIX/drive_c" && SMTPMAIL_PASSWORD=s3cret-authcode timeout 120 wine "$W/smtpmail-send.exe" \
        --timeout 20 --from "交易提醒机器人 <bot@example.com>" --to "交易员 <trader@example.com>" \
        --bcc boss@example.com --subject "$SUBJECT" --text-file "$(winpath "$tmp/body.txt")" \
        --attach "$attach" "$@") >"$log" 2>&1
    st=$?
    tr -d '\r' <"$log" >"$log.lf" && mv "$log.lf" "$log"
    return $st
}

count() { find "$tmp/mail/$1" -name '*.eml' 2>/dev/null | wc -l | tr -d ' '; }

# judge SERVER TLS-MODE N: the N-th message of SERVER is ours, complete.
judge() {
    "$PYTHON" - "$tmp/mail/$1/$3.eml" "$tmp/mail/$1/$3.json" "$2" "$SUBJECT" "$tmp/body.txt" \
        "$tmp/fills.bin" "$ATTACH_NAME" <<'EOF'
import email, email.policy, json, sys
eml, side, mode, subject, body, att, att_name = sys.argv[1:]
msg = email.message_from_bytes(open(eml, 'rb').read(), policy=email.policy.default)
meta = json.load(open(side))
want_body = open(body, encoding='utf-8').read()
problems = []
if str(msg['subject']) != subject: problems.append('subject %r' % str(msg['subject']))
if str(msg['to']) != '交易员 <trader@example.com>': problems.append('to %r' % str(msg['to']))
if msg['bcc'] is not None: problems.append('Bcc header written')
if sorted(meta['rcpt_tos']) != ['boss@example.com', 'trader@example.com']:
    problems.append('rcpt_tos %r' % meta['rcpt_tos'])
if meta['auth_user'] != 'bot@example.com': problems.append('auth_user %r' % meta['auth_user'])
if meta['tls'] != mode: problems.append('tls %r, want %r' % (meta['tls'], mode))
text = msg.get_body(('plain',))
text = text.get_content().replace('\r\n', '\n') if text else None
if text != want_body: problems.append('text %r' % text)
atts = list(msg.iter_attachments())
if len(atts) != 1 or atts[0].get_filename() != att_name or \
        atts[0].get_content_type() != 'text/csv' or \
        atts[0].get_payload(decode=True) != open(att, 'rb').read():
    problems.append('attachment %r' % [(a.get_filename(), a.get_payload(decode=True)) for a in atts])
print('; '.join(problems))
sys.exit(1 if problems else 0)
EOF
}

# delivered NAME SERVER TLS-MODE ARGS...: exit 0 and exactly our message stored.
delivered() {
    name=$1 server=$2 mode=$3
    shift 3
    before=$(count "$server")
    if send "$tmp/log" "$@"; then
        after=$(count "$server")
        if [ "$after" != $((before + 1)) ]; then
            bad "$name: exit 0 but $((after - before)) messages stored"
        elif why=$(judge "$server" "$mode" "$after"); then
            ok "$name"
        else
            bad "$name: $why"
        fi
    else
        bad "$name: exit $?: $(tail -n 3 "$tmp/log")"
    fi
}

# refused NAME SERVER EXPECT ARGS...: exit 3 (TLS), output containing
# EXPECT, and nothing stored.
refused() {
    name=$1 server=$2 expect=$3
    shift 3
    before=$(count "$server")
    send "$tmp/log" "$@"
    st=$?
    after=$(count "$server")
    if [ "$st" != 3 ]; then
        bad "$name: exit $st, want 3: $(tail -n 3 "$tmp/log")"
    elif [ "$after" != "$before" ]; then
        bad "$name: refused, yet $((after - before)) messages stored"
    elif ! grep -q -- "$expect" "$tmp/log"; then
        bad "$name: no \"$expect\" in: $(tail -n 3 "$tmp/log")"
    else
        ok "$name: $(tail -n 1 "$tmp/log")"
    fi
}

ca=$(winpath "$tmp/certs/ca.pem")
tls_url="smtps://localhost:$tls_port"
delivered "implicit TLS, --ca-file: delivered" tls implicit --url "$tls_url" --ca-file "$ca"
delivered "STARTTLS, --ca-file: delivered" starttls starttls \
    --url "smtp://localhost:$starttls_port" --ca-file "$ca"
refused "a CA that did not sign the server: refused" tls "not signed by a trusted CA" \
    --url "$tls_url" --ca-file "$(winpath "$tmp/certs/other-ca.pem")"
delivered "the server's key pin alone: delivered" tls implicit \
    --url "$tls_url" --pin "sha256//$(cat "$tmp/certs/server.pubkey.sha256")"
refused "a wrong pin: refused" tls "does not match config.pin_sha256" \
    --url "$tls_url" --pin "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
# The file's own name, in Chinese, names the attachment: the UTF-8 path must
# open (Windows' fopen would take it in the ANSI code page).
if grep -q _wfopen smtpmail.h; then
    cp "$tmp/fills.bin" "$tmp/$ATTACH_NAME"
    attach=$(winpath "$tmp/$ATTACH_NAME")
    delivered "an attachment from a path in Chinese: delivered" tls implicit \
        --url "$tls_url" --ca-file "$ca"
    attach="$(winpath "$tmp/fills.bin");name=$ATTACH_NAME;type=text/csv"
else
    echo "skip an attachment from a path in Chinese: smtpmail.h opens files with fopen," \
        "which takes the ANSI code page on Windows (no _wfopen in the header yet)"
fi

echo "== the Windows ROOT store as the trust (no --ca-file, no SSL_CERT_FILE)"
der=$(winpath "$tmp/certs/ca.der")
store() { # store add|remove|has: win_rootstore.exe's output, exit status kept
    (cd "$WINEPREFIX/drive_c" && timeout 60 wine "$W/win_rootstore.exe" "$1" "$der") >"$tmp/store" 2>&1
    st=$?
    tr -d '\r' <"$tmp/store"
    return $st
}
if out=$(store has); then
    bad "ROOT store: the new test CA is there before it was added: $out"
else
    ok "ROOT store without the test CA: $out"
fi
refused "test CA not in the ROOT store: refused" tls "not signed by a trusted CA" --url "$tls_url"
if store add >/dev/null && out=$(store has); then
    ok "win_rootstore.exe add: the test CA is in the ROOT store: $out"
    delivered "test CA in the ROOT store: delivered" tls implicit --url "$tls_url"
    if store remove >/dev/null && ! out=$(store has); then
        ok "win_rootstore.exe remove: $out"
        refused "test CA taken out of the ROOT store: refused again" tls \
            "not signed by a trusted CA" --url "$tls_url"
    else
        bad "win_rootstore.exe remove: $out"
    fi
else
    bad "win_rootstore.exe add: $(cat "$tmp/store")"
fi

cleanup
finish

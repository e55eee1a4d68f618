#!/bin/sh
# make demo: the main job, end to end, with no account anywhere. A local SMTP
# server (Debian's aiosmtpd) with a throwaway CA listens on 127.0.0.1 with
# implicit TLS and AUTH, like smtp.qq.com:465. smtpmail-send delivers a
# trading alert to it (Chinese subject, text + HTML, a CSV of fills), then
# the message that arrived is shown as a mail client decodes it.
# Usage: examples/demo.sh build/smtpmail-send [python3]
set -eu
TOOL=$1
PYTHON=${2:-/usr/bin/python3}
here=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

sh "$here/tests/mkcerts.sh" "$dir/certs"
"$PYTHON" "$here/tests/smtpd.py" --certs "$dir/certs" --maildir "$dir/mail" --only tls \
    --no-stdin > "$dir/ports" &
pid=$!
i=0
while [ ! -s "$dir/ports" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
port=$(sed -n 's/.*"tls": *\([0-9]*\).*/\1/p' "$dir/ports")
[ -n "$port" ] || { echo "demo: the local SMTP server did not start" >&2; exit 1; }

cat > "$dir/fills.csv" <<'CSV'
time,symbol,side,price,qty
2026-11-22 09:30:01,rb2405,BUY,3650,10
2026-11-22 09:30:02,rb2405,BUY,3651,5
CSV

echo "=== Sending an alert to a local SMTP server (smtps://localhost:$port, TLS + AUTH)"
echo "    The transcript (-v): note the password shown as <redacted>."
SMTPMAIL_PASSWORD=s3cret-authcode "$TOOL" -v \
    --url "smtps://localhost:$port" --ca-file "$dir/certs/ca.pem" \
    --from "量化机器人 <bot@example.com>" \
    --to "交易员 <trader@qq.com>" \
    --subject "交易信号：买入 rb2405 @ 3650" \
    --text "信号：买入 rb2405 @ 3650
策略：breakout-15m
成交明细见附件。" \
    --html "<p><b>买入</b> rb2405 @ 3650</p><p>策略：breakout-15m</p>" \
    --attach "$dir/fills.csv;name=成交明细.csv" \
    --header "X-Strategy: breakout-15m" 2>&1 | sed 's/^/    /'
echo
echo "=== What arrived, as a mail client shows it (decoded by Python's email package)"
"$PYTHON" "$here/examples/show_mail.py" "$dir/mail/tls/1.eml"
echo
echo "=== For real: QQ Mail (password = the authorization code from Settings -> 第三方服务)"
echo "    SMTPMAIL_PASSWORD=... $TOOL --from you@qq.com --to you@qq.com --subject 测试 --text hello"

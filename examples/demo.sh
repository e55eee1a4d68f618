#!/bin/sh
# make demo: build a trading alert the way a bot would (Chinese subject, plain
# text + HTML, a CSV of fills attached), render it with smtpmail-send
# --dry-run, then show it as a mail client would, decoded by Python's email
# package. Nothing is sent: the SMTP side arrives with the next release.
# Usage: examples/demo.sh build/smtpmail-send [python3]
set -eu
TOOL=$1
PYTHON=${2:-/usr/bin/python3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cat > "$dir/fills.csv" <<'CSV'
time,symbol,side,price,qty
2026-11-22 09:30:01,rb2405,BUY,3650,10
2026-11-22 09:30:02,rb2405,BUY,3651,5
CSV

"$TOOL" --dry-run \
    --from "量化机器人 <bot@example.com>" \
    --to "交易员 <trader@qq.com>" \
    --subject "交易信号：买入 rb2405 @ 3650" \
    --text "信号：买入 rb2405 @ 3650
策略：breakout-15m
成交明细见附件。" \
    --html "<p><b>买入</b> rb2405 @ 3650</p><p>策略：breakout-15m</p>" \
    --attach "$dir/fills.csv;name=成交明细.csv" \
    --header "X-Strategy: breakout-15m" > "$dir/alert.eml"

echo "=== The message as it goes on the wire (first 40 lines of $(wc -c < "$dir/alert.eml") bytes)"
head -n 40 "$dir/alert.eml" | tr -d '\r'
echo "..."
echo
echo "=== The same message as a mail client shows it (Python's email package)"
"$PYTHON" "$(dirname "$0")/show_mail.py" "$dir/alert.eml"

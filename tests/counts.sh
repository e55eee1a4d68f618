# tests/counts.sh - the counting that tests/run.sh and tests/windows.sh
# share (sourced, POSIX sh). Each check is one line, "ok   NAME" or
# "FAIL NAME"; a suite's own "N passed, M failed" line is added in; summary
# prints the failures and the closing "N passed, M failed".
passed=0
failed=0
failures=""

ok()  { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); failures="$failures
  $1"; echo "FAIL $1"; }

# tally NAME STATUS OUTPUT: OUTPUT's last line is the suite's counts.
tally() {
    line=$(printf '%s\n' "$3" | tail -n 1)
    p=$(printf '%s' "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(printf '%s' "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then
        bad "$1: no summary line (exit $2)"
        return
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" != 0 ] || [ "$2" != 0 ]; then
        failures="$failures
  $1: $f failed (exit $2)"
        [ "$f" = 0 ] && failed=$((failed + 1))
    fi
}

# The closing lines; the status is 0 only when nothing failed.
summary() {
    [ -n "$failures" ] && printf 'failed:%s\n' "$failures"
    echo "$passed passed, $failed failed"
    [ "$failed" = 0 ]
}

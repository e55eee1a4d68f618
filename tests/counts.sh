# tests/counts.sh - the counting that tests/run.sh and tests/windows.sh
# share (sourced, POSIX sh). Each check is one line, "ok   NAME" or
# "FAIL NAME"; a suite's own "N passed, M failed" line is added in; summary
# prints the failures and the closing "N passed, M failed".
#
# group NAME (optional) files the checks that follow under NAME; summary
# then prints "NAME: N passed, M failed" for each group, in order of first
# use, just before the closing line. The groups add up to the total.
passed=0
failed=0
failures=""
groups=0 # how many groups; group K is named group_name_K, counted in group_pass_K, group_fail_K
group_cur=0

# group NAME: the group of the checks that follow (made on first use).
group() {
    counts_k=1
    while [ "$counts_k" -le "$groups" ]; do
        eval "[ \"\$group_name_$counts_k\" = \"\$1\" ]" && break
        counts_k=$((counts_k + 1))
    done
    if [ "$counts_k" -gt "$groups" ]; then
        groups=$counts_k
        eval "group_name_$counts_k=\$1 group_pass_$counts_k=0 group_fail_$counts_k=0"
    fi
    group_cur=$counts_k
}

# counts_add P F: P more passed and F more failed, in the total and the group.
counts_add() {
    passed=$((passed + $1))
    failed=$((failed + $2))
    [ "$group_cur" = 0 ] && return
    eval "group_pass_$group_cur=\$((group_pass_$group_cur + $1))"
    eval "group_fail_$group_cur=\$((group_fail_$group_cur + $2))"
}

ok()  { counts_add 1 0; echo "ok   $1"; }
bad() { counts_add 0 1; failures="$failures
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
    counts_add "$p" "$f"
    if [ "$f" != 0 ] || [ "$2" != 0 ]; then
        failures="$failures
  $1: $f failed (exit $2)"
        [ "$f" = 0 ] && counts_add 0 1
    fi
}

# The closing lines; the status is 0 only when nothing failed.
summary() {
    [ -n "$failures" ] && printf 'failed:%s\n' "$failures"
    counts_k=1
    while [ "$counts_k" -le "$groups" ]; do
        eval "echo \"\$group_name_$counts_k: \$group_pass_$counts_k passed, \$group_fail_$counts_k failed\""
        counts_k=$((counts_k + 1))
    done
    echo "$passed passed, $failed failed"
    [ "$failed" = 0 ]
}

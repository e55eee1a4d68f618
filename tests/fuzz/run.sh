#!/bin/sh
# Runs the libFuzzer targets built by `make fuzz` / `make fuzz-smoke`.
#   tests/fuzz/run.sh fuzz DIR SECONDS TARGET...
#       each target fuzzes for SECONDS on a copy of its seeds
#       (DIR/corpus-TARGET; tests/ is never written), then prints
#       "fuzz TARGET: E executions in S s, N corpus entries, C crashes"
#       from libFuzzer's final stats.
#   tests/fuzz/run.sh smoke DIR TARGET...
#       each target runs every seed once (no fuzzing).
# Crash, leak and timeout inputs go to DIR/TARGET-*; libFuzzer's output to
# DIR/TARGET.log. Exit status 1 when any target failed.
set -u
mode=$1
dir=$2
shift 2
seconds=60
if [ "$mode" = fuzz ]; then
    seconds=$1
    shift
fi
seeds=tests/fuzz/corpus
status=0

for t in "$@"; do
    log=$dir/$t.log
    rm -f "$dir/$t"-crash-* "$dir/$t"-leak-* "$dir/$t"-timeout-* "$dir/$t"-oom-*
    if [ "$mode" = smoke ]; then
        # shellcheck disable=SC2086
        if "$dir/$t" -artifact_prefix="$dir/$t-" "$seeds/$t"/* >"$log" 2>&1; then
            echo "fuzz-smoke $t: $(ls "$seeds/$t" | wc -l) seeds ok"
        else
            echo "fuzz-smoke $t: FAILED (libFuzzer's output: $log)"
            grep -E 'property violated|ERROR|runtime error|^Running' "$log" | tail -n 5
            status=1
        fi
        continue
    fi
    corpus=$dir/corpus-$t
    rm -rf "$corpus"
    mkdir -p "$corpus"
    cp "$seeds/$t"/* "$corpus"/
    "$dir/$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$dir/$t-" "$corpus" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    entries=$(ls "$corpus" | wc -l)
    crashes=$(ls "$dir/$t"-crash-* "$dir/$t"-leak-* "$dir/$t"-timeout-* "$dir/$t"-oom-* 2>/dev/null | wc -l)
    [ "$rc" != 0 ] && [ "$crashes" = 0 ] && crashes=1
    echo "fuzz $t: ${execs:-0} executions in ${secs:-?} s, $entries corpus entries, $crashes crashes"
    if [ "$crashes" != 0 ]; then
        status=1
        grep -E 'property violated|ERROR|runtime error|Test unit written' "$log" | head -n 5
        echo "    (libFuzzer's output: $log)"
    fi
done
exit $status

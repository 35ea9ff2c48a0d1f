#!/usr/bin/env bash
# Run every fuzz target of tests/fuzz/targets.py for SECONDS each (default 10), one after the
# other on one core:   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Inputs come from tests/fuzz/corpus/<target>/ (the seeds and every crash found so far); new
# interesting inputs go to a temporary folder that is removed at the end.  A crashing input is
# written to tests/fuzz/corpus/<target>/crash-<sha1>, where tests/test_fuzz_replay.py replays
# it from then on: commit it with the fix.  Exits 1 if any target crashed.
#
# Needs atheris (pip install atheris); without it tests/fuzz/run.py runs a plain
# random-mutation loop instead.  PYTHON picks the interpreter (default: python3).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
shift || true
python=${PYTHON:-python3}
# An in-place build (setup.py build_ext --inplace) is used when there is one; otherwise the
# installed package.
if compgen -G "bytepiece_lite/_core*.so" > /dev/null || compgen -G "bytepiece_lite/_core*.pyd" > /dev/null; then
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <("$python" tests/fuzz/run.py --list)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
summary=""
for t in "${targets[@]}"; do
    mkdir -p "$work/$t" "tests/fuzz/corpus/$t"
    log="$work/$t.log"
    "$python" tests/fuzz/run.py "$t" -max_total_time="$seconds" -print_final_stats=1 \
        -rss_limit_mb=4096 -timeout=30 -artifact_prefix="tests/fuzz/corpus/$t/" \
        "$work/$t" "tests/fuzz/corpus/$t" > "$log" 2>&1
    rc=$?
    runs=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1)
    if [ $rc -ne 0 ]; then
        status=1
        echo "=== $t: CRASH (exit $rc) ==="
        tail -40 "$log"
        runs="CRASH, input in tests/fuzz/corpus/$t/"
    fi
    summary+=$(printf '%-14s %s' "$t" "${runs:-?}")$'\n'
done
echo "fuzz: ${seconds} s per target"
printf '%s' "$summary"
exit $status

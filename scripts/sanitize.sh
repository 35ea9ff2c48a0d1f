#!/usr/bin/env bash
# Build the compiled core with AddressSanitizer and UndefinedBehaviorSanitizer (gcc) in a
# temporary copy of this tree and run the test suite, or the pytest arguments given, under it:
#
#   scripts/sanitize.sh                               # all of tests/
#   scripts/sanitize.sh tests/test_core.py -k batch   # a subset
#   JOBS=2 scripts/sanitize.sh                        # in 2 processes at once
#
# The Python process gets libasan (and libubsan) through LD_PRELOAD, since the interpreter
# itself is not built with ASan; PYTHONMALLOC=malloc sends Python's allocations through
# malloc so that ASan sees them; ASAN_OPTIONS=detect_leaks=0 because CPython leaks at exit.
# UBSan errors abort (-fno-sanitize-recover).  PYTHON picks the interpreter (default
# python3), which needs pyproject.toml's build requirements (setuptools>=77, Cython>=3.0),
# numpy, pyahocorasick, pytest and hypothesis.
# Exits with pytest's status; any sanitizer report is fatal.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
cc=${CC:-gcc}
libasan=$("$cc" -print-file-name=libasan.so)
libubsan=$("$cc" -print-file-name=libubsan.so)
for lib in "$libasan" "$libubsan"; do
    [ -e "$lib" ] || { echo "sanitize.sh: $lib not found (install gcc's libasan/libubsan)" >&2; exit 2; }
done
# The copy has no ../shared beside it: tests/_shared.py is told where this tree's is.
if [ -z "${BPL_SHARED_DIR:-}" ] && [ -d ../shared ]; then
    BPL_SHARED_DIR=$(cd ../shared && pwd)
    export BPL_SHARED_DIR
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The tree as it is (uncommitted changes included), without builds and caches.
tar -c --exclude=./.git --exclude=./build --exclude='*.so' --exclude='*.c' --exclude=__pycache__ \
    --exclude=.pytest_cache --exclude=.hypothesis . | tar -x -C "$work"
cd "$work"
start=$(date +%s)
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
CC="$cc" CFLAGS="$flags" LDFLAGS="-fsanitize=address,undefined" \
    "$python" setup.py -q build_ext --inplace > build.log 2>&1 || { cat build.log; exit 2; }
built=$(date +%s)
so=$(ls bytepiece_lite/_core*.so | head -1)
if [ "$(nm -D "$so" | grep -c __asan_)" -eq 0 ]; then
    echo "sanitize.sh: $so is not instrumented" >&2
    exit 2
fi
export LD_PRELOAD="$libasan $libubsan"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export PYTHONMALLOC=malloc
export PYTHONPATH="$work"
# the instrumented copy, not an installed one
"$python" -c "import bytepiece_lite._core as c, sys; assert c.__file__.startswith('$work'), c.__file__"
# JOBS=N runs the tests in N processes at once, each every N-th test (BPL_SHARD, in
# tests/conftest.py), each printing to a log shown when all have ended.
jobs=${JOBS:-1}
status=0
if [ "$jobs" -le 1 ]; then
    "$python" -m pytest -q -p no:cacheprovider "${@:-tests}" || status=$?
else
    pids=()
    for k in $(seq 1 "$jobs"); do
        BPL_SHARD="$k/$jobs" "$python" -m pytest -q -p no:cacheprovider "${@:-tests}" \
            > "shard$k.log" 2>&1 &
        pids+=($!)
    done
    # pytest's 5 (nothing collected) from a shard is no failure while another ran tests
    all_empty=1
    for k in $(seq 1 "$jobs"); do
        rc=0
        wait "${pids[$((k - 1))]}" || rc=$?
        echo "=== shard $k/$jobs: pytest exit $rc ==="
        cat "shard$k.log"
        if [ $rc -ne 5 ]; then
            all_empty=0
            [ $rc -eq 0 ] || status=$rc
        fi
    done
    [ $all_empty -eq 0 ] || status=5
fi
echo "sanitize.sh: build $((built - start)) s, tests $(( $(date +%s) - built )) s, pytest exit $status"
exit $status

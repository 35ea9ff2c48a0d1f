"""Run one fuzz target: ``python tests/fuzz/run.py TARGET [libFuzzer options] [CORPUS_DIR...]``.

With atheris installed (``pip install atheris``) this is libFuzzer with coverage of the
package's Python code (and of zipfile, json, base64, which parse the untrusted bytes), e.g.

    python tests/fuzz/run.py model_zip -max_total_time=60 /tmp/work tests/fuzz/corpus/model_zip

(new inputs go to the first directory; a crash is written where -artifact_prefix says).
Without atheris it falls back to a plain random-mutation loop over the corpus directories
(bit flips, byte inserts and deletes, splices of two inputs), honouring -max_total_time=,
-runs=, -seed= and -artifact_prefix=, and printing libFuzzer's closing line
``Done N runs in S second(s)``.

``python tests/fuzz/run.py --list`` prints the targets; ``--seed DIR`` writes the seed inputs of
every target to DIR/<target>/.
"""
from __future__ import annotations

import hashlib
import os
import random
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))                   # tests/, for `fuzz.targets`


def _options(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    opts, dirs = {}, []
    for a in argv:
        if a.startswith("-") and "=" in a:
            k, v = a.lstrip("-").split("=", 1)
            opts[k] = v
        else:
            dirs.append(a)
    return opts, dirs


def _corpus(dirs: list[str]) -> list[bytes]:
    out = []
    for d in dirs:
        if os.path.isdir(d):
            for name in sorted(os.listdir(d)):
                with open(os.path.join(d, name), "rb") as f:
                    out.append(f.read())
    return out or [b""]


def _mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randrange(1, 9)):
        op = rng.randrange(6)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif op == 2:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
        elif op == 3:
            del buf[pos:pos + rng.randrange(1, 17)]
        elif op == 4:
            other = rng.choice(pool)
            a = rng.randrange(len(other) + 1)
            buf[pos:pos] = other[a:a + rng.randrange(1, 65)]
        else:
            buf[pos:pos] = rng.choice([b"\x00", b"\xff", b"\x7f", b"\x80", b"9" * 19, b"[", b'"'])
    return bytes(buf[:1 << 16])


def _plain_loop(fn, opts: dict[str, str], dirs: list[str]) -> int:
    rng = random.Random(int(opts.get("seed", "0")) or None)
    pool = _corpus(dirs)
    deadline = time.monotonic() + float(opts.get("max_total_time", "60"))
    runs_left = int(opts.get("runs", "-1"))
    start, n = time.monotonic(), 0
    for seed in pool:                 # the corpus itself first, as libFuzzer does
        fn(seed)
        n += 1
    while time.monotonic() < deadline and runs_left != 0:
        data = _mutate(rng, rng.choice(pool), pool)
        try:
            fn(data)
        except Exception:
            name = opts.get("artifact_prefix", "./") + "crash-" + hashlib.sha1(data).hexdigest()
            with open(name, "wb") as f:
                f.write(data)
            traceback.print_exc()
            print(f"==crash== input written to {name}", file=sys.stderr)
            return 1
        n += 1
        runs_left -= 1
        if rng.random() < 0.001 and len(pool) < 5000:
            pool.append(data)         # no coverage feedback: keep a few inputs at random
    print(f"Done {n} runs in {int(time.monotonic() - start)} second(s) (plain mutation loop)", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if argv[0] == "--list":
        from fuzz.targets import TARGETS
        print("\n".join(TARGETS))
        return 0
    if argv[0] == "--seed":
        from fuzz.targets import seeds
        for name, inputs in seeds().items():
            os.makedirs(os.path.join(argv[1], name), exist_ok=True)
            for data in inputs:
                with open(os.path.join(argv[1], name, "seed-" + hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
                    f.write(data)
        return 0
    target, rest = argv[0], argv[1:]
    try:
        import atheris
    except ImportError:
        atheris = None
    if atheris is None or os.environ.get("BPL_FUZZ_PLAIN") == "1":
        from fuzz.targets import TARGETS
        return _plain_loop(TARGETS[target], *_options(rest))
    with atheris.instrument_imports(include=["bytepiece_lite", "zipfile", "json", "base64", "fuzz"]):
        import base64, json, zipfile  # noqa: F401,E401 - instrumented for coverage
        from fuzz.targets import TARGETS
    fn = TARGETS[target]
    atheris.Setup([sys.argv[0], *rest], fn)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

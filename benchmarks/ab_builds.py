"""Time one statement under two builds of bytepiece-lite, alternating fresh interpreters.

    python benchmarks/ab_builds.py BUILD_A BUILD_B STATEMENT --model M --corpus FILE...
        [--bytes 700000] [--rounds 6]

BUILD_A and BUILD_B are directories that contain a built ``bytepiece_lite`` package (e.g. two
clones after ``python setup.py build_ext --inplace``). Each round runs a fresh interpreter per
build, in alternating order, so that drifts of a noisy machine fall on both alike; in each,
the statement runs 5 times per corpus file and the best time counts. Printed: the median over
the rounds per file, and B's time relative to A's. In the statement, ``tok`` is the tokenizer,
``text`` the first --bytes of the file as str, ``b`` the same as UTF-8 bytes and ``lines`` its
first 10,000 lines, e.g. ``'tok.tokenize(b, alpha=0.1, sampler="exact", seed=1)'``.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CHILD = r"""
import sys, time
build, stmt, model, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sys.path.insert(0, build)
from bytepiece_lite import Tokenizer
tok = Tokenizer(model)
for path in sys.argv[5:]:
    text = open(path, encoding="utf-8").read()[:size]
    b = text.encode()
    lines = text.splitlines(keepends=True)[:10000]
    run = eval("lambda: " + stmt)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    print(best)
"""


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Print and return B's time relative to A's, per corpus file."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build_a")
    ap.add_argument("build_b")
    ap.add_argument("statement")
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", nargs="+", required=True)
    ap.add_argument("--bytes", type=int, default=700_000, help="characters taken from each file")
    ap.add_argument("--rounds", type=int, default=6)
    args = ap.parse_args(argv)
    times: dict[str, list[list[float]]] = {args.build_a: [], args.build_b: []}
    for r in range(args.rounds):
        order = (args.build_a, args.build_b) if r % 2 == 0 else (args.build_b, args.build_a)
        for build in order:
            out = subprocess.run([sys.executable, "-c", CHILD, build, args.statement, args.model,
                                  str(args.bytes), *args.corpus],
                                 capture_output=True, text=True, check=True).stdout
            times[build].append([float(x) for x in out.split()])
    ratios = {}
    for i, path in enumerate(args.corpus):
        a = statistics.median(t[i] for t in times[args.build_a])
        b = statistics.median(t[i] for t in times[args.build_b])
        ratios[path] = b / a
        print(f"{path}: A {a * 1e3:.2f} ms  B {b * 1e3:.2f} ms  B/A {b / a:.3f}")
    return ratios


if __name__ == "__main__":
    main()

"""Exact sampling in linear space (exact_linear.patch) against the engine's exact sampler.

    git apply benchmarks/experiments/exact_linear.patch && python setup.py build_ext --inplace
    python benchmarks/experiments/exact_linear.py --model M --corpus FILE... [--rounds 9]

The patch adds to the test hooks a kernel that samples as exact sampling does, but keeps
each live walk's Z[start] / Z[e - 1] (one multiply a byte) and takes a candidate's weight as
that times P(w)**alpha from a table by node (`pa_table`): no exp() per candidate, and no
branch on non-pieces (their weight is 0).  It draws the engine's random numbers, so on a text
without newlines it gives the engine's samples up to rounding.  The script checks the number
of pieces for 20 seeds on 20 KB of each file, then times the kernel, the engine's exact
sampler and its deterministic decoding side by side (each call twice in a row, the second
timed; medians of --rounds), one thread, at alpha 0.1.  Not in the engine: it needs a table
per alpha (8 bytes a node) and, where alpha times the span of log-probabilities over the
longest piece could overflow a double, the log-space sampler as a fallback; and the
pure-Python backend would have to compute it the same way to stay bit for bit.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ALPHA = 0.1


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", nargs="+", required=True)
    ap.add_argument("--bytes", type=int, default=700_000, help="characters taken from each file")
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args(argv)
    # The patched tree's package, not an installed one.  Only when run: a test that loads
    # this file must not change the import path of its process.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bytepiece_lite import Tokenizer, _core
    tok = Tokenizer(args.model)
    vocab = tok._seg.vocab
    pa = _core.pa_table(vocab, ALPHA)
    result = {}
    for path in args.corpus:
        with open(path, encoding="utf-8") as f:
            data = f.read()[: args.bytes].replace("\n", " ").encode()   # one chunk
        same = sum(len(tok.encode(data[:20000], ALPHA, sampler="exact", seed=s, num_threads=1))
                   == _core.exact_linear(vocab, data[:20000], ALPHA, _core.stream_key(s, 0), pa)
                   for s in range(20))
        calls = {
            "linear": lambda: _core.exact_linear(vocab, data, ALPHA, 1, pa),
            "exact": lambda: tok.encode_to_numpy(data, ALPHA, sampler="exact", seed=1,
                                                 num_threads=1),
            "det": lambda: tok.encode_to_numpy(data, num_threads=1),
        }
        times: dict[str, list[float]] = {k: [] for k in calls}
        for _ in range(args.rounds):
            for name, call in calls.items():
                call()
                t0 = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        result[path] = {"same": same, **{k: len(data) / v / 1e6 for k, v in med.items()}}
        print(f"{path}: same number of pieces for {same}/20 seeds; MB/s linear "
              f"{result[path]['linear']:.1f}, engine exact {result[path]['exact']:.1f}, "
              f"deterministic {result[path]['det']:.1f}; linear / exact time "
              f"{med['linear'] / med['exact']:.2f}, linear speed / deterministic "
              f"{med['det'] / med['linear']:.2f}")
    return result


if __name__ == "__main__":
    main()
